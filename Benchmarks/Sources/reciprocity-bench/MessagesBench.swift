import ArgumentParser
import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocitySQLite
import ReciprocityStore

/// Conversation messages through the real server (`POST /v1/conversations/{token}/messages`, one message a
/// request, as clients send them) against a raw loop that writes the same rows with the same statements (the
/// message and its conversation's counters, one transaction a message), in the same run, on SQLite.
struct MessagesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages",
        abstract: "Messages posted through the real server against a raw insert loop of the same rows (SQLite).")

    @OptionGroup var options: ServerBenchOptions
    @Option(help: "Matched pairs whose conversations carry the messages.") var pairs = 50
    @Option(help: "Messages to post (at most 300 per member per conversation: the server's default bound).")
    var messages = 10_000
    @Option(help: "Concurrent connections.") var workers = 4

    func run() async throws {
        guard pairs >= 1, messages >= 1, messages <= pairs * 2 * 300 else {
            throw BenchFailure("--messages must be 1 to 600 per pair (300 per member per conversation a day)")
        }
        // The raw loop runs first, so that neither side inherits the other's dirty page cache.
        let raw = try await rawMessageRate(messages: messages)
        let fixture = try await ServerFixture(members: pairs * 2, port: options.port)
        let tokens = try await fixture.matchPairs(pairs)
        let envelope = Base64URL.encode(Self.envelope())
        let requests = try (0..<messages).map { index in
            let pair = index % pairs
            let sender = 2 * pair + (index / pairs) % 2
            var request = HTTPClientRequest(url: fixture.url("/v1/conversations/\(tokens[pair].base64URL)/messages"))
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(fixture.credentials[sender])")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(
                ByteBuffer(bytes: try APICoding.encoder().encode(PostMessageRequest(envelope: envelope))))
            return request
        }
        let client = makeClient(connections: workers)
        try await fixture.start(binary: options.serverBinary, client: client)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for index in stride(from: worker, to: requests.count, by: workers) {
                        let response = try await client.execute(requests[index], timeout: .seconds(30))
                        let body = try await response.body.collect(upTo: 1 << 16)
                        guard response.status == .created else {
                            throw BenchFailure("HTTP \(response.status.code): \(String(buffer: body))")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let served = Double(messages) / elapsedSeconds(ContinuousClock.now - start)
        fixture.stop()
        try await client.shutdown()
        report("messages_per_s", served)
        report("raw_sqlite_messages_per_s", raw)
        report("ratio", served / raw, decimals: 3)
    }

    /// A well-formed envelope of the smallest size class (the server never opens it).
    static func envelope() -> [UInt8] {
        [MessageEnvelope.version] + (1..<MessageEnvelope.lengths[0]).map { _ in UInt8.random(in: 0...255) }
    }
}

extension ServerFixture {
    /// Matches members 2p and 2p + 1 for each pair p, straight in the store; the pairs' tokens.
    func matchPairs(_ pairs: Int) async throws -> [InterestToken] {
        let store = try SQLiteStore(path: databasePath)
        defer { try? store.close() }
        let programID = try await store.program(named: program)!.id
        var tokens: [InterestToken] = []
        for pair in 0..<pairs {
            let mark = try Mark.dummy()
            for index in [2 * pair, 2 * pair + 1] {
                let member = try await store.member(programID: programID, handle: Handle("member\(index)"))!
                _ = try await store.submitMarks(
                    memberID: member.id, programID: programID, epoch: 0, marks: [mark], now: Date())
            }
            tokens.append(mark.token)
        }
        return tokens
    }
}

/// The server's two statements for a message, in a plain prepared-statement loop, one transaction a message, on a
/// conversation of the fixture's (its row made by the store), with the server's durability (WAL, NORMAL).
func rawMessageRate(messages: Int) async throws -> Double {
    let fixture = try await ServerFixture(members: 2, port: 0)
    let token = try await fixture.matchPairs(1)[0]
    let envelope = Data(MessagesBench.envelope())
    let store = try SQLiteStore(path: fixture.databasePath)
    let program = try await store.program(named: fixture.program)!
    let sender = try await store.member(programID: program.id, handle: Handle("member0"))!
    _ = try await store.postMessage(
        memberID: sender.id, programID: program.id, token: token, envelope: envelope, limits: ConversationLimits(),
        now: Date())
    try store.close()
    return try rawMessageLoop(
        path: fixture.databasePath, key: [program.id, 0, token.rawRepresentation], sender: sender.id,
        envelope: envelope, messages: messages)
}

private func rawMessageLoop(path: String, key: StatementArguments, sender: Int64, envelope: Data, messages: Int)
    throws -> Double
{
    var configuration = Configuration()
    configuration.prepareDatabase { try $0.execute(sql: "PRAGMA synchronous = NORMAL") }
    let queue = try DatabaseQueue(path: path, configuration: configuration)
    let start = ContinuousClock.now
    for seq in 2..<(messages + 2) {
        let now = StoredTime.millis(Date())
        try queue.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO message (program_id, epoch, token, seq, sender_id, envelope, sent_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: key + [seq, sender, envelope, now])
            try db.cachedStatement(
                sql: """
                    UPDATE conversation SET last_seq = ?, message_count = message_count + 1,
                                            stored_bytes = stored_bytes + ?, last_sent_at = ?
                    WHERE program_id = ? AND epoch = ? AND token = ?
                    """
            ).execute(arguments: [seq, envelope.count, now] + key)
        }
    }
    return Double(messages) / elapsedSeconds(ContinuousClock.now - start)
}
