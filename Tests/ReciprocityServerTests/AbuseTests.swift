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

@Suite struct AbuseTests {
    @Test(arguments: Backend.enabled) func theRateLimitHoldsUnderConcurrencyPerMember(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application(rateLimit: 60).test(.live) { client in
            let greedy = try await client.join("greedy", program: program, invite: invite)
            let calm = try await client.join("calm", program: program, invite: invite)
            // 60 a minute allows a burst of 60, then one a second: fire 90 at once. On a loaded machine the
            // burst can take a few seconds, and each second refills one request.
            let start = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<90 { group.addTask { try await client.send(.get, "/v1/me", headers: greedy.auth) } }
                return try await group.reduce(into: [TestResponse]()) { $0.append($1) }
            }
            let refilled = Int((ContinuousClock.now - start).components.seconds) + 1
            let passed = statuses.filter { $0.status == .ok }.count
            #expect(passed >= 60 && passed <= 60 + refilled, "\(passed) passed in \(refilled) s")
            let limited = statuses.filter { $0.status == .tooManyRequests }
            #expect(limited.count == 90 - passed)
            #expect(
                try limited.allSatisfy { try $0.problem().code == "rate-limited" && $0.headers[.retryAfter] != nil })
            // Another member is not affected.
            #expect(try await client.send(.get, "/v1/me", headers: calm.auth).status == .ok)
        }
    }

    @Test(arguments: Backend.enabled) func aStalledClientIsDisconnected(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        try await harness.application(idleTimeout: 1).test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            // Half a request, then silence.
            connection.send("POST /v1/marks HTTP/1.1\r\nHost: localhost\r\n")
            let start = ContinuousClock.now
            // The time is taken on the reading thread: a busy test pool may resume this task much later.
            let (closed, elapsed) = await offThePool { (connection.readUntilClosed().1, ContinuousClock.now - start) }
            // The server closed the connection well before our guard.
            #expect(closed)
            #expect(elapsed < .seconds(8))
        }
    }
}
