import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore
import NIOHTTP1
public import ReciprocityAPI
import ReciprocityCore
import ReciprocityStore
import Synchronization

/// An error answered as RFC 9457 `application/problem+json` with a stable `type`. Details never contain a
/// token, tag, credential or request body.
public struct Problem: HTTPResponseError, Equatable {
    public let status: HTTPResponse.Status
    /// The stable code; the `type` URI is `urn:reciprocity:problem:<code>`.
    public let code: String
    public let title: String
    public let detail: String?
    var headers: HTTPFields = [:]

    /// A problem of the catalogue: its status and title are the table's (ProblemCode).
    public init(_ code: ProblemCode, detail: String? = nil) {
        self.init(HTTPResponse.Status(code: code.status), code.rawValue, code.title, detail: detail)
    }

    private init(_ status: HTTPResponse.Status, _ code: String, _ title: String, detail: String?) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
    }

    /// An HTTP error of the framework's with a status the catalogue has no code for: `http-<status>`.
    init(unlisted status: HTTPResponse.Status) {
        self.init(status, "http-\(status.code)", status.reasonPhrase, detail: nil)
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

    // MARK: Problems with a detail or headers of their own (the table is ProblemCode, in ReciprocityAPI)

    static func invalidBody(_ detail: String) -> Problem { Problem(.invalidBody, detail: detail) }
    static func invalidParameter(_ detail: String) -> Problem { Problem(.invalidParameter, detail: detail) }
    static var unauthorized: Problem {
        var problem = Problem(.unauthorized, detail: "send 'Authorization: Bearer <credential>'")
        problem.headers[.wwwAuthenticate] = "Bearer"
        return problem
    }
    static let adminDisabled = Problem(.adminDisabled, detail: "the operator has not configured an admin credential")
    static func methodNotAllowed(allowed: [String]) -> Problem {
        var problem = Problem(.methodNotAllowed)
        if !allowed.isEmpty { problem.headers[.allow] = allowed.joined(separator: ", ") }
        return problem
    }
    static let metricsDisabled = Problem(
        .metricsDisabled, detail: "the operator has not configured a metrics credential")
    static let tooManyConnections = Problem(.tooManyConnections, detail: "try again later")
    /// 429 with `Retry-After`: `limit` describes the limit, e.g. "60 requests a minute per member".
    static func rateLimited(_ limit: String, retryAfter seconds: Int) -> Problem {
        var problem = Problem(.rateLimited, detail: "at most \(limit); retry in \(seconds) s")
        problem.headers[.retryAfter] = String(seconds)
        return problem
    }
    /// The request is not valid HTTP, or its body stream broke off (the connection failed mid-body).
    static let malformedRequest = Problem.invalidBody("the request is not valid HTTP/1.1")

    /// Maps a validation error from the protocol core: a 400 with a code per kind of input.
    static func from(_ error: ReciprocityError) -> Problem {
        let code: ProblemCode =
            switch error.code {
            case .invalidHandle: .invalidHandle
            case .invalidProgram: .invalidProgram
            case .invalidProfile: .invalidProfile
            case .invalidLength, .invalidEncoding: .invalidEncoding
            case .nonCanonicalPublicKey, .lowOrderPublicKey: .invalidPublicKey
            default: .invalidInput
            }
        return Problem(code, detail: error.reason)
    }

    /// Maps a storage outcome the client can act on: a store code is spelled as its problem code. Nil for one
    /// the table lacks (`corrupt-data`, answered `internal` with its message logged).
    static func from(_ error: StoreError) -> Problem? {
        guard let code = ProblemCode(rawValue: error.code.rawValue) else { return nil }
        var problem = Problem(code, detail: error.message)
        if let seconds = error.retryAfter { problem.headers[.retryAfter] = String(seconds) }
        return problem
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
        } catch let error as StoreError {
            if let problem = Problem.from(error) { return try problem.response(from: request, context: context) }
            let what = error.code == .corruptData ? "corrupt stored data" : "a store error without a problem code"
            context.logger.error("\(what)", metadata: ["code": "\(error.code)", "error": "\(error.message)"])
            return try Problem(.internal).response(from: request, context: context)
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
                        Problem(.notFound)
                    }
                case .contentTooLarge: Problem(.bodyTooLarge)
                case .methodNotAllowed: .methodNotAllowed(allowed: routes.methods(forPath: request.uri.path) ?? [])
                default: Problem(unlisted: error.status)
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
            return try Problem(.bodyTooLarge).response(from: request, context: context)
        } catch {
            // The type name only: an error's description could in principle carry request data.
            context.logger.error("unhandled error", metadata: ["error.type": "\(type(of: error))"])
            return try Problem(.internal).response(from: request, context: context)
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
            throw Problem.invalidParameter(
                "'\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }
}
