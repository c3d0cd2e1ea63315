import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// The conversation routes over a real server and database: both ways in order, the end, the bounds, and
/// every bad input answered with its code.
@Suite struct ConversationAPITests {
    /// A random envelope of size class `size` in base64url.
    static func envelope(_ size: Int = 0) -> String {
        Base64URL.encode(
            [MessageEnvelope.version] + (1..<MessageEnvelope.lengths[size]).map { _ in UInt8.random(in: 0...255) })
    }

    /// Alice and bob, matched (alice mentee, bob mentor); the token of their match.
    static func matchedPair(_ client: some TestClientProtocol, program: ProgramID, invite: String) async throws
        -> (TestMember, TestMember, String)
    {
        let alice = try await client.join("alice", program: program, invite: invite)
        let bob = try await client.join("bob", program: program, invite: invite)
        _ = try await client.submit(alice, [try alice.mark(.mentee, on: bob).mark])
        _ = try await client.submit(bob, [try bob.mark(.mentor, on: alice).mark])
        let token = try #require(try await client.matches(alice).first).token
        return (alice, bob, token)
    }

    @Test(arguments: Backend.enabled)
    func twoMatchedMembersExchangeMessagesBothWaysInOrder(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let (alice, bob, token) = try await Self.matchedPair(client, program: program, invite: invite)
            let listed = try await client.send(.get, "/v1/conversations", headers: bob.auth)
            #expect(listed.status == .ok)
            #expect(
                try listed.decode(ConversationsResponse.self).conversations.map {
                    "\($0.handle) \($0.messages) \($0.lastSeq) \($0.ended)"
                }
                    == ["alice 0 0 false"])
            var sent: [(from: String, envelope: String)] = []
            for index in 0..<6 {
                let sender = index % 3 == 1 ? bob : alice
                let envelope = Self.envelope(index % 3)
                let response = try await client.send(
                    .post, "/v1/conversations/\(token)/messages", headers: sender.auth,
                    json: PostMessageRequest(envelope: envelope))
                #expect(response.status == .created, "\(String(buffer: response.body))")
                #expect(try response.decode(PostMessageResponse.self).seq == Int64(index + 1))
                sent.append((sender.handle.rawValue, envelope))
            }
            for reader in [alice, bob] {
                let page = try await client.send(.get, "/v1/conversations/\(token)/messages", headers: reader.auth)
                    .decode(MessagesResponse.self)
                #expect(page.messages.map(\.seq) == Array(1...6))
                #expect(page.messages.map(\.envelope) == sent.map(\.envelope))
                #expect(page.messages.map(\.fromMe) == sent.map { $0.from == reader.handle.rawValue })
                #expect(!page.ended && !page.more)
                let later = try await client.send(
                    .get, "/v1/conversations/\(token)/messages?after=4&limit=1", headers: reader.auth
                ).decode(MessagesResponse.self)
                #expect(later.messages.map(\.seq) == [5] && later.more)
            }
            let summary = try await client.send(.get, "/v1/conversations", headers: alice.auth)
                .decode(ConversationsResponse.self).conversations
            #expect(summary.count == 1 && summary[0].token == token && summary[0].handle == "bob")
            #expect(summary[0].messages == 6 && summary[0].lastSeq == 6 && summary[0].lastSentAt != nil)
        }
    }

    @Test(arguments: Backend.enabled)
    func endingDeletesTheMessagesAndTheOtherSideSeesItEnded(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let (alice, bob, token) = try await Self.matchedPair(client, program: program, invite: invite)
            for sender in [alice, bob] {
                _ = try await client.send(
                    .post, "/v1/conversations/\(token)/messages", headers: sender.auth,
                    json: PostMessageRequest(envelope: Self.envelope()))
            }
            let end = try await client.send(.post, "/v1/conversations/\(token)/end", headers: bob.auth)
            #expect(end.status == .noContent && end.body.readableBytes == 0)
            let seen = try await client.send(.get, "/v1/conversations/\(token)/messages", headers: alice.auth)
                .decode(MessagesResponse.self)
            #expect(seen == MessagesResponse(messages: [], ended: true, more: false))
            let listed = try await client.send(.get, "/v1/conversations", headers: alice.auth)
                .decode(ConversationsResponse.self).conversations
            #expect(listed.map { "\($0.messages) \($0.lastSeq) \($0.ended)" } == ["0 2 true"])
            for member in [alice, bob] {
                let refused = try await client.send(
                    .post, "/v1/conversations/\(token)/messages", headers: member.auth,
                    json: PostMessageRequest(envelope: Self.envelope()))
                #expect(refused.status == .conflict)
                #expect(try refused.problem().type == ProblemDetails.typePrefix + "conversation-ended")
            }
            #expect(
                try await client.send(.post, "/v1/conversations/\(token)/end", headers: alice.auth).status
                    == .noContent)
        }
    }

    @Test(arguments: Backend.enabled)
    func theBoundsAnswer429WithRetryAfterAnd413(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        let small = MessageEnvelope.lengths[0]
        let app = harness.application {
            $0.conversationLimits = ConversationLimits(messagesPerDay: 2, storedBytes: 3 * small)
        }
        try await app.test(.live) { client in
            let (alice, bob, token) = try await Self.matchedPair(client, program: program, invite: invite)
            func post(_ member: TestMember) async throws -> TestResponse {
                try await client.send(
                    .post, "/v1/conversations/\(token)/messages", headers: member.auth,
                    json: PostMessageRequest(envelope: Self.envelope()))
            }
            #expect(try await post(alice).status == .created)
            #expect(try await post(alice).status == .created)
            let limited = try await post(alice)
            #expect(limited.status == .tooManyRequests)
            #expect(try limited.problem().type == ProblemDetails.typePrefix + "messages-limited")
            let wait = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((24 * 3600 - 60)...(24 * 3600 + 1) ~= wait)
            #expect(try await post(bob).status == .created)
            let full = try await post(bob)
            #expect(full.status == .contentTooLarge)
            #expect(try full.problem().type == ProblemDetails.typePrefix + "conversation-full")
        }
    }

    /// A report with the messages the member chose reaches the operator's list, over HTTP and on the command
    /// line (printed terminal-safe); a quoted text's refused characters are escaped, not refused (one place decides,
    /// Specs/messages.md section 9b), up to the largest payload's worst case; bad reports are refused with their
    /// code.
    @Test(arguments: Backend.enabled)
    func aReportReachesTheOperator(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let (alice, _, token) = try await Self.matchedPair(client, program: program, invite: invite)
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let report = ReportRequest(
                reason: "Asked for my password.\nTwice.",
                messages: [
                    ReportedMessage(seq: 1, fromMe: false, text: "what is your password? \u{1B}]0;pwned\u{07}"),
                    ReportedMessage(seq: 2, fromMe: true, text: "no"),
                ])
            // The largest payload, every byte a DEL, is 24,564 characters once escaped: taken; one more is not.
            for (text, status) in [
                (String(repeating: "\u{7F}", count: Conversation.maxPayloadBytes), HTTPResponse.Status.noContent),
                (String(repeating: "x", count: 6 * Conversation.maxPayloadBytes + 1), .badRequest),
            ] {
                let largest = ReportRequest(
                    reason: "Long", messages: [ReportedMessage(seq: 1, fromMe: false, text: text)])
                let response = try await client.send(
                    .post, "/v1/conversations/\(token)/report", headers: alice.auth, json: largest)
                #expect(response.status == status, "\(String(buffer: response.body))")
            }
            // No control character in the texts the operator reads: the server writes each as a JSON escape.
            let sent = try await client.send(
                .post, "/v1/conversations/\(token)/report", headers: alice.auth, json: report)
            #expect(sent.status == .noContent, "\(String(buffer: sent.body))")
            var clean = report
            clean.messages![0].text = #"what is your password? \u001B]0;pwned\u0007"#
            let listed = try await client.send(.get, "/v1/admin/programs/acme/reports", headers: admin)
                .decode(ReportsResponse.self).reports
            #expect(listed.count == 1)
            #expect(
                listed.first.map { "\($0.reporter) \($0.reported) \($0.reason)" }
                    == "alice bob Asked for my password.\nTwice.")
            #expect(listed.first?.messages == clean.messages)
            for bad in [
                #"{"reason":"   "}"#, #"{"reason":"x","messages":[{"seq":0,"fromMe":true,"text":"a"}]}"#,
                #"{"reason":"\#(String(repeating: "x", count: 2001))"}"#, #"{"reason":"a\u202Eb"}"#,
                #"{"messages":[]}"#,
            ] {
                let response = try await client.send(
                    .post, "/v1/conversations/\(token)/report", headers: alice.auth, raw: bad)
                #expect(response.status == .badRequest, "\(bad.prefix(60))")
            }
            #expect(try await client.send(.get, "/v1/admin/programs/nope/reports", headers: admin).status == .notFound)
            if backend == .sqlite {
                let output = try Reciprocityd.run([
                    "admin", "report", "list", "acme", "--database", harness.databasePath,
                ])
                #expect(output.status == 0, "\(output.stderr)")
                #expect(output.stdout.contains("alice reported bob\tepoch 0"), "\(output.stdout)")
                #expect(output.stdout.contains("  reason: Asked for my password.\\nTwice."), "\(output.stdout)")
                #expect(output.stdout.contains("  #1 bob: what is your password?"))
                #expect(output.stdout.contains("  #2 alice: no"))
                let json = try Reciprocityd.run([
                    "admin", "report", "list", "acme", "--json", "--database", harness.databasePath,
                ])
                #expect(
                    try APICoding.decoder().decode(ReportsResponse.self, from: Data(json.stdout.utf8)).reports == listed
                )
            }
        }
    }

    /// Malformed envelopes, tokens and parameters: each a 400 with its code, decided before the conversation is
    /// looked up.
    @Test func badInputIsRefusedWithAClearCode() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.router) { client in
            let (alice, _, token) = try await Self.matchedPair(client, program: program, invite: invite)
            let wrongVersion = Base64URL.encode([2] + [UInt8](repeating: 0, count: MessageEnvelope.lengths[0] - 1))
            let wrongLength = Base64URL.encode([MessageEnvelope.version] + [UInt8](repeating: 0, count: 300))
            let cases: [(String, String, String)] = [
                (token, #"{"envelope":"\#(wrongVersion)"}"#, "invalid-envelope"),
                (token, #"{"envelope":"\#(wrongLength)"}"#, "invalid-envelope"),
                (token, #"{"envelope":"!!!!"}"#, "invalid-envelope"),
                (token, #"{"envelope":""}"#, "invalid-envelope"),
                (token, #"{"envelope":42}"#, "invalid-body"),
                (token, "{", "invalid-body"),
                ("not-a-token", #"{"envelope":"\#(Self.envelope())"}"#, "invalid-parameter"),
            ]
            for (path, body, code) in cases {
                let response = try await client.send(
                    .post, "/v1/conversations/\(path)/messages", headers: alice.auth, raw: body)
                #expect(response.status == .badRequest, "\(body.prefix(40))")
                #expect(try response.problem().type == ProblemDetails.typePrefix + code, "\(body.prefix(40))")
            }
            for query in ["after=-1", "after=x", "limit=0", "limit=201"] {
                let response = try await client.send(
                    .get, "/v1/conversations/\(token)/messages?\(query)", headers: alice.auth)
                #expect(try response.problem().type == ProblemDetails.typePrefix + "invalid-parameter", "\(query)")
            }
            #expect(
                try await client.send(.get, "/v1/conversations?after=bad", headers: alice.auth).problem().type
                    == ProblemDetails.typePrefix + "invalid-parameter")
            #expect(try await client.send(.get, "/v1/conversations").status == .unauthorized)
            let wrongMethod = try await client.send(.put, "/v1/conversations/\(token)/end", headers: alice.auth)
            #expect(wrongMethod.status == .methodNotAllowed)
        }
    }
}
