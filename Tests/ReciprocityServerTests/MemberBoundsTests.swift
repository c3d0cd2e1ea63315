import Foundation
import GRDB
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

@testable import ReciprocitySQLite

/// What one member can cost the server, and the rules that keep it bounded, against a live server over a
/// real SQLite file.
@Suite struct MemberBoundsTests {
    @Test(arguments: Backend.enabled) func twoColludingMembersMakeAtMostTheQuotaOfMatchesPerEpoch(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program(maxMarks: 5)
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            // Colluders share random tokens: each pair of submissions is a match.
            let shared = try (0..<5).map { _ in try Mark.dummy() }
            #expect(try await client.submit(alice, shared).status == .ok)
            let matched = try await client.submit(bob, shared)
            #expect(try matched.decode(SubmitMarksResponse.self).results.allSatisfy { $0.status == .matched })
            // Matches count: neither can mark anyone else this epoch, so no more matches either.
            var details: Set<String?> = []
            for member in [alice, bob] {
                let more = try await client.submit(member, [try Mark.dummy()])
                #expect(try more.problem().code == "quota-exceeded")
                details.insert(try more.problem().detail)
            }
            #expect(details.count == 1)
            // Resubmitting a match is idempotent and costs nothing.
            #expect(try await client.submit(alice, shared).status == .ok)
            // The next epoch starts afresh; matches of the last one are purged after the retention period.
            _ = try await harness.store.setEpoch(program: program, epoch: 1)
            #expect(try await client.submit(alice, [try Mark.dummy()], epoch: 1).status == .ok)
            let kept = try await harness.store.purge(now: Date(), matchRetention: 3600)
            #expect(kept.matches == 0)
            let purged = try await harness.store.purge(now: Date().addingTimeInterval(7200), matchRetention: 3600)
            #expect(purged.matches == 5)
            #expect(try await client.matches(alice).isEmpty)
        }
    }

    @Test(arguments: Backend.enabled) func matchesComeInPagesThatOnlyFollowTheCallersOwnMatches(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program(maxMarks: 300)
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let carol = try await client.join("carol", program: program, invite: invite)
            let shared = try (0..<230).map { _ in try Mark.dummy() }
            #expect(try await client.submit(alice, Array(shared.prefix(200))).status == .ok)
            #expect(try await client.submit(alice, Array(shared.suffix(30))).status == .ok)
            #expect(try await client.submit(bob, Array(shared.prefix(200))).status == .ok)
            #expect(try await client.submit(bob, Array(shared.suffix(30))).status == .ok)
            var tokens: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await client.send(
                    .get, "/v1/matches" + (cursor.map { "?after=\($0)" } ?? ""), headers: alice.auth
                ).decode(MatchesResponse.self)
                #expect(page.matches.count <= 100)
                tokens += page.matches.map(\.token)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil
            #expect(pages == 3)
            #expect(Set(tokens) == Set(shared.map(\.token.base64URL)) && tokens.count == 230)
            // A cursor that is not one of the caller's own matches is refused the same way whoever holds it.
            let foreign = try await client.send(.get, "/v1/matches?after=\(tokens[0])", headers: carol.auth)
            let unknown = try await client.send(
                .get, "/v1/matches?after=\(try Mark.dummy().token.base64URL)", headers: carol.auth)
            #expect(foreign.status == .notFound && Normalised(foreign) == Normalised(unknown))
        }
    }

    @Test(arguments: Backend.enabled) func keyRotationsAreLimitedAndARetiredKeyIsNeverAcceptedAgain(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            func rotate(_ member: TestMember, to key: PublicKey) async throws -> TestResponse {
                try await client.send(
                    .put, "/v1/me/key", headers: member.auth, json: KeyRotationRequest(publicKey: key.base64URL))
            }
            let first = try PrivateKey().publicKey
            #expect(try await rotate(alice, to: first).status == .ok)
            // Back to the key she joined with: refused, as is any key the log ever held (bob's too).
            for retired in [alice.key.publicKey, bob.key.publicKey, first] {
                let back = try await rotate(alice, to: retired)
                #expect(back.status == .conflict)
                #expect(try back.problem().code == "key-taken")
            }
            #expect(try await rotate(alice, to: try PrivateKey().publicKey).status == .ok)
            #expect(try await rotate(alice, to: try PrivateKey().publicKey).status == .ok)
            let fourth = try await rotate(alice, to: try PrivateKey().publicKey)
            #expect(fourth.status == .tooManyRequests)
            #expect(try fourth.problem().code == "rotation-limited")
            let retry = try #require(fourth.headers[.retryAfter].flatMap(Int.init))
            #expect(retry > 23 * 3600 && retry <= 24 * 3600 + 1)
            // Another member is not affected, and the log holds exactly the three rotations.
            #expect(try await rotate(bob, to: try PrivateKey().publicKey).status == .ok)
            let log = try await harness.store.keyLog(programID: 1, from: 0, limit: 100)
            #expect(log.filter { $0.entry.event == .rotate && $0.entry.handle.rawValue == "alice" }.count == 3)
        }
    }

    @Test(arguments: Backend.enabled) func aSuspendedMembersPendingMarksCannotCompleteAMatch(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            #expect(try await client.submit(alice, [try alice.mark(.mentee, on: bob).mark]).status == .ok)
            let operations = AdminOperations(store: harness.store)
            _ = try await operations.setStatus(program: "acme", handle: "alice", status: .suspended)
            let answer = try await client.submit(bob, [try bob.mark(.mentor, on: alice).mark])
            #expect(try answer.decode(SubmitMarksResponse.self).results.map(\.status) == [.pending])
            #expect(try await client.matches(bob).isEmpty)
            // Reinstated, alice submits the same token again and the match is made.
            _ = try await operations.setStatus(program: "acme", handle: "alice", status: .active)
            let again = try await client.submit(alice, [try alice.mark(.mentee, on: bob).mark])
            #expect(try again.decode(SubmitMarksResponse.self).results.map(\.status) == [.matched])
        }
    }

    @Test(arguments: Backend.enabled) func aTokenHeldInAnotherProgramIsUnknownHere(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (acme, acmeInvite) = try await harness.program("acme")
        let (other, otherInvite) = try await harness.program("other")
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: acme, invite: acmeInvite)
            let olga = try await client.join("olga", program: other, invite: otherInvite)
            let token = try Mark.dummy()
            #expect(try await client.submit(olga, [token]).status == .ok)
            let answer = try await client.submit(alice, [Mark(token: token.token, tag: try .random())])
            #expect(try answer.decode(SubmitMarksResponse.self).results.map(\.status) == [.pending])
            #expect(try await client.matches(alice).isEmpty)
            #expect(try await client.matches(olga).isEmpty)
            // Each withdraws only their own.
            #expect(
                try await client.send(.delete, "/v1/marks/\(token.token.base64URL)", headers: alice.auth).status
                    == .noContent)
            #expect(
                try await client.send(.delete, "/v1/marks/\(token.token.base64URL)", headers: olga.auth).status
                    == .noContent)
        }
    }

    @Test(arguments: Backend.enabled) func profilesAreLimitedInBytesAndCombiningMarks(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let refused = [
                Profile(displayName: "A" + String(repeating: "\u{301}", count: 5)),
                Profile(
                    displayName: "Alice", headline: "x" + String(repeating: "\u{300}\u{301}\u{302}", count: 50_000)),
                Profile(displayName: String(repeating: "\u{1F600}", count: 101)),
                Profile(displayName: "Jane\u{200B}Doe"),
                Profile(displayName: "Alice", headline: "evil\u{202E}gnp.exe"),
                Profile(displayName: "\u{2066}Bob\u{2069}"),
            ]
            for profile in refused {
                let response = try await client.send(.put, "/v1/me/profile", headers: alice.auth, json: profile)
                #expect(try response.problem().code == "invalid-profile")
            }
            // Real text passes: accents, scripts that combine, emoji.
            let fine = Profile(displayName: "Zoë Ngọc Ánh 👩🏽‍💻", headline: String(repeating: "ñ", count: 280))
            #expect(try await client.send(.put, "/v1/me/profile", headers: alice.auth, json: fine).status == .ok)
            let listed = try await client.send(.get, "/v1/directory", headers: alice.auth).decode(DirectoryPage.self)
            #expect(listed.members.map(\.profile) == [fine])
        }
    }

    @Test(arguments: Backend.enabled) func lookAlikeHandlesCannotJoinTheSameProgram(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        let (other, otherInvite) = try await harness.program("other")
        try await harness.application().test(.live) { client in
            _ = try await client.join("jane.doe", program: program, invite: invite)
            _ = try await client.join("bob", program: program, invite: invite)
            for lookAlike in ["jane-doe", "jane_doe", "janedoe", "jane.d0e", "b0b"] {
                let response = try await client.send(
                    .post, "/v1/programs/acme/members",
                    json: JoinRequest(
                        invite: invite, handle: lookAlike, publicKey: try PrivateKey().publicKey.base64URL,
                        profile: Profile(displayName: "Imposter")))
                #expect(response.status == .conflict, "\(lookAlike)")
                #expect(try response.problem().code == "handle-taken")
            }
            // Other programs are separate, and different-looking handles are fine.
            _ = try await client.join("jane-doe", program: other, invite: otherInvite)
            _ = try await client.join("jane.dee", program: program, invite: invite)
        }
    }

    @Test func aQueryPastItsTimeLimitIsStopped() async throws {
        let harness = try Harness()
        let start = ContinuousClock.now
        await #expect(throws: StoreError(.queryTooSlow, "the directory query took too long; try again")) {
            try await harness.sqlite.read { db in
                try SQLiteStore.withTimeLimit(db, seconds: 0.2) {
                    try Int.fetchOne(
                        db,
                        sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
                }
            }
        }
        // Without the limit the query never ends; any bound proves it was stopped (generous: the suite runs
        // many servers and PostgreSQL at once on a small machine).
        #expect(ContinuousClock.now - start < .seconds(180))
        // The connection is usable again afterwards, with no handler left behind.
        #expect(try await harness.sqlite.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM program") } == 0)
    }
}
