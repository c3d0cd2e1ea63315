import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import Testing

/// Join is open to anyone holding an invite, so it is limited per client address.
@Suite struct JoinRateLimitTests {
    @Test func joinsBeyondTheBurstFromOneAddressAre429WithRetryAfter() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application { $0.joinRateLimitPerMinute = 3 }.test(.live) { client in
            let wrongInvite = JoinRequest(
                invite: "rcpi_wrong", handle: "someone", publicKey: try PrivateKey().publicKey.base64URL,
                profile: Profile(displayName: "Someone"))
            // A burst of three answers of any kind (a join, refused invites), then 429; one more is allowed
            // every 20 s, which a slow machine may reach.
            let start = ContinuousClock.now
            let member = try await client.join("alice", program: program, invite: invite)
            var statuses: [HTTPResponse.Status] = []
            var limited: TestResponse?
            while limited == nil, statuses.count < 10 {
                let response = try await client.send(.post, "/v1/programs/\(program)/members", json: wrongInvite)
                if response.status == .tooManyRequests { limited = response } else { statuses.append(response.status) }
            }
            let refilled = Int((ContinuousClock.now - start).components.seconds) / 20
            #expect(statuses.allSatisfy { $0 == .forbidden })
            #expect(statuses.count >= 2 && statuses.count <= 2 + refilled, "\(statuses.count) refused invites")
            let answer = try #require(limited)
            #expect(try answer.problem().code == "rate-limited")
            #expect(Int(answer.headers[.retryAfter] ?? "").map { $0 >= 1 && $0 <= 20 } == true)
            // Other routes and other addresses are not affected.
            #expect(try await client.send(.get, "/v1/me", headers: member.auth).status == .ok)
            let elsewhere = try RawConnection(port: try #require(client.port), from: "127.0.0.2")
            let body = String(decoding: try APICoding.encoder().encode(wrongInvite), as: UTF8.self)
            elsewhere.send(
                "POST /v1/programs/\(program)/members HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            #expect(await offThePool { elsewhere.readResponse() }?.status == 403)
        }
    }
}
