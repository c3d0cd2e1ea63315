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
