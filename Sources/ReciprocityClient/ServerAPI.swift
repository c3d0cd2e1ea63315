public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
public import ReciprocityAPI
public import ReciprocityCore

/// The member side of the /v1 HTTP API (Specs/openapi.yaml), over AsyncHTTPClient.
public struct ServerAPI: Sendable {
    public let baseURL: String
    let credential: String?
    let client: HTTPClient

    /// The client members' commands use: a short connect timeout, so that a server that is down is reported in
    /// seconds rather than after the whole request deadline of retries. Lives as long as the process.
    public static let defaultClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(baseURL: String, credential: String? = nil, client: HTTPClient = ServerAPI.defaultClient) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.credential = credential
        self.client = client
    }

    public func join(program: ProgramID, request: JoinRequest) async throws -> JoinResponse {
        try await call(.POST, "/v1/programs/\(program)/members", body: request)
    }

    public func me() async throws -> SelfInfo { try await call(.GET, "/v1/me") }

    public func updateProfile(_ profile: Profile) async throws -> MemberInfo {
        try await call(.PUT, "/v1/me/profile", body: profile)
    }

    /// Sets the member's address for email notices (the operator then knows it); the answer is it as stored.
    public func setEmail(_ email: String) async throws -> EmailSetting {
        try await call(.PUT, "/v1/me/email", body: EmailSetting(email: email))
    }

    /// Removes the member's address for email notices.
    public func removeEmail() async throws {
        let _: Empty = try await call(.DELETE, "/v1/me/email")
    }

    public func rotateCredential() async throws -> CredentialResponse { try await call(.POST, "/v1/me/credential") }

    public func rotateKey(_ key: PublicKey) async throws -> MemberInfo {
        try await call(.PUT, "/v1/me/key", body: KeyRotationRequest(publicKey: key.base64URL))
    }

    /// One page of the directory's changes after `cursor` (the whole directory without one), for the
    /// replica. The only query is the server's own cursor: nothing the member typed or chose.
    public func profileChanges(since cursor: String?) async throws -> ProfileChanges {
        var components = URLComponents()
        components.queryItems = cursor.map { [URLQueryItem(name: "since", value: $0)] }
        return try await call(.GET, "/v1/profiles" + (components.percentEncodedQuery.map { "?" + $0 } ?? ""))
    }

    /// Follows a paginated list to its end. A server that serves more than `maxPages` pages, or a cursor that
    /// does not move forward, is refused instead of being followed forever.
    func allPages<Item>(maxPages: Int = 1000, _ page: (String?) async throws -> ([Item], String?)) async throws
        -> [Item]
    {
        var items: [Item] = []
        var cursor: String?
        for _ in 0..<maxPages {
            let (batch, next) = try await page(cursor)
            items += batch
            guard let next else { return items }
            guard next != cursor, !batch.isEmpty else { break }
            cursor = next
        }
        throw ClientError(
            .serverPages,
            "the server's list does not end (more than \(maxPages) pages or a cursor that does not advance)")
    }

    /// Submits `marks` after withdrawing the caller's own pending marks `withdraw`, in one transaction.
    public func submit(epoch: UInt32, marks: [Mark], withdraw: [String] = []) async throws -> [MarkResult] {
        let response: SubmitMarksResponse = try await call(
            .POST, "/v1/marks",
            body: SubmitMarksRequest(
                epoch: epoch, marks: marks.map(MarkItem.init), withdraw: withdraw.isEmpty ? nil : withdraw))
        return response.results
    }

    public func pendingMarks() async throws -> [PendingMarkInfo] {
        let response: PendingMarksResponse = try await call(.GET, "/v1/marks")
        return response.marks
    }

    /// Withdraws a pending mark; true if it was there.
    public func withdraw(_ token: InterestToken) async throws -> Bool {
        do {
            let _: Empty = try await call(.DELETE, "/v1/marks/\(token.base64URL)")
            return true
        } catch let error as ClientError where error.code == .markNotFound {
            return false
        }
    }

    /// Every match, following the pages.
    public func matches() async throws -> [MatchInfo] {
        try await allPages { cursor in
            let suffix = cursor.map { "?after=" + $0 } ?? ""
            let response: MatchesResponse = try await call(.GET, "/v1/matches" + suffix)
            return (response.matches, response.nextCursor)
        }
    }

    // MARK: Key log

    /// A head that does not decode (a `treeSize` that is negative, 2^64 or more, or not an integer) is a malformed
    /// head (Specs/transparency.md section 5), not an answer outside the API.
    public func logHead() async throws -> LogHeadResponse {
        do {
            return try await call(.GET, "/v1/log/head")
        } catch let error as ClientError where error.code == .badResponse {
            throw ClientError(.logInvalidHead, "the server sent a malformed tree head")
        }
    }

    public func logEntries(start: Int, limit: Int) async throws -> [LogEntryInfo] {
        let response: LogEntriesResponse = try await call(.GET, "/v1/log/entries?start=\(start)&limit=\(limit)")
        return response.entries
    }

    public func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]] {
        let response: ConsistencyProofResponse = try await call(.GET, "/v1/log/consistency?from=\(from)&to=\(to)")
        do {
            return try ProofHashes.decode(response.proof)
        } catch {
            throw ClientError(.logFork, "the server's consistency proof from \(from) to \(to) entries is malformed")
        }
    }

    // MARK: Transport

    struct Empty: Decodable {}
    struct NoBody: Encodable {}

    func call<Response: Decodable>(_ method: HTTPMethod, _ path: String) async throws -> Response {
        try await call(method, path, body: Optional<NoBody>.none)
    }

    func call<Response: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)?) async throws
        -> Response
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let credential { request.headers.add(name: "Authorization", value: "Bearer \(credential)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try APICoding.encoder().encode(body)))
        }
        let response: HTTPClientResponse
        let data: Data
        do {
            response = try await client.execute(request, timeout: .seconds(30))
            data = Data(buffer: try await response.body.collect(upTo: 8 << 20))
        } catch {
            throw ClientError(.unreachable, "cannot reach the server at \(baseURL): \(Self.describe(error))")
        }
        guard (200..<300).contains(response.status.code) else {
            if let problem = try? APICoding.decoder().decode(ProblemDetails.self, from: data) {
                throw ClientError(ClientError.Code(rawValue: problem.code), Self.message(for: problem))
            }
            throw ClientError(.http(response.status.code), "the server answered HTTP \(response.status.code)")
        }
        if Response.self == Empty.self { return Empty() as! Response }
        do {
            return try APICoding.decoder().decode(Response.self, from: data)
        } catch {
            throw ClientError(.badResponse, "the server's answer to \(method) \(path) is not what the API describes")
        }
    }

    static func message(for problem: ProblemDetails) -> String {
        switch ProblemCode(rawValue: problem.code) {
        case .unauthorized:
            return "the server rejected this device's credential (rotated, revoked or from another server?)"
        case .memberSuspended:
            return "your membership is suspended; ask the program's operator"
        case .inviteInvalid:
            // The server does not say which, so that nobody can probe for programs or codes.
            return "the server refused the invite: either no program has that name, or the invite code is not "
                + "one of its open invites (unknown, used up or expired); check both with the operator"
        default:
            return problem.detail.map { "\(problem.title): \($0)" } ?? problem.title
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("connect") || text.contains("refused") {
            return "connection refused or timed out"
        }
        if text.contains("SSL") || text.contains("TLS") || text.contains("handshake") {
            return "the TLS handshake failed (does the server speak plain http://, or is its certificate not trusted?)"
        }
        return text.count > 120 ? String(text.prefix(120)) + "…" : text
    }
}
