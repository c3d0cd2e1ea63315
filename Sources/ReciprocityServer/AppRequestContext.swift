public import Hummingbird
import Logging
public import NIOCore
import ReciprocityStore

/// The per-request context: Hummingbird's core storage plus the authenticated member, if any.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer (behind a reverse proxy, the proxy).
    public let remoteAddress: SocketAddress?
    /// Set by ``MemberAuthenticator`` for member routes.
    var member: MemberRecord?
    var program: ProgramRecord?
    /// Set by ``AdminAuthenticator`` for admin routes: the operator or an organizer.
    var admin: AdminCaller?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// A batch of 256 marks with sealed notes is about 220 KB of JSON.
    public var maxUploadSize: Int { 320 * 1024 }

    /// The caller of an admin route; `operator-only` unless it is the operator.
    func requireOperator() throws {
        guard case .operator = admin else {
            throw Problem(.operatorOnly, detail: "only the operator's credential may do this, not an organizer's")
        }
    }

    /// Who the audit log names for this admin request.
    var actor: AuditActor {
        switch admin {
        case .organizer(let organizer): .organizer(organizer.name)
        case .operator, nil: .operator
        }
    }

    func requireMember() throws -> (MemberRecord, ProgramRecord) {
        guard let member, let program else { throw Problem.unauthorized }
        return (member, program)
    }
}

/// Who called an admin route.
enum AdminCaller: Sendable {
    /// The operator's credential: every program.
    case `operator`
    /// An organizer's credential: only `programs` of the record, as they were when the request authenticated.
    case organizer(OrganizerRecord)
}
