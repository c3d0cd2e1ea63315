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

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// A batch of 256 marks with sealed notes is about 220 KB of JSON.
    public var maxUploadSize: Int { 320 * 1024 }

    func requireMember() throws -> (MemberRecord, ProgramRecord) {
        guard let member, let program else { throw Problem.unauthorized }
        return (member, program)
    }
}
