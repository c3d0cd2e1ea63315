import Foundation
import ReciprocityAPI
import ReciprocityCore
import ReciprocityPostgres
import ReciprocitySQLite
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// `reciprocityd admin copy`: the path off SQLite, run as an operator runs it, on real files and a real
/// PostgreSQL server.
@Suite struct CopyTests {
    @Test(arguments: Backend.postgresOnly)
    func aCopyCarriesEverythingAndMembersSeeTheSameLog(_ backend: Backend) async throws {
        let harness = try Harness()
        let sqlite = harness.sqlite
        let (program, members) = try await StoreHarness.members(sqlite, count: 6)
        let spare = try await sqlite.createInvite(
            program: program.name, codeDigest: try BearerSecret.generate(.invite).digest, uses: 3, expiresAt: nil)
        // An organizer (its grant and an audit entry) and a revoked invite (another entry) come along too.
        let organizerCredential = try BearerSecret.generate(.organizerCredential)
        let organizer = try await sqlite.createOrganizer(
            name: "lead", credentialDigest: organizerCredential.digest, programs: [program.name], actor: .operator,
            now: Date())
        _ = try await sqlite.revokeInvite(
            program: program.name, id: spare.id,
            audit: AuditEvent(actor: .organizer("lead"), action: .inviteRevoked, subject: spare.id))
        let shared = try Mark.dummy()
        _ = try await sqlite.submitMarks(
            memberID: members[0].id, programID: program.id, epoch: 0, marks: [shared, try .dummy()], now: Date())
        _ = try await sqlite.submitMarks(
            memberID: members[1].id, programID: program.id, epoch: 0,
            marks: [Mark(token: shared.token, tag: try .random())], now: Date())
        for sender in [members[0], members[1], members[0]] {
            _ = try await sqlite.postMessage(
                memberID: sender.id, programID: program.id, token: shared.token,
                envelope: Data(
                    [MessageEnvelope.version] + (1..<MessageEnvelope.lengths[1]).map { _ in .random(in: 0...255) }),
                limits: ConversationLimits(), now: Date())
        }
        try await sqlite.report(
            memberID: members[1].id, programID: program.id, token: shared.token, reason: "Rude.", messages: "[]",
            now: Date())
        // The email notice queue comes along: two match notices, two message notices, and the records of which
        // match and which conversation had theirs, so that the copy does not queue them again.
        try await sqlite.setEmail(memberID: members[0].id, email: "a@example.test")
        try await sqlite.setEmail(memberID: members[1].id, email: "b@example.test")
        #expect(try await sqlite.queueMatchNotices(since: Date() - 3600, now: Date(), spread: 0) == 2)
        #expect(try await sqlite.queueMessageNotices(since: Date() - 3600, now: Date(), spread: 0) == 2)
        let sentNotice = try #require(try await sqlite.claimNotice(now: Date(), lease: 60))
        try await sqlite.noticeSent(id: sentNotice.id, now: Date())
        _ = try await sqlite.rotateKey(memberID: members[2].id, publicKey: try PrivateKey().publicKey, now: Date())
        _ = try await sqlite.setStatus(program: program.name, handle: members[3].handle, status: .suspended)
        let about = ProgramAbout(description: "Caf\u{e9} mentoring.", conduct: "1. Be kind.\n2. No spam.")
        _ = try await sqlite.setAbout(program: program.name, about: about)
        let nextRound = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 86_400).rounded())
        _ = try await sqlite.scheduleRound(program: program.name, at: nextRound, audit: nil)
        _ = try await sqlite.updateProfile(
            memberID: members[4].id,
            profile: Profile(displayName: "Ünïcode", headline: "h", tags: ["a", "b"], offersMentoring: true))
        let replicated = try await sqlite.profileChanges(programID: program.id, since: nil, limit: 1000)
        try sqlite.close()

        let target = try await PostgresTestDatabase.create()
        let output = try Reciprocityd.run(["admin", "copy", "--from", harness.databasePath, "--to", target.url])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(
            output.stdout.contains(
                ": 1 program, 2 invite, 6 member, 2 member_tag, 8 key_log, 1 mark, 1 match, 1 organizer, 1 organizer_program, 1 audit_counter, 2 audit_entry, 1 conversation, 3 message, 1 report, 4 notice, 2 match_notice, 2 conversation_notice; every program's key-log root verified"
            ),
            "\(output.stdout)")
        #expect(!output.stdout.contains(target.location.password ?? "-"))

        let source = try SQLiteStore(path: harness.databasePath)
        let copy = try await target.store()
        let statistics = try await copy.statistics()
        #expect(statistics.matches == 1 && statistics.pendingMarks == 1 && statistics.members == 6)
        #expect(try await copy.programs() == source.programs())
        #expect(try await copy.programs().map(\.about) == [about])
        #expect(try await copy.programs().map(\.nextRoundAt) == [nextRound], "a scheduled round is carried")
        #expect(try await copy.members(programID: program.id) == source.members(programID: program.id))
        #expect(try await copy.organizer(credentialDigest: organizerCredential.digest) == organizer)
        #expect(try await copy.invites(programID: program.id) == source.invites(programID: program.id))
        let log = try await source.auditLog(programID: program.id, before: nil, limit: 10)
        #expect(log.map(\.action) == ["invite-revoked", "organizer-granted"])
        #expect(try await copy.auditLog(programID: program.id, before: nil, limit: 10) == log)
        for member in members {
            #expect(try await copy.pendingMarks(memberID: member.id) == source.pendingMarks(memberID: member.id))
            #expect(
                try await copy.matches(memberID: member.id, after: nil, limit: 100)
                    == source.matches(memberID: member.id, after: nil, limit: 100))
            #expect(
                try await copy.conversations(memberID: member.id, after: nil, limit: 100)
                    == source.conversations(memberID: member.id, after: nil, limit: 100))
        }
        for member in members[0...1] {
            let read = try await copy.messages(
                memberID: member.id, programID: program.id, token: shared.token, after: 0, limit: 10)
            #expect(read.messages.count == 3)
            #expect(
                try await source.messages(
                    memberID: member.id, programID: program.id, token: shared.token, after: 0, limit: 10) == read)
        }
        #expect(try await copy.reports(programID: program.id) == source.reports(programID: program.id))
        #expect(try await copy.noticeCounts() == ["queued": 3, "sent": 1])
        #expect(try await copy.noticeCounts() == source.noticeCounts())
        #expect(try await copy.email(memberID: members[1].id) == "b@example.test")
        #expect(try await copy.queueMatchNotices(since: Date() - 3600, now: Date(), spread: 0) == 0)
        #expect(try await copy.queueMessageNotices(since: Date() - 3600, now: Date(), spread: 0) == 0)
        // The conversation continues on the copy after its copied sequence numbers.
        let next = try await copy.postMessage(
            memberID: members[1].id, programID: program.id, token: shared.token,
            envelope: Data(
                [MessageEnvelope.version] + (1..<MessageEnvelope.lengths[0]).map { _ in .random(in: 0...255) }),
            limits: ConversationLimits(), now: Date())
        #expect(next.seq == 4)
        #expect(
            try await copy.keyLog(programID: program.id, from: 0, limit: 100)
                == source.keyLog(programID: program.id, from: 0, limit: 100))
        // The directory's versions come along, under a new generation: a replica synced from the source starts
        // over on the copy rather than continue from versions the copy's own changes will reuse.
        let onCopy = try await copy.profileChanges(programID: program.id, since: replicated.cursor, limit: 1000)
        #expect(
            onCopy.reset && onCopy.changes == replicated.changes && onCopy.cursor.version == replicated.cursor.version)
        #expect(onCopy.cursor.generation != replicated.cursor.generation)
        // New rows continue after the copied ids, and the copy takes joins.
        let invite = try BearerSecret.generate(.invite)
        _ = try await copy.createInvite(program: program.name, codeDigest: invite.digest, uses: 1, expiresAt: nil)
        let (late, _) = try await copy.join(
            program: program.name, inviteDigest: invite.digest, handle: Handle("late"),
            publicKey: try PrivateKey().publicKey,
            profile: Profile(displayName: "L"), credentialDigest: try BearerSecret.generate(.memberCredential).digest,
            now: Date())
        #expect(late.id > members.map(\.id).max()!)
        _ = try await copy.revokeOrganizer(name: "lead", actor: .operator, now: Date())
        #expect(try await copy.auditLog(programID: program.id, before: nil, limit: 1).first!.id > log[0].id)
        #expect(try await copy.keyLog(programID: program.id, from: 0, limit: 100).count == 9)
        let afterJoin = try await copy.profileChanges(programID: program.id, since: onCopy.cursor, limit: 1000)
        #expect(afterJoin.changes.map { "\($0.version) \($0.handle)" } == ["\(onCopy.cursor.version + 1) late"])

        // A second copy into the now non-empty database is refused, in one line, and changes nothing.
        let again = try Reciprocityd.run(["admin", "copy", "--from", harness.databasePath, "--to", target.url])
        #expect(
            again.status == 1 && again.stderr.contains("not empty") && again.stderr.split(separator: "\n").count == 1,
            "\(again.stderr)")
        #expect(try await copy.statistics().members == 7)
        // A notice queued on the copy takes the id after the copied ones (1 to 4).
        #expect(
            try await copy.queueReminder(
                programID: program.id, memberIDs: [members[0].id], kind: .completeProfile, actor: .operator,
                now: Date()) == 1)
        var claimedIDs: [Int64] = []
        while let notice = try await copy.claimNotice(now: Date() + 1, lease: 60) { claimedIDs.append(notice.id) }
        #expect(claimedIDs.count == 4 && claimedIDs.max() == 5, "\(claimedIDs)")
        await copy.close()
        await target.drop()
    }

    @Test func badCopyArgumentsAreOneLine() throws {
        for arguments in [
            ["admin", "copy", "--from", "/nonexistent.sqlite", "--to", "postgres://u@127.0.0.1:1/x"],
            ["admin", "copy", "--from", "/dev/null", "--to", "/tmp/not-a-url"],
        ] {
            let result = try Reciprocityd.run(arguments)
            #expect(
                result.status == 1 && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
    }
}

extension Reciprocityd {
    /// Runs the executable to completion.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = binDirectory.appendingPathComponent("reciprocityd")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }
}
