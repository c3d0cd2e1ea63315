import Foundation
import HTTPTypes
import Hummingbird
import ReciprocityCore
import ReciprocityStore

/// Reads `Authorization: Bearer <credential>` and loads the member whose credential hashes to the same
/// SHA-256. Every failure gives the same 401, whatever the reason.
struct MemberAuthenticator: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: any ReciprocityStore
    /// nil: no limit.
    let rateLimiter: RateLimiter<Int64>?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let credential = bearerCredential(request),
            let (member, program) = try await store.authenticate(credentialDigest: BearerSecret.digest(of: credential))
        else { throw Problem.unauthorized }
        guard member.status == .active else { throw Problem(.memberSuspended) }
        if let rateLimiter, let wait = rateLimiter.delay(for: member.id) {
            throw Problem.rateLimited("\(rateLimiter.perMinute) requests a minute per member", retryAfter: wait)
        }
        var context = context
        context.member = member
        context.program = program
        return try await next(request, context)
    }
}

/// Guards routes with an operator's bearer credential (the admin API's, the metrics endpoint's), compared in
/// constant time. With no credential configured the routes answer `disabled` (a 404).
struct OperatorAuthenticator: RouterMiddleware {
    typealias Context = AppRequestContext
    let credentialDigest: Data?
    let disabled: Problem

    init(credential: String?, disabled: Problem) {
        credentialDigest = credential.map(BearerSecret.digest(of:))
        self.disabled = disabled
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let expected = credentialDigest else { throw disabled }
        guard let credential = bearerCredential(request),
            constantTimeEquals(BearerSecret.digest(of: credential), expected)
        else { throw Problem.unauthorized }
        return try await next(request, context)
    }
}

/// Guards `/v1/admin` with the operator's credential (every program) or an organizer's (their programs, checked
/// by ``ProgramScope``). The operator's is compared in constant time; an organizer's is looked up by its SHA-256,
/// as members' are. A wrong, unknown or revoked credential gets the one 401. With no operator credential
/// configured the whole admin API answers `admin-disabled`, for organizers too.
struct AdminAuthenticator: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: any ReciprocityStore
    let operatorDigest: Data?

    init(store: any ReciprocityStore, credential: String?) {
        self.store = store
        operatorDigest = credential.map(BearerSecret.digest(of:))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let operatorDigest else { throw Problem.adminDisabled }
        guard let credential = bearerCredential(request) else { throw Problem.unauthorized }
        let digest = BearerSecret.digest(of: credential)
        var context = context
        if constantTimeEquals(digest, operatorDigest) {
            context.admin = .operator
        } else if let organizer = try await store.organizer(credentialDigest: digest) {
            context.admin = .organizer(organizer)
        } else {
            throw Problem.unauthorized
        }
        return try await next(request, context)
    }
}

/// The one place the admin API decides whether the caller may reach `{program}`: before any handler of
/// `/v1/admin/programs/{program}/...` runs. An organizer asking for a program not theirs gets, with no store work,
/// the very answer of a program that does not exist (``AdminOperations/programNotFound(_:)``); so does one
/// asking for a program that does not exist, also with no store work: the two cannot be told apart, by bytes or
/// by time. The operator passes to the handlers, which answer a missing program the same way.
struct ProgramScope: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        switch context.admin {
        case .operator:
            break
        case .organizer(let organizer):
            let program = try ProgramID(context.parameters.require("program"))
            guard organizer.programs.contains(program) else { throw AdminOperations.programNotFound(program) }
        case nil:
            throw Problem.unauthorized
        }
        return try await next(request, context)
    }
}

/// Limits requests per client address (the TCP peer: behind a reverse proxy, the proxy's address, which all
/// its clients share).
struct AddressRateLimiter: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiter: RateLimiter<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        if let wait = limiter.delay(for: address) {
            throw Problem.rateLimited("\(limiter.perMinute) requests a minute per client address", retryAfter: wait)
        }
        return try await next(request, context)
    }
}

/// The credential of an `Authorization: Bearer` header, or nil.
func bearerCredential(_ request: Request) -> String? {
    guard let header = request.headers[.authorization] else { return nil }
    let parts = header.split(separator: " ", maxSplits: 1)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
    let credential = parts[1].trimmingCharacters(in: .whitespaces)
    return credential.isEmpty || credential.count > 200 ? nil : credential
}
