import Foundation
import ReciprocityCore
import Testing

/// The member CLI against a real server process and a real SQLite file, as the issue's scenarios describe.
@Suite(.serialized) struct EndToEndTests {
    /// A server with program acme, and two members who have joined it.
    static func joined(_ first: String, _ second: String) throws -> (ServerProcess, CLIMember, CLIMember) {
        let (server, invite) = try ServerProcess.withProgram()
        let members = (CLIMember(first, server: server), CLIMember(second, server: server))
        try members.0.join(invite: invite)
        try members.1.join(invite: invite)
        return (server, members.0, members.1)
    }

    @Test func mentorAndMenteeBothSeeOneVerifiedMatch() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        try alice.join(invite: invite, extra: ["--seeks-mentoring"])
        try bob.join(invite: invite, extra: ["--offers-mentoring"])
        #expect(try alice.ok(["interest", "add", "bob", "--as", "mentor"]).contains("bob as mentor: pending"))
        #expect(try bob.ok(["interest", "add", "alice", "--as", "mentee"]).contains("matched"))
        let aliceSees = try alice.matches()
        let bobSees = try bob.matches()
        #expect(aliceSees.map(\.handle) == ["bob"] && aliceSees.allSatisfy(\.verified))
        #expect(bobSees.map(\.handle) == ["alice"] && bobSees.allSatisfy(\.verified))
        #expect(aliceSees.first?.wants == "mentor" && bobSees.first?.wants == "mentee")
        #expect(try alice.ok(["interest", "list"]).contains("bob\tas mentor\tmatched"))
    }

    @Test func anUnreciprocatedMarkShowsNothingUntilReciprocated() throws {
        let (_, carol, bob) = try Self.joined("carol", "bob")
        try carol.ok(["interest", "add", "bob", "--as", "mentor"])
        #expect(try bob.matches().isEmpty && carol.matches().isEmpty)
        #expect(try bob.ok(["interest", "list"]).hasPrefix("no interests yet"))
        #expect(try bob.ok(["matches"]).contains("no matches yet"))
        try bob.ok(["interest", "add", "carol", "--as", "mentee"])
        #expect(try bob.matches().map(\.handle) == ["carol"])
        #expect(try carol.matches().map(\.handle) == ["bob"])
        #expect(try (bob.matches() + carol.matches()).allSatisfy(\.verified))
    }

    @Test func peersMatch() throws {
        let (_, dave, erin) = try Self.joined("dave", "erin")
        try dave.ok(["interest", "add", "erin", "--as", "peer"])
        try erin.ok(["interest", "add", "dave", "--as", "peer"])
        #expect(try dave.matches().map(\.verified) == [true])
        #expect(try erin.matches().map(\.verified) == [true])
    }

    @Test func aForgedConfirmationTagIsReportedAsUnverified() throws {
        let (server, alice, bob) = try Self.joined("alice", "bob")
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        try bob.ok(["interest", "add", "alice", "--as", "mentee"])
        // The operator rewrites alice's tag in the match row (she joined first: the lower id, side a): bob's client must not believe the match.
        try server.tamper(#"UPDATE "match" SET a_tag = randomblob(32)"#)
        let bobSees = try bob.matches()
        #expect(bobSees.count == 1 && bobSees[0].verified == false)
        #expect(bobSees[0].problem?.contains("cannot verify") == true)
        #expect(bobSees[0].wants == nil, "an unverified match says nothing of what this device marked")
        let human = try bob.cli(["matches"])
        #expect(human.status == 0)
        #expect(!human.stdout.contains("match: alice"))
        #expect(human.stderr.contains("warning: unverified match"))
        // alice's view still verifies: bob's tag was not touched.
        #expect(try alice.matches().map(\.verified) == [true])
    }

    @Test func aMatchSurvivesEitherSideRotatingItsKey() throws {
        let (_, alice, bob) = try Self.joined("alice", "bob")
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        #expect(try bob.ok(["interest", "add", "alice", "--as", "mentee"]).contains("matched"))
        // alice rotates before she has looked at her matches: the rotation records the match first instead of
        // deriving the matched mark again (which the quota, already counting the match, would refuse forever).
        try alice.ok(["key", "rotate"])
        #expect(try alice.matches().map(\.verified) == [true])
        // bob marked alice's old key; the server now reports her new one. The tag, derived from the key bob
        // marked, is what proves the match.
        #expect(try bob.matches().map(\.verified) == [true])
        #expect(try alice.ok(["interest", "list"]).contains("bob\tas mentor\tmatched"))
    }

    @Test func aServerRestartBetweenStepsLosesNothing() throws {
        let (server, alice, bob) = try Self.joined("alice", "bob")
        try server.restart()
        try alice.ok(["interest", "add", "bob", "--as", "mentee", "--pad-to", "5"])
        try server.restart()
        try bob.ok(["interest", "add", "alice", "--as", "mentor"])
        try server.restart()
        #expect(try alice.matches().map(\.handle) == ["bob"])
        #expect(try bob.matches().map(\.handle) == ["alice"])
    }

    @Test func aSubstitutedKeyIsRefusedAfterFirstContact() throws {
        let (server, alice, bob) = try Self.joined("alice", "bob")
        let pinned = try alice.ok(["key", "fingerprint", "bob"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(pinned == (try bob.ok(["key", "fingerprint"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        // The server starts serving a key it controls for bob, and even logs it as a rotation, so the log
        // checks pass: the key pinned at first contact still catches it.
        let substitute = try PrivateKey().publicKey.rawRepresentation
        try server.tamper("UPDATE member SET public_key = ? WHERE handle = 'bob'", [substitute])
        try server.appendLogEntry(.rotate, handle: "bob", key: substitute)
        let before = try alice.memberFacts()
        let refused = try alice.cli(["interest", "add", "bob", "--as", "mentor"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("bob's key changed in the key log"))
        #expect(try alice.memberFacts() == before)
    }

    @Test func badInputIsOneLineAndANonZeroExitWithLocalStateIntact() throws {
        let (server, alice, _) = try Self.joined("alice", "bob")
        try alice.ok(["interest", "add", "bob", "--as", "mentor", "--pad-to", "3"])
        let stranger = CLIMember("zed", server: server)
        let wrongInvite = try stranger.cli([
            "join", "--server", server.url, "--program", "acme", "--invite", "rcpi_nope",
            "--handle", "zed",
        ])
        #expect(wrongInvite.status != 0 && wrongInvite.stderr.contains("invite"))
        #expect(!FileManager.default.fileExists(atPath: stranger.home.path + "/current"))

        func expectFailure(_ arguments: [String], _ fragment: String) throws {
            let before = try alice.memberFacts()
            let result = try alice.cli(arguments)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
            #expect(try alice.memberFacts() == before, "\(arguments) changed local state")
        }
        try expectFailure(["interest", "add", "nobody", "--as", "mentor"], "no member 'nobody' is live")
        try expectFailure(["interest", "add", "alice", "--as", "peer"], "cannot mark yourself")
        try expectFailure(["interest", "add", "bob", "--as", "boss"], "boss")
        try expectFailure(["interest", "remove", "bob", "--as", "peer"], "no pending interest")
        server.stop()
        try expectFailure(["interest", "add", "bob", "--as", "peer"], "cannot reach the server")
        try expectFailure(["matches"], "cannot reach the server")
        try server.start()
        // The credential stops working (rotated elsewhere, revoked): a clear line, nothing lost.
        try server.tamper("UPDATE member SET credential_digest = randomblob(32) WHERE handle = 'alice'")
        try expectFailure(["matches"], "rejected this device's credential")
        try expectFailure(["interest", "add", "bob", "--as", "peer"], "rejected this device's credential")
    }
}
