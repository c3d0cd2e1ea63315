import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocityPostgres
import ReciprocitySQLite
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Synchronization

/// A server application over a real database (`StoreHarness`), whose log lines are kept.
final class Harness: Sendable {
    /// The database the server runs on.
    let database: StoreHarness
    let logs = LogCapture()
    let adminCredential = "rcpa_" + String(repeating: "k", count: 40)
    let metricsCredential = "metrics_" + String(repeating: "m", count: 40)

    /// A harness over a SQLite file.
    convenience init() throws { self.init(database: try StoreHarness()) }

    private init(database: StoreHarness) { self.database = database }

    /// A harness over `backend`.
    static func make(_ backend: Backend) async throws -> Harness {
        Harness(database: try await StoreHarness.make(backend))
    }

    var store: any ReciprocityStore { database.store }
    var sqlite: SQLiteStore { database.sqlite }
    var directory: URL { database.directory }
    var databasePath: String { database.databasePath }

    /// The server with the admin and metrics credentials above and no rate limits unless asked; `configure`
    /// changes anything else.
    func application(
        admin: Bool = true, rateLimit: Int = 0, idleTimeout: Int = 30, logSigningKey: LogSigningKey? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        if let logSigningKey { configuration.logSigningKey = logSigningKey }
        configuration.port = 0
        configuration.rateLimitPerMinute = rateLimit
        configuration.joinRateLimitPerMinute = 0
        configuration.idleTimeout = idleTimeout
        configuration.adminCredential = admin ? adminCredential : nil
        configuration.metricsCredential = metricsCredential
        configure(&configuration)
        let logs = self.logs
        var logger = Logger(label: "reciprocityd-test") { _ in CapturingLogHandler(capture: logs) }
        logger.logLevel = .trace
        return buildApplication(configuration: configuration, store: store, logger: logger)
    }

    /// Creates a program and an invite with `uses` uses straight in the store.
    func program(_ name: String = "acme", maxMarks: Int = 16, uses: Int = 100) async throws -> (ProgramID, String) {
        let operations = AdminOperations(store: store)
        _ = try await operations.createProgram(name: name, maxMarks: maxMarks, epoch: nil)
        let invite = try await operations.createInvite(program: name, uses: uses, expiresIn: nil)
        return (try ProgramID(name), invite.code)
    }
}

/// A member as a test drives it: its key pair, its credential, and request helpers.
struct TestMember: Sendable {
    let handle: Handle
    let key: PrivateKey
    var credential: String
    let program: ProgramID

    var party: Party { Party(handle: handle, publicKey: key.publicKey) }
    var auth: HTTPFields { [.authorization: "Bearer \(credential)"] }

    /// The mark this member derives for `role` towards `other`, in `epoch`.
    func mark(_ role: Role, on other: TestMember, epoch: UInt32 = 0) throws -> PairwiseMark {
        let relation: Relation = role == .peer ? .peer : .mentorship
        return try KeySchedule.derive(
            context: InterestContext(program: program, relation: relation, epoch: epoch), me: key, handle: handle,
            role: role, other: other.party)
    }
}

extension TestClientProtocol {
    /// Sends JSON (or raw text) and returns the response.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], json: (any Encodable)? = nil,
        raw: String? = nil
    ) async throws -> TestResponse {
        var body: ByteBuffer?
        if let json { body = ByteBuffer(bytes: try APICoding.encoder().encode(json)) }
        if let raw { body = ByteBuffer(string: raw) }
        var headers = headers
        if body != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body)
    }

    func join(_ handle: String, program: ProgramID, invite: String, profile: Profile? = nil) async throws
        -> TestMember
    {
        let key = try PrivateKey()
        let response = try await send(
            .post, "/v1/programs/\(program)/members",
            json: JoinRequest(
                invite: invite, handle: handle, publicKey: key.publicKey.base64URL,
                profile: profile ?? Profile(displayName: handle.capitalized)))
        guard response.status == .created else {
            throw HarnessFailure("join \(handle): \(response.status) \(String(buffer: response.body))")
        }
        let joined = try response.decode(JoinResponse.self)
        return TestMember(handle: try Handle(handle), key: key, credential: joined.credential, program: program)
    }

    func submit(_ member: TestMember, _ marks: [Mark], epoch: UInt32 = 0) async throws -> TestResponse {
        try await send(
            .post, "/v1/marks", headers: member.auth,
            json: SubmitMarksRequest(epoch: epoch, marks: marks.map(MarkItem.init)))
    }

    func matches(_ member: TestMember) async throws -> [MatchInfo] {
        try await send(.get, "/v1/matches", headers: member.auth).decode(MatchesResponse.self).matches
    }
}

extension TestResponse {
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try APICoding.decoder().decode(T.self, from: Data(buffer: body))
    }

    /// The problem body, after checking the media type.
    func problem() throws -> ProblemDetails {
        guard headers[.contentType] == "application/problem+json" else {
            throw HarnessFailure(
                "expected problem+json, got \(headers[.contentType] ?? "none"): \(String(buffer: body))")
        }
        return try decode(ProblemDetails.self)
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Keeps every log line (message and metadata) for the privacy checks.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        capture.append(
            "\(event.level) \(event.message) \(merged.map { "\($0)=\($1)" }.sorted().joined(separator: " "))")
    }
}
