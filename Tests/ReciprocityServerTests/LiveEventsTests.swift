import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `GET /v1/events` in one process: a member's stream says "changed" for their new matches and messages, only
/// theirs, and never anything but the word.
@Suite struct LiveEventsTests {
    @Test func aMemberHearsOfTheirMatchesAndMessagesAndOfNothingElse() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let port = try #require(client.port)
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let carol = try await client.join("carol", program: program, invite: invite)
            // Only members open a stream (the authorization matrix leaves this route to this test).
            #expect(try await client.send(.get, "/v1/events").status == .unauthorized)
            for credential in [harness.adminCredential, "rcpm_" + String(repeating: "x", count: 43)] {
                let refused = try await client.send(
                    .get, "/v1/events", headers: [.authorization: "Bearer \(credential)"])
                #expect(refused.status == .unauthorized)
            }
            let suspended = try await client.join("sam", program: program, invite: invite)
            _ = try await harness.store.setStatus(program: program, handle: suspended.handle, status: .suspended)
            #expect(try await client.send(.get, "/v1/events", headers: suspended.auth).status == .forbidden)
            let streams = try [alice, bob, carol].map { try EventStream(port: port, member: $0) }
            for stream in streams {
                let head = await stream.read(until: "event: changed", seconds: 5)
                #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
                #expect(head.lowercased().contains("content-type: text/event-stream"))
            }
            // A match: both its members hear of it, carol does not.
            _ = try await client.submit(alice, [try alice.mark(.mentee, on: bob).mark])
            _ = try await client.submit(bob, [try bob.mark(.mentor, on: alice).mark])
            for stream in streams[0...1] {
                #expect(await stream.read(until: "event: changed", seconds: 2).contains("event: changed"))
            }
            // A message: the counterpart hears of it within 2 seconds.
            let token = try #require(try await client.matches(alice).first).token
            let started = ContinuousClock.now
            let posted = try await client.send(
                .post, "/v1/conversations/\(token)/messages", headers: bob.auth,
                json: PostMessageRequest(envelope: ConversationAPITests.envelope()))
            #expect(posted.status == .created)
            #expect(await streams[0].read(until: "event: changed", seconds: 2).contains("event: changed"))
            print("live events: a message reached the counterpart's stream in \(ContinuousClock.now - started)")
            // The end too.
            _ = try await client.send(.post, "/v1/conversations/\(token)/end", headers: alice.auth)
            #expect(await streams[1].read(until: "event: changed", seconds: 2).contains("event: changed"))
            // Carol heard nothing after her first event; no stream carried anything but the event and its empty data.
            let carolsRest = await streams[2].read(until: "event: changed", seconds: 1)
            #expect(!carolsRest.contains("event:"), "\(carolsRest)")
            for stream in streams {
                let all = stream.received
                #expect(!all.contains(token) && !all.contains("alice") && !all.contains("bob") && !all.contains("seq"))
                for line in EventStream.eventLines(all) {
                    #expect(["event: changed", "data:", ""].contains(line), "\(line)")
                }
            }
        }
    }
}

extension LiveEventsTests {
    /// A member holds at most 4 streams: a fifth ends the oldest (its response finishes), not the others.
    @Test func aFifthStreamEndsTheOldest() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let port = try #require(client.port)
            let alice = try await client.join("alice", program: program, invite: invite)
            var streams: [EventStream] = []
            for _ in 0..<5 {
                let stream = try EventStream(port: port, member: alice)
                #expect(await stream.read(until: "event: changed", seconds: 5).contains("event: changed"))
                streams.append(stream)
            }
            // The chunked response's last chunk.
            #expect(await streams[0].read(until: "0\r\n\r\n", seconds: 2).contains("0\r\n\r\n"))
            for stream in streams[1...] {
                #expect(!(await stream.read(until: "0\r\n\r\n", seconds: 0.3)).contains("0\r\n\r\n"))
            }
        }
    }
}

/// A `GET /v1/events` stream read over a plain socket, as the page reads it with fetch().
final class EventStream: @unchecked Sendable {
    let connection: RawConnection
    private var buffer: [UInt8] = []
    /// Everything read so far (head, chunk sizes and events).
    var received: String { String(decoding: buffer, as: UTF8.self) }
    private var consumed = 0

    convenience init(port: Int, member: TestMember) throws {
        try self.init(port: port, credential: member.credential)
    }

    init(port: Int, credential: String) throws {
        connection = try RawConnection(port: port)
        connection.send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(credential)\r\n\r\n")
    }

    /// What arrives after the previous read, until `marker` is in it or `seconds` pass.
    func read(until marker: String, seconds: Double) async -> String {
        let connection = connection
        let start = consumed
        let deadline = Date().addingTimeInterval(seconds)
        let before = buffer
        let result: [UInt8] = await offThePool {
            var bytes = before
            var chunk = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline {
                if String(decoding: bytes[start...], as: UTF8.self).contains(marker) { break }
                let left = max(0.01, deadline.timeIntervalSinceNow)
                var timeout = timeval(tv_sec: Int(left), tv_usec: Int((left - Double(Int(left))) * 1_000_000))
                setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let count = recv(connection.fd, &chunk, chunk.count, 0)
                if count <= 0 { break }
                bytes += chunk[0..<count]
            }
            return bytes
        }
        buffer = result
        consumed = result.count
        return String(decoding: result[start...], as: UTF8.self)
    }

    /// The lines of the event stream's body: after the head, without the chunked encoding's size lines.
    static func eventLines(_ text: String) -> [String] {
        guard let body = text.range(of: "\r\n\r\n") else { return [] }
        return text[body.upperBound...].replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init).filter { $0.range(of: "^[0-9a-f]+$", options: .regularExpression) == nil && $0 != ":" }
    }
}
