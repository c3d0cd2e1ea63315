import Foundation
import ReciprocityAPI
import ReciprocityCore
import ReciprocityTestSupport
import Testing

/// Live delivery across processes: a message stored through one `reciprocityd` reaches the counterpart's event
/// stream held by another on the same PostgreSQL (LISTEN/NOTIFY) within 2 seconds.
extension MultiProcessTests {
    @Test(arguments: Backend.postgresOnly)
    func aMessageThroughOneProcessReachesAStreamOnAnother(_ backend: Backend) async throws {
        let database = try await PostgresTestDatabase.create()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "reciprocity-events-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let logKey = folder.appendingPathComponent("log.key").path
        try Reciprocityd.admin(["program", "create", "acme"], database: database.url)
        let invite = try Reciprocityd.admin(
            ["invite", "create", "--program", "acme", "--uses", "5"], database: database.url)
        let a = try Reciprocityd(database: database.url, logKey: logKey, folder: folder, name: "a")
        let b = try Reciprocityd(database: database.url, logKey: logKey, folder: folder, name: "b")
        let alice = try await a.join(handle: "alice", invite: invite)
        let bob = try await b.join(handle: "bob", invite: invite)
        let carol = try await a.join(handle: "carol", invite: invite)
        // Alice's stream is on b, carol's on a.
        let aliceStream = try EventStream(port: b.port, credential: alice)
        let carolStream = try EventStream(port: a.port, credential: carol)
        for stream in [aliceStream, carolStream] {
            #expect(await stream.read(until: "event: changed", seconds: 5).hasPrefix("HTTP/1.1 200"))
        }
        // A match made through a: alice hears of it on b.
        let shared = try Mark.dummy()
        _ = try await a.submit([shared], credential: bob)
        _ = try await a.submit([Mark(token: shared.token, tag: try .random())], credential: alice)
        #expect(await aliceStream.read(until: "event: changed", seconds: 2).contains("event: changed"))
        var delays: [Duration] = []
        for _ in 0..<5 {
            let started = ContinuousClock.now
            let (status, _) = try await a.request(
                .POST, "/v1/conversations/\(shared.token.base64URL)/messages", credential: bob,
                body: PostMessageRequest(envelope: ConversationAPITests.envelope()))
            #expect(status == 201)
            #expect(await aliceStream.read(until: "event: changed", seconds: 2).contains("event: changed"))
            delays.append(ContinuousClock.now - started)
        }
        #expect(delays.allSatisfy { $0 < .seconds(2) }, "\(delays)")
        print("live events across processes: message to stream \(delays)")
        #expect(!(await carolStream.read(until: "event: changed", seconds: 1)).contains("event:"))
        // SIGTERM with streams open: each process ends its streams and stops well within its 10 s shutdown timeout.
        for server in [b, a] {
            let stopping = ContinuousClock.now
            server.stop()
            #expect(ContinuousClock.now - stopping < .seconds(5))
        }
        #expect(await aliceStream.read(until: "never", seconds: 2).hasSuffix("0\r\n\r\n"))
        await database.drop()
    }
}
