import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityTestSupport
import Testing

@testable import ReciprocityStore

@Suite struct MarkAPITests {
    @Test(arguments: Backend.enabled) func reciprocatedMentorshipMatchesForBothWithVerifiableTags(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let aliceMark = try alice.mark(.mentee, on: bob)
            let bobMark = try bob.mark(.mentor, on: alice)

            let first = try await client.submit(alice, [aliceMark.mark])
            #expect(first.status == .ok)
            #expect(
                try first.decode(SubmitMarksResponse.self).results == [
                    MarkResult(token: aliceMark.token.base64URL, status: .pending)
                ])
            #expect(try await client.matches(alice).isEmpty)
            #expect(try await client.matches(bob).isEmpty)

            let second = try await client.submit(bob, [bobMark.mark])
            #expect(try second.decode(SubmitMarksResponse.self).results.map(\.status) == [.matched])

            let aliceSees = try await client.matches(alice)
            let bobSees = try await client.matches(bob)
            #expect(aliceSees.count == 1 && bobSees.count == 1)
            #expect(aliceSees.first?.handle == "bob" && bobSees.first?.handle == "alice")
            #expect(aliceSees.first?.publicKey == bob.key.publicKey.base64URL)
            // Each side receives the other's tag and can verify it.
            let tagForAlice = try ConfirmationTag(base64URL: try #require(aliceSees.first).tag)
            let tagForBob = try ConfirmationTag(base64URL: try #require(bobSees.first).tag)
            #expect(aliceMark.verifies(counterpartTag: tagForAlice))
            #expect(bobMark.verifies(counterpartTag: tagForBob))
            // Matched marks no longer count as pending.
            let pending = try await client.send(.get, "/v1/marks", headers: alice.auth).decode(
                PendingMarksResponse.self)
            #expect(pending.marks.isEmpty)
            // Resubmitting is idempotent.
            let again = try await client.submit(bob, [bobMark.mark])
            #expect(try again.decode(SubmitMarksResponse.self).results.map(\.status) == [.matched])
            #expect(try await client.matches(bob).count == 1)
        }
    }

    /// One request withdraws and submits in one transaction: a member at the quota replaces a mark, the count
    /// never moves, a token both withdrawn and submitted gets its new note, and a token the caller does not
    /// hold (another member's, or nobody's) is ignored without touching anyone else's mark.
    @Test(arguments: Backend.enabled) func oneRequestReplacesMarksWithoutTheCountMoving(_ backend: Backend) async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program(maxMarks: 2)
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let carol = try await client.join("carol", program: program, invite: invite)
            let dummies = [try Mark.dummy(), try Mark.dummy()]
            #expect(try await client.submit(alice, dummies).status == .ok)
            let real = try alice.mark(.mentee, on: bob)
            // At the quota, a plain submission is refused; replacing a dummy is not.
            #expect(try await client.submit(alice, [real.mark]).status == .conflict)
            let carolsMark = try carol.mark(.peer, on: bob)
            #expect(try await client.submit(carol, [carolsMark.mark]).status == .ok)
            func replace(_ marks: [Mark], withdrawing: [InterestToken]) async throws -> TestResponse {
                try await client.send(
                    .post, "/v1/marks", headers: alice.auth,
                    json: SubmitMarksRequest(
                        epoch: 0, marks: marks.map(MarkItem.init), withdraw: withdrawing.map(\.base64URL)))
            }
            let replaced = try await replace(
                [real.mark], withdrawing: [dummies[0].token, carolsMark.token, try InterestToken.random()])
            #expect(replaced.status == .ok)
            var pending = try await client.send(.get, "/v1/marks", headers: alice.auth).decode(
                PendingMarksResponse.self)
            #expect(Set(pending.marks.map(\.token)) == [real.token.base64URL, dummies[1].token.base64URL])
            #expect(
                try await client.send(.get, "/v1/marks", headers: carol.auth).decode(PendingMarksResponse.self).marks
                    .count == 1)
            // A new note for the same token: withdrawn and submitted again in one request.
            let renoted = Mark(token: real.mark.token, tag: real.mark.tag, note: try SealedNote.dummy())
            #expect(try await replace([renoted], withdrawing: [real.token]).status == .ok)
            pending = try await client.send(.get, "/v1/marks", headers: alice.auth).decode(PendingMarksResponse.self)
            #expect(pending.marks.count == 2)
            // Bob reciprocates and receives the new note.
            #expect(try await client.submit(bob, [try bob.mark(.mentor, on: alice).mark]).status == .ok)
            #expect(try await client.matches(bob).first?.note == renoted.note?.base64URL)
            // Too many withdrawals in one request is a clear error.
            let tooMany = try await replace([renoted], withdrawing: (0..<257).map { _ in try InterestToken.random() })
            #expect(tooMany.status == .badRequest)
        }
    }

    @Test(arguments: Backend.enabled) func unreciprocatedMarkIsInvisibleUntilReciprocated(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let carol = try await client.join("carol", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let carolMark = try carol.mark(.mentee, on: bob)
            #expect(try await client.submit(carol, [carolMark.mark]).status == .ok)

            // Nothing bob can see changes, byte for byte.
            let bobBefore = try await [
                client.send(.get, "/v1/matches", headers: bob.auth).body,
                client.send(.get, "/v1/marks", headers: bob.auth).body,
                client.send(.get, "/v1/me", headers: bob.auth).body,
            ]
            #expect(try await client.matches(bob).isEmpty)
            #expect(try await client.matches(carol).isEmpty)
            let pending = try await client.send(.get, "/v1/marks", headers: carol.auth).decode(
                PendingMarksResponse.self)
            #expect(pending.marks.map(\.token) == [carolMark.token.base64URL])
            let bobAfter = try await [
                client.send(.get, "/v1/matches", headers: bob.auth).body,
                client.send(.get, "/v1/marks", headers: bob.auth).body,
                client.send(.get, "/v1/me", headers: bob.auth).body,
            ]
            #expect(bobBefore == bobAfter)

            let bobMark = try bob.mark(.mentor, on: carol)
            #expect(
                try await client.submit(bob, [bobMark.mark]).decode(SubmitMarksResponse.self).results[0].status
                    == .matched)
            #expect(try await client.matches(bob).map(\.handle) == ["carol"])
            #expect(try await client.matches(carol).map(\.handle) == ["bob"])
        }
    }

    @Test(arguments: Backend.enabled) func peersMatchAndAThirdMemberCannotReuseTheToken(_ backend: Backend) async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let dave = try await client.join("dave", program: program, invite: invite)
            let erin = try await client.join("erin", program: program, invite: invite)
            let mallory = try await client.join("mallory", program: program, invite: invite)
            let daveMark = try dave.mark(.peer, on: erin)
            _ = try await client.submit(dave, [daveMark.mark])
            _ = try await client.submit(erin, [try erin.mark(.peer, on: dave).mark])
            #expect(try await client.matches(dave).map(\.handle) == ["erin"])

            // A leaked token submitted by a third member is refused and changes nothing.
            let stolen = try await client.submit(mallory, [Mark(token: daveMark.token, tag: try .random())])
            #expect(stolen.status == .conflict)
            #expect(try stolen.problem().code == "token-unavailable")
            #expect(try await client.matches(mallory).isEmpty)
            #expect(try await client.matches(dave).map(\.handle) == ["erin"])
        }
    }

    @Test(arguments: Backend.enabled) func batchesAreAllOrNothingWithinTheQuota(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program(maxMarks: 4)
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let three = try (0..<3).map { _ in try Mark.dummy() }
            // A token twice in one batch is one mark: both items answer, one row is stored.
            let twice = try await client.submit(alice, [three[0], three[0]])
            #expect(try twice.decode(SubmitMarksResponse.self).results.map(\.status) == [.pending, .pending])
            #expect(try await client.submit(alice, three).status == .ok)
            // 3 held + 2 new > 4: refused, and neither new mark is stored.
            let over = try await client.submit(alice, [try Mark.dummy(), try Mark.dummy()])
            #expect(over.status == .conflict)
            #expect(try over.problem().code == "quota-exceeded")
            let held = try await client.send(.get, "/v1/marks", headers: alice.auth).decode(PendingMarksResponse.self)
            #expect(Set(held.marks.map(\.token)) == Set(three.map(\.token.base64URL)))
            // Resubmitting held marks does not use quota; withdrawing frees it.
            #expect(try await client.submit(alice, three).status == .ok)
            let withdrawn = try await client.send(.delete, "/v1/marks/\(three[0].token.base64URL)", headers: alice.auth)
            #expect(withdrawn.status == .noContent)
            let gone = try await client.send(.delete, "/v1/marks/\(three[0].token.base64URL)", headers: alice.auth)
            #expect(try gone.problem().code == "mark-not-found")
            #expect(try await client.submit(alice, [try Mark.dummy(), try Mark.dummy()]).status == .ok)
        }
    }

    @Test(arguments: Backend.enabled) func badMarksAreRejectedWithStableProblemTypesAndNothingIsStored(
        _ backend: Backend
    ) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let good = MarkItem(try Mark.dummy())
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"epoch":0,"marks":[{"token":"short","tag":"\#(good.tag)"}]}"#, .badRequest, "invalid-encoding"),
                (
                    #"{"epoch":0,"marks":[{"token":"\#(good.token)=","tag":"\#(good.tag)"}]}"#, .badRequest,
                    "invalid-encoding"
                ),
                (#"{"epoch":0,"marks":[]}"#, .badRequest, "invalid-batch"),
                (
                    #"{"epoch":0,"marks":[\#(String(repeating: #"{"token":"\#(good.token)","tag":"\#(good.tag)"},"#, count: 257).dropLast())]}"#,
                    .badRequest, "invalid-batch"
                ),
                (#"{"epoch":1,"marks":[{"token":"\#(good.token)","tag":"\#(good.tag)"}]}"#, .conflict, "wrong-epoch"),
                (#"{"epoch":-1,"marks":[]}"#, .badRequest, "invalid-body"),
                (#"{"marks":[]}"#, .badRequest, "invalid-body"),
                (#"{"epoch":"0","marks":[]}"#, .badRequest, "invalid-body"),
                ("[", .badRequest, "invalid-body"),
                ("", .badRequest, "invalid-body"),
            ]
            for (body, status, code) in cases {
                let response = try await client.send(.post, "/v1/marks", headers: alice.auth, raw: body)
                #expect(response.status == status, "\(code)")
                #expect(try response.problem().code == code)
            }
            let huge = String(repeating: " ", count: 330 * 1024)
            let tooLarge = try await client.send(.post, "/v1/marks", headers: alice.auth, raw: huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try tooLarge.problem().code == "body-too-large")
            let held = try await client.send(.get, "/v1/marks", headers: alice.auth).decode(PendingMarksResponse.self)
            #expect(held.marks.isEmpty)
        }
    }

    @Test(arguments: Backend.enabled) func logsNeverContainTokensTagsOrCredentials(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        let secrets = try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let marks = [try alice.mark(.mentee, on: bob).mark, try Mark.dummy()]
            _ = try await client.submit(alice, marks)
            _ = try await client.submit(bob, [try bob.mark(.mentor, on: alice).mark])
            _ = try await client.matches(alice)
            _ = try await client.send(.delete, "/v1/marks/\(marks[1].token.base64URL)", headers: alice.auth)
            _ = try await client.send(.delete, "/v1/marks/\(marks[1].token.base64URL)", headers: alice.auth)
            _ = try await client.send(.get, "/v1/me", headers: [.authorization: "Bearer \(alice.credential)x"])
            return [invite, alice.credential, bob.credential]
                + marks.flatMap { [$0.token.base64URL, $0.tag.base64URL] }
        }
        let logs = harness.logs.all
        #expect(logs.count >= 8)
        #expect(logs.contains { $0.contains("http.route=/v1/marks/{token}") })
        for secret in secrets {
            #expect(!logs.contains { $0.contains(secret) }, "a log line contains a secret")
        }
    }
}
