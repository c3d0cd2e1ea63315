import Foundation
import Synchronization
public import HTTPTypes
public import Hummingbird
import NIOCore
import NIOHTTP1
import ReciprocityAPI
import ReciprocityCore
import ReciprocityStore

/// An error answered as RFC 9457 `application/problem+json` with a stable `type`. Details never contain a
/// token, tag, credential or request body.
public struct Problem: HTTPResponseError, Equatable {
    public let status: HTTPResponse.Status
    /// The stable code; the `type` URI is `urn:reciprocity:problem:<code>`.
    public let code: String
    public let title: String
    public let detail: String?
    var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ title: String, detail: String? = nil) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
    }

    public static func == (lhs: Problem, rhs: Problem) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.detail == rhs.detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [:]
        let body = encoded(into: &headers)
        headers[.contentLength] = nil  // Hummingbird sets it from the body
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// The problem+json body; its headers (with media type and length) are added to `headers`.
    func encoded(into headers: inout HTTPFields) -> ByteBuffer {
        let details = ProblemDetails(
            type: ProblemDetails.typePrefix + code, title: title, status: status.code, detail: detail)
        // Encoding four strings and an integer cannot fail.
        let data = (try? APICoding.encoder().encode(details)) ?? Data()
        headers.append(contentsOf: self.headers)
        headers[.contentType] = "application/problem+json"
        headers[.contentLength] = String(data.count)
        return ByteBuffer(bytes: data)
    }

    // MARK: The catalogue (documented in Specs/openapi.yaml and docs/api.md)

    static func invalidBody(_ detail: String) -> Problem {
        Problem(.badRequest, "invalid-body", "The request body is not valid JSON of the expected shape", detail: detail)
    }
    static func invalidParameter(_ detail: String) -> Problem {
        Problem(.badRequest, "invalid-parameter", "A path or query parameter is not valid", detail: detail)
    }
    static var unauthorized: Problem {
        var problem = Problem(
            .unauthorized, "unauthorized", "A valid bearer credential is required",
            detail: "send 'Authorization: Bearer <credential>'")
        problem.headers[.wwwAuthenticate] = "Bearer"
        return problem
    }
    static let suspended = Problem(.forbidden, "member-suspended", "This member is suspended")
    static let adminDisabled = Problem(
        .notFound, "admin-disabled", "The admin API is off", detail: "the operator has not configured an admin credential")
    static let notFound = Problem(.notFound, "not-found", "No such resource")
    static func methodNotAllowed(allowed: [String]) -> Problem {
        var problem = Problem(.methodNotAllowed, "method-not-allowed", "Method not allowed")
        if !allowed.isEmpty { problem.headers[.allow] = allowed.joined(separator: ", ") }
        return problem
    }
    static let internalError = Problem(.internalServerError, "internal", "Internal server error")
    static let metricsDisabled = Problem(
        .notFound, "metrics-disabled", "The metrics endpoint is off",
        detail: "the operator has not configured a metrics credential")
    static let tooManyConnections = Problem(
        .serviceUnavailable, "too-many-connections", "The server has too many open connections",
        detail: "try again later")
    static func requestTimeout(_ detail: String) -> Problem {
        Problem(.requestTimeout, "request-timeout", "The request did not arrive in time", detail: detail)
    }
    /// 429 with `Retry-After`: `limit` describes the limit, e.g. "60 requests a minute per member".
    static func rateLimited(_ limit: String, retryAfter seconds: Int) -> Problem {
        var problem = Problem(
            .tooManyRequests, "rate-limited", "Too many requests", detail: "at most \(limit); retry in \(seconds) s")
        problem.headers[.retryAfter] = String(seconds)
        return problem
    }
    /// The request is not valid HTTP, or its body stream broke off (the connection failed mid-body).
    static let malformedRequest = Problem.invalidBody("the request is not valid HTTP/1.1")

    /// Maps a validation error from the protocol core: a 400 with a code per kind of input.
    static func from(_ error: ReciprocityError) -> Problem {
        let code: String =
            switch error.code {
            case .invalidHandle: "invalid-handle"
            case .invalidProgram: "invalid-program"
            case .invalidProfile: "invalid-profile"
            case .invalidLength, .invalidEncoding: "invalid-encoding"
            case .nonCanonicalPublicKey, .lowOrderPublicKey: "invalid-public-key"
            default: "invalid-input"
            }
        return Problem(.badRequest, code, "A value in the request is not valid", detail: error.reason)
    }

    /// Maps a storage outcome the client can act on.
    static func from(_ error: StoreError) -> Problem {
        let status: HTTPResponse.Status =
            switch error.code {
            case .programNotFound, .memberNotFound, .markNotFound: .notFound
            case .inviteInvalid: .forbidden
            case .invalidArgument: .badRequest
            case .corruptData: .internalServerError
            case .programExists, .handleTaken, .keyTaken, .quotaExceeded, .wrongEpoch, .tokenUnavailable: .conflict
            case .rotationLimited: .tooManyRequests
            case .queryTooSlow: .serviceUnavailable
            case .memberSuspended: .forbidden
            }
        let code = error.code.rawValue.replacing(/[A-Z]/) { "-" + $0.output.lowercased() }
        var problem = Problem(status, code, title(for: error.code), detail: error.message)
        if let seconds = error.retryAfter { problem.headers[.retryAfter] = String(seconds) }
        return problem
    }

    private static func title(for code: StoreError.Code) -> String {
        switch code {
        case .programExists: "The program already exists"
        case .programNotFound: "No such program"
        case .inviteInvalid: "The invite code is not valid"
        case .handleTaken: "The handle is taken"
        case .keyTaken: "The public key is already registered"
        case .memberNotFound: "No such member"
        case .quotaExceeded: "Too many marks this epoch"
        case .wrongEpoch: "Marks must be for the program's current epoch"
        case .tokenUnavailable: "A token cannot be accepted"
        case .markNotFound: "No such pending mark"
        case .invalidArgument: "An argument is out of range"
        case .corruptData: "Internal server error"
        case .rotationLimited: "Too many key rotations"
        case .queryTooSlow: "The search took too long"
        case .memberSuspended: "This member is suspended"
        }
    }
}

/// Turns every error into a problem+json response: known errors keep their meaning, anything else is a 500
/// whose details go to the log (with the request id), not to the client.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as StoreError where error.code == .corruptData {
            context.logger.error("corrupt stored data", metadata: ["error": "\(error.message)"])
            return try Problem.internalError.response(from: request, context: context)
        } catch let error as StoreError {
            return try Problem.from(error).response(from: request, context: context)
        } catch let error as ReciprocityError {
            return try Problem.from(error).response(from: request, context: context)
        } catch let error as HTTPError {
            let problem: Problem =
                switch error.status {
                case .notFound:
                    // The router says 404 for a known path with an unknown method too; tell them apart.
                    if let allowed = routes.methods(forPath: request.uri.path) {
                        .methodNotAllowed(allowed: allowed)
                    } else {
                        .notFound
                    }
                case .contentTooLarge:
                    Problem(.contentTooLarge, "body-too-large", "The request body is too large")
                case .methodNotAllowed: .methodNotAllowed(allowed: routes.methods(forPath: request.uri.path) ?? [])
                default: Problem(error.status, "http-\(error.status.code)", error.status.reasonPhrase)
                }
            return try problem.response(from: request, context: context)
        } catch let error as HTTPParserError {
            // The client's bytes, not our fault: no error-level line.
            context.logger.info("malformed request", metadata: ["error": "\(error)"])
            return try Problem.malformedRequest.response(from: request, context: context)
        } catch let error where error is IOError || error is ChannelError {
            // The connection failed while the body was read: reset by the client, or closed at its deadline.
            context.logger.info("request body broke off", metadata: ["error.type": "\(type(of: error))"])
            return try Problem.invalidBody("the request body broke off").response(from: request, context: context)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return try Problem(.contentTooLarge, "body-too-large", "The request body is too large")
                .response(from: request, context: context)
        } catch {
            // The type name only: an error's description could in principle carry request data.
            context.logger.error("unhandled error", metadata: ["error.type": "\(type(of: error))"])
            return try Problem.internalError.response(from: request, context: context)
        }
    }
}

/// The routes' path patterns and methods, filled in once the router is built, so that a known path with an
/// unknown method can be answered 405 with an `Allow` header.
final class RouteTable: Sendable {
    private let entries = Mutex<[(segments: [Substring], method: String)]>([])

    func record(_ routes: [(path: String, method: String)]) {
        entries.withLock { entries in
            entries = routes.map { (segments: $0.path.split(separator: "/"), method: $0.method) }
        }
    }

    /// Methods routed for `path`, or nil when no pattern matches it.
    func methods(forPath path: String) -> [String]? {
        let segments = path.split(separator: "/")
        let methods = entries.withLock { entries in
            entries.filter { entry in
                entry.segments.count == segments.count
                    && zip(entry.segments, segments).allSatisfy { pattern, segment in
                        pattern.hasPrefix(":") || pattern.hasPrefix("{") || pattern == segment
                    }
            }.map(\.method)
        }
        return methods.isEmpty ? nil : Array(Set(methods)).sorted()
    }
}

extension Parameters {
    /// The query parameter `name` as an integer in `range`; `value` when absent (required when nil).
    func integer(_ name: String, in range: ClosedRange<Int>, default value: Int? = nil) throws -> Int {
        guard let text = self[Substring(name)] else {
            guard let value else { throw Problem.invalidParameter("'\(name)' is required") }
            return value
        }
        guard let parsed = Int(text), range.contains(parsed) else {
            throw Problem.invalidParameter("'\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }
}
