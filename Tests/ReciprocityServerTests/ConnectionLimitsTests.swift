import Foundation
import Hummingbird
import HummingbirdTesting
import ReciprocityServer
import Testing

/// What one connection may cost, against a real server on loopback over raw sockets: a whole-request
/// deadline, a minimum body rate, a bound on open connections, and malformed requests answered 400.
@Suite struct ConnectionLimitsTests {
    static let joinHead =
        "POST /v1/programs/acme/members HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"

    /// Sends `joinHead` with a 1,000-byte body announced, then one body byte a second until the server closes
    /// the connection; returns what the server sent and the seconds it took.
    func dripBody(port: Int) async throws -> (text: String, closed: Bool, seconds: Int) {
        let connection = try RawConnection(port: port)
        connection.send(Self.joinHead + "Content-Length: 1000\r\n\r\n")
        let start = ContinuousClock.now
        let dripping = Thread {
            while !Thread.current.isCancelled, connection.send("{") { Thread.sleep(forTimeInterval: 1) }
        }
        dripping.start()
        defer { dripping.cancel() }
        // The time is taken on the reading thread: a busy test pool may resume this task much later.
        let (text, closed, elapsed) = await offThePool { () -> (String, Bool, Duration) in
            let (text, closed) = connection.readUntilClosed()
            return (text, closed, ContinuousClock.now - start)
        }
        return (text, closed, Int(elapsed.components.seconds))
    }

    /// A body trickled one byte a second resets the idle timeout (30 s) with every byte. With the minimum rate
    /// off, the request deadline (3 s) cuts it; with 100 bytes a second required after the 5-second grace, the
    /// rate cuts it at about 6 s, long before the 120-second deadline. The upper bounds are generous for a
    /// loaded machine and far below the 60 s our read waits.
    @Test(arguments: [(3, 0, 2..<20), (120, 100, 4..<40)])
    func aBodySentOneByteASecondIsCutOff(requestTimeout: Int, minimumBodyRate: Int, within: Range<Int>) async throws {
        let harness = try Harness()
        let app = harness.application {
            $0.requestTimeout = requestTimeout
            $0.minimumBodyRate = minimumBodyRate
        }
        try await app.test(.live) { client in
            let (text, closed, seconds) = try await dripBody(port: try #require(client.port))
            #expect(closed)
            #expect(within.contains(seconds), "closed after \(seconds) s")
            if !text.isEmpty {
                #expect(text.hasPrefix("HTTP/1.1 408"))
                #expect(text.contains("urn:reciprocity:problem:request-timeout"))
            }
            #expect(harness.logs.all.contains { $0.hasPrefix("info request timed out") })
            #expect(harness.logs.errors.isEmpty, "\(harness.logs.errors)")
        }
    }

    @Test func aSlowButSteadyBodyIsAccepted() async throws {
        let harness = try Harness()
        let app = harness.application {
            $0.requestTimeout = 120
            $0.minimumBodyRate = 100
        }
        try await app.test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            // 4,000 bytes over 10 s, 400 a second: four times the minimum, so that a loaded machine's late
            // wake-ups do not matter. The JSON is malformed on purpose: after reading all of it the server
            // answers 400 invalid-body, not 408.
            connection.send(Self.joinHead + "Content-Length: 4000\r\nConnection: close\r\n\r\n")
            let sending = Thread {
                for chunk in 0..<10 {
                    connection.send(String(repeating: " ", count: 399) + (chunk == 9 ? "x" : " "))
                    Thread.sleep(forTimeInterval: 1)
                }
            }
            sending.start()
            let response = await offThePool { connection.readResponse() }
            #expect(response?.status == 400)
            #expect(response?.text.contains("urn:reciprocity:problem:invalid-body") == true)
        }
    }

    @Test func connectionsBeyondTheLimitAreRefusedWhileTheFirstOnesKeepWorking() async throws {
        let harness = try Harness()
        try await harness.application { $0.maxConnections = 4 }.test(.live) { client in
            let port = try #require(client.port)
            let health = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
            // The test client's own connection may count too: open ours until one is refused.
            var open: [RawConnection] = []
            var refused: (status: Int, text: String)?
            while refused == nil, open.count <= 4 {
                let connection = try RawConnection(port: port)
                connection.send(health)
                let response = await offThePool { connection.readResponse() }
                if response?.status == 200 { open.append(connection) } else { refused = response }
            }
            #expect(open.count >= 3 && open.count <= 4, "\(open.count) connections admitted")
            let answer = try #require(refused)
            #expect(answer.status == 503)
            #expect(answer.text.contains("urn:reciprocity:problem:too-many-connections"))
            // The admitted ones keep working.
            for connection in open {
                connection.send(health)
                #expect(await offThePool { connection.readResponse() }?.status == 200)
            }
            // Closing one makes room for a new one (once the server has seen the close).
            open.removeLast()
            var admitted = false
            for _ in 0..<100 where !admitted {
                let connection = try RawConnection(port: port)
                connection.send(health)
                admitted = await offThePool { connection.readResponse() }?.status == 200
                if !admitted { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(admitted)
        }
    }

    @Test(arguments: [
        ("Transfer-Encoding: xchunked\r\n\r\n{}", "a transfer coding that is not chunked"),
        ("Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", "a chunk size that is not hexadecimal"),
        ("Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "two lengths"),
    ])
    func aMalformedRequestIsA400InvalidBodyAndNothingIsLoggedAsAnError(request: String, what: String) async throws {
        let harness = try Harness()
        // The parser's answer, not the body-rate limit's: on a loaded machine the server may first look at the
        // connection after the rate's grace period (tested on its own above).
        try await harness.application {
            $0.minimumBodyRate = 0
            $0.requestTimeout = 300
        }.test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send(Self.joinHead + request)
            let (text, closed) = await offThePool { connection.readUntilClosed() }
            #expect(text.hasPrefix("HTTP/1.1 400"), "\(what): \(text)")
            #expect(text.contains("application/problem+json"), "\(what)")
            #expect(text.contains("urn:reciprocity:problem:invalid-body"), "\(what)")
            #expect(closed, "\(what)")
            #expect(harness.logs.errors.isEmpty, "\(what): \(harness.logs.errors)")
            // The server goes on serving.
            #expect(try await client.send(.get, "/healthz").status == .ok)
        }
    }

    @Test func aRequestThatIsNotHTTPIsA400() async throws {
        let harness = try Harness()
        try await harness.application().test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send("HELLO THERE\r\n\r\n")
            let (text, closed) = await offThePool { connection.readUntilClosed() }
            #expect(text.hasPrefix("HTTP/1.1 400"))
            #expect(text.contains("urn:reciprocity:problem:invalid-body"))
            #expect(closed)
            #expect(harness.logs.errors.isEmpty, "\(harness.logs.errors)")
        }
    }
}
