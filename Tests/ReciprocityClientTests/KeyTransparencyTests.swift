import Foundation
import GRDB
import ReciprocityAPI
import ReciprocityCore
import Testing

@testable import ReciprocityClient

/// A server that serves alice a different key for bob than everyone else sees, in every variant: a key
/// missing from the log, a logged substitute, rewritten history, a fork shown to one member, a rolled-back
/// log, a new signing key and a stale head. Each is caught by alice's client, bob's monitor or an auditor,
/// with the real server process, real SQLite file and real CLI. The operator's attacks are done the way a
/// malicious operator would: on the database file and the key file.
@Suite(.serialized) struct KeyTransparencyTests {
    func join(_ handles: [String], _ server: ServerProcess, _ invite: String) throws -> [CLIMember] {
        try handles.map { handle in
            let member = CLIMember(handle, server: server)
            try member.join(invite: invite)
            return member
        }
    }

    func audit(_ auditor: CLIMember, _ extra: [String] = []) throws -> CommandResult {
        try auditor.cli(["audit", "--server", auditor.server.url, "--program", "acme"] + extra)
    }

    /// A failing command: non-zero, one line naming `fragment`, and local state untouched.
    func expectRefusal(
        _ member: CLIMember, _ arguments: [String], _ fragment: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = try member.memberFacts()
        let result = try member.cli(arguments)
        #expect(result.status != 0, "\(arguments) succeeded", sourceLocation: sourceLocation)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(fragment), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(try member.memberFacts() == before, "\(arguments) changed local state", sourceLocation: sourceLocation)
    }

    @Test func anHonestLogPassesMonitorAndAuditAndRecordsEveryDirectoryChange() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let members = try join(["alice", "bob", "carol"], server, invite)
        let (alice, bob, carol) = (members[0], members[1], members[2])
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        #expect(
            try bob.ok(["key", "monitor"]).contains("verified 3 log entries; 1 for your handle, all yours in order"))
        let state = server.directory.appendingPathComponent("audit.json").path
        let first = try carol.ok(["audit", "--server", server.url, "--program", "acme", "--state", state])
        #expect(first.contains("entries replayed: 3 (from 0); live handles: 3"))
        // Suspension and reinstatement are directory changes: a leave and a join.
        _ = try server.admin(["member", "suspend", "--program", "acme", "bob"])
        _ = try server.admin(["member", "reinstate", "--program", "acme", "bob"])
        let second = try carol.ok(["audit", "--server", server.url, "--program", "acme", "--state", state])
        #expect(second.contains("entries replayed: 2 (from 3); live handles: 3"))
        #expect(try bob.ok(["key", "monitor"]).contains("verified 5 log entries; 3 for your handle"))
        // Heads gossiped between members are consistent with the auditor's view.
        let head = try alice.ok(["key", "head"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(head.hasPrefix("reciprocity-sth/v1 acme 5 "))
        let gossip = server.directory.appendingPathComponent("gossip.txt")
        try Data((head + "\n").utf8).write(to: gossip)
        #expect(try audit(carol, ["--gossip", gossip.path]).stdout.contains("gossiped heads consistent: 1"))
        #expect(try alice.ok(["interest", "add", "bob", "--as", "peer"]).contains("pending"))
    }

    @Test func aRotatedKeyIsLoggedAndPendingInterestsFollowItToAMatch() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let members = try join(["alice", "bob", "carol"], server, invite)
        let (alice, bob, carol) = (members[0], members[1], members[2])
        try alice.ok(["interest", "add", "bob", "--as", "mentor", "--pad-to", "3"])
        try bob.ok(["interest", "add", "alice", "--as", "peer", "--pad-to", "1"])
        let oldFingerprint = try alice.ok(["key", "fingerprint"])
        let newFingerprint = try alice.ok(["key", "rotate"])
        #expect(!newFingerprint.contains(oldFingerprint.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(
            !FileManager.default.fileExists(atPath: alice.home.path + "/127.0.0.1_\(server.port)/acme/private.key.next")
        )
        // The log holds both of alice's keys, in order; her monitor accepts both, the auditor the history.
        #expect(try alice.ok(["key", "monitor"]).contains("2 for your handle, all yours in order"))
        #expect(try audit(carol).stdout.contains("entries replayed: 4 (from 0); live handles: 3"))
        // Alice's old pending mark was replaced by one derived from the new key, with the padding; bob's
        // mark on alice is still the one derived from her old key.
        #expect(try server.count("SELECT COUNT(*) FROM mark") == 4)
        // Bob pinned alice's old key: he is asked to check, then his interests follow the new key.
        try expectRefusal(bob, ["interest", "add", "alice", "--as", "mentee"], "alice's key changed in the key log")
        try bob.ok(["key", "trust", "alice"])
        #expect(try alice.ok(["interest", "add", "bob", "--as", "peer"]).contains("matched"))
        #expect(try bob.ok(["interest", "add", "alice", "--as", "mentee"]).contains("matched"))
        #expect(try alice.matches().map { "\($0.handle) \($0.verified)" } == ["bob true", "bob true"])
        #expect(try bob.matches().map { "\($0.handle) \($0.verified)" } == ["alice true", "alice true"])
    }

    @Test func anInterruptedRotationIsFinishedWithTheSameKey() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = try join(["alice", "bob"], server, invite)[0]
        let folder = alice.home.appendingPathComponent("127.0.0.1_\(server.port)/acme")
        server.stop()
        #expect(try alice.cli(["key", "rotate"]).status != 0)
        // The new key was kept, and the old one is still the member's key.
        let text = try String(contentsOf: folder.appendingPathComponent("private.key.next"), encoding: .utf8)
        let next = try PrivateKey(
            rawRepresentation: Base64URL.decode(
                text.trimmingCharacters(in: .whitespacesAndNewlines), byteCount: 32, what: "key"))
        try server.start()
        #expect(try alice.ok(["key", "rotate"]).contains(next.publicKey.fingerprint))
        #expect(try alice.ok(["key", "fingerprint"]).contains(next.publicKey.fingerprint))
        #expect(try alice.ok(["key", "monitor"]).contains("2 for your handle"))
    }

    /// A key the directory serves that the log does not hold live is never used: alice derives from her
    /// verified replica of the log, so a substitute in the member table changes nothing.
    @Test func aKeyMissingFromTheLogIsNeverUsed() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let members = try join(["alice", "bob"], server, invite)
        let (alice, bob) = (members[0], members[1])
        try server.tamper(
            "UPDATE member SET public_key = ? WHERE handle = 'bob'", [try PrivateKey().publicKey.rawRepresentation])
        #expect(try alice.ok(["key", "fingerprint", "bob"]) == bob.ok(["key", "fingerprint"]))
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        // (A match names the counterpart's key from the member table: put it back, or the match is flagged.)
        try server.tamper(
            "UPDATE member SET public_key = (SELECT public_key FROM key_log WHERE handle = 'bob' ORDER BY idx DESC LIMIT 1) WHERE handle = 'bob'"
        )
        try bob.ok(["interest", "add", "alice", "--as", "mentee"])
        #expect(try alice.matches().contains { $0.handle == "bob" && $0.verified })
    }

    /// The log re-activates a key alice rotated away from (a thief of her old device with her old credential
    /// puts it back): her monitor and her next command catch it, whatever order the entries come in.
    @Test func aRetiredKeyPutBackIsCaughtByTheOwnersClient() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = try join(["alice", "bob"], server, invite)[0]
        let first: Data = try server.rows("SELECT public_key FROM member WHERE handle = 'alice'")[0]["public_key"]
        try alice.ok(["key", "rotate"])
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        let second: Data = try server.rows("SELECT public_key FROM member WHERE handle = 'alice'")[0]["public_key"]
        try server.appendLogEntry(.rotate, handle: "alice", key: first)
        try server.appendLogEntry(.rotate, handle: "alice", key: second)
        try expectRefusal(alice, ["key", "monitor"], "that this device did not make")
        try expectRefusal(alice, ["interest", "add", "bob", "--as", "peer"], "credential rotate")
    }

    @Test func aLoggedSubstituteIsCaughtByTheVictimsMonitorAndTheAuditor() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let members = try join(["alice", "bob", "carol"], server, invite)
        let (alice, bob, carol) = (members[0], members[1], members[2])
        // The operator retires bob's key and logs a key it controls in its place, following every rule.
        let real: Data = try server.rows("SELECT public_key FROM key_log WHERE handle = 'bob'")[0]["public_key"]
        let substitute = try PrivateKey().publicKey.rawRepresentation
        try server.tamper("UPDATE member SET public_key = ? WHERE handle = 'bob'", [substitute])
        try server.appendLogEntry(.leave, handle: "bob", key: real)
        try server.appendLogEntry(.join, handle: "bob", key: substitute)
        // Alice, who never met bob, cannot tell: the key is in a consistent log.
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        // Bob can: the log gives his handle a key that is not his.
        try expectRefusal(bob, ["key", "monitor"], "that this device did not make")
        // The auditor sees a legal history here; a second join without a leave is two live keys at once.
        #expect(try audit(carol).status == 0)
        try server.appendLogEntry(.join, handle: "carol", key: try PrivateKey().publicKey.rawRepresentation)
        let refused = try audit(carol)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("'carol' joins while it already has a live key"))
    }

    @Test func rewrittenHistoryIsAForkToEveryoneWhoSawTheOldHead() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let members = try join(["alice", "bob", "carol"], server, invite)
        let (alice, bob, carol) = (members[0], members[1], members[2])
        _ = try alice.ok(["key", "head"])
        let state = server.directory.appendingPathComponent("audit.json").path
        try carol.ok(["audit", "--server", server.url, "--program", "acme", "--state", state])
        let oldHead = try alice.ok(["key", "head"]).trimmingCharacters(in: .whitespacesAndNewlines)
        // Bob's join entry is rewritten to a key the operator controls, as if it had always been there.
        let substitute = try PrivateKey().publicKey.rawRepresentation
        try server.tamper("UPDATE member SET public_key = ? WHERE handle = 'bob'", [substitute])
        try server.tamper("UPDATE key_log SET public_key = ? WHERE handle = 'bob'", [substitute])
        try server.restart()
        try expectRefusal(alice, ["interest", "add", "bob", "--as", "mentor"], "forked or rewritten")
        // Bob's client saw the head of its own join: the rewrite is a fork to it before any replay.
        try expectRefusal(bob, ["key", "monitor"], "forked or rewritten")
        let audited = try audit(carol, ["--state", state])
        #expect(audited.status != 0 && audited.stderr.contains("forked or rewritten"))
        // A newcomer has no earlier head, but a head gossiped by anyone who saw the old log exposes it.
        let dave = try join(["dave"], server, invite)[0]
        let gossip = server.directory.appendingPathComponent("gossip.txt")
        try Data((oldHead + "\n").utf8).write(to: gossip)
        let compared = try audit(dave, ["--gossip", gossip.path])
        #expect(compared.status != 0 && compared.stderr.contains("forked or rewritten"))
        #expect(try server.count("SELECT COUNT(*) FROM mark") == 0)
    }

    @Test func aForkShownToOneMemberIsCaughtWhenHeadsMeet() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let members = try join(["alice", "bob", "carol"], server, invite)
        let (alice, carol) = (members[0], members[2])
        // The operator keeps the honest log aside and shows alice a fork in which bob has its key.
        server.stop()
        let files = [server.database, server.database + "-wal", server.database + "-shm"]
        for file in files where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.copyItem(atPath: file, toPath: file + ".honest")
        }
        let substitute = try PrivateKey().publicKey.rawRepresentation
        try server.tamper("UPDATE member SET public_key = ? WHERE handle = 'bob'", [substitute])
        try server.appendLogEntry(.rotate, handle: "bob", key: substitute)
        try server.start()
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        let forkedHead = try alice.ok(["key", "head"]).trimmingCharacters(in: .whitespacesAndNewlines)
        server.stop()
        for file in files {
            try? FileManager.default.removeItem(atPath: file)
            if FileManager.default.fileExists(atPath: file + ".honest") {
                try FileManager.default.moveItem(atPath: file + ".honest", toPath: file)
            }
        }
        try server.start()
        // Everyone else sees the honest log, which grows to the same size with another entry.
        _ = try join(["dave"], server, invite)
        let gossip = server.directory.appendingPathComponent("gossip.txt")
        try Data((forkedHead + "\n").utf8).write(to: gossip)
        let compared = try audit(carol, ["--gossip", gossip.path])
        #expect(compared.status != 0 && compared.stderr.contains("forked or rewritten"))
        // And alice's own client refuses the honest server's head: it is not an extension of hers.
        try expectRefusal(alice, ["key", "head"], "forked or rewritten")
    }

    @Test func aRolledBackLogIsRefused() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let members = try join(["alice", "bob"], server, invite)
        let (alice, bob) = (members[0], members[1])
        let backup = server.directory.appendingPathComponent("before-carol.sqlite").path
        _ = try server.admin(["backup", "--to", backup])
        _ = try join(["carol"], server, invite)
        #expect(try alice.ok(["key", "head"]).hasPrefix("reciprocity-sth/v1 acme 3 "))
        let state = server.directory.appendingPathComponent("audit.json").path
        try bob.ok(["audit", "--server", server.url, "--program", "acme", "--state", state])
        // The operator restores the older database: carol's join vanishes from the log.
        server.stop()
        _ = try server.admin(["restore", "--from", backup])
        try server.start()
        try expectRefusal(alice, ["key", "head"], "rolled-back")
        let audited = try audit(bob, ["--state", state])
        #expect(audited.status != 0 && audited.stderr.contains("rolled-back"))
    }

    @Test func aNewLogSigningKeyIsRefused() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = try join(["alice", "bob"], server, invite)[0]
        _ = try alice.ok(["key", "head"])
        server.stop()
        try FileManager.default.removeItem(atPath: server.logKeyFile)
        try server.start()
        try expectRefusal(alice, ["key", "head"], "not the key pinned at join")
        try expectRefusal(alice, ["interest", "add", "bob", "--as", "mentor"], "not the key pinned at join")
    }

    /// A server that keeps showing an old head (to hide later changes) is refused once the head is a day
    /// old; the server itself signs again at least hourly.
    @Test func aStaleHeadIsRefused() async throws {
        let key = try LogSigningKey()
        let now = Date()
        let dayAgo = UInt64((now.timeIntervalSince1970 - 25 * 3600) * 1000)
        let root = MerkleTree.root(leafHashes: [MerkleTree.leafHash([1])][...])
        let stale = try key.sign(program: try ProgramID("acme"), size: 1, root: root, timestamp: dayAgo)
        let unreachable = ServerAPI(baseURL: "http://127.0.0.1:9")
        await #expect(throws: ClientError.self) {
            _ = try await KeyLogChecks.check(
                stale, program: "acme", logKey: key.publicKey, previous: nil, api: unreachable)
        }
        do {
            _ = try await KeyLogChecks.check(
                stale, program: "acme", logKey: key.publicKey, previous: nil, api: unreachable)
        } catch let error as ClientError {
            #expect(error.code.rawValue == "log-stale-head")
        }
        // A head dated ahead of the clock by more than the skew allowed is refused too.
        let ahead = try key.sign(
            program: try ProgramID("acme"), size: 1, root: root,
            timestamp: UInt64((now.timeIntervalSince1970 + 3600) * 1000))
        do {
            _ = try await KeyLogChecks.check(
                ahead, program: "acme", logKey: key.publicKey, previous: nil, api: unreachable)
            Issue.record("a head dated an hour ahead was accepted")
        } catch let error as ClientError {
            #expect(error.code.rawValue == "log-future-head")
        }
        // A head gossiped by someone else that is larger than the one served here is evidence on its own,
        // refused before asking the server for any proof.
        let served = try key.sign(
            program: try ProgramID("acme"), size: 1, root: root, timestamp: UInt64(now.timeIntervalSince1970 * 1000))
        let larger = try key.sign(
            program: try ProgramID("acme"), size: 2, root: root, timestamp: UInt64(now.timeIntervalSince1970 * 1000))
        do {
            try await KeyLogChecks.checkGossip(
                [larger.text], against: served, program: try ProgramID("acme"), logKey: key.publicKey, api: unreachable)
            Issue.record("a larger gossiped head was accepted")
        } catch let error as ClientError {
            #expect(error.code.rawValue == "log-fork", "\(error.message)")
        }
        let fresh = try key.sign(
            program: try ProgramID("acme"), size: 1, root: root, timestamp: UInt64(now.timeIntervalSince1970 * 1000))
        #expect(
            try await KeyLogChecks.check(fresh, program: "acme", logKey: key.publicKey, previous: nil, api: unreachable)
                == fresh)
        // Another program's head, or one signed by another key, is refused too.
        let other = try LogSigningKey().sign(
            program: try ProgramID("acme"), size: 1, root: root, timestamp: UInt64(now.timeIntervalSince1970 * 1000))
        await #expect(throws: ClientError.self) {
            _ = try await KeyLogChecks.check(
                other, program: "acme", logKey: key.publicKey, previous: nil, api: unreachable)
        }
    }
}
