import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct AbuseTests {
    @Test func theRateLimitHoldsUnderConcurrencyPerMember() async throws {
        let harness = try Harness()
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
            #expect(try limited.allSatisfy { try $0.problem().code == "rate-limited" && $0.headers[.retryAfter] != nil })
            // Another member is not affected.
            #expect(try await client.send(.get, "/v1/me", headers: calm.auth).status == .ok)
        }
    }

    @Test func aStalledClientIsDisconnected() async throws {
        let harness = try Harness()
        try await harness.application(idleTimeout: 1).test(.live) { client in
            let port = try #require(client.port)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            #expect(connected == 0)
            // Half a request, then silence.
            _ = "POST /v1/marks HTTP/1.1\r\nHost: localhost\r\n".withCString { send(fd, $0, strlen($0), 0) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let start = ContinuousClock.now
            var buffer = [UInt8](repeating: 0, count: 512)
            var received = 0
            repeat { received = recv(fd, &buffer, buffer.count, 0) } while received > 0
            // The server closed the connection (recv returns 0) well before our 10-second guard.
            #expect(received == 0)
            #expect(ContinuousClock.now - start < .seconds(8))
        }
    }
}
