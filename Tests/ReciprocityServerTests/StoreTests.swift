import Foundation
import GRDB
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
@testable import ReciprocityStore
import Testing

/// Storage guarantees, checked on a real SQLite file.
@Suite struct StoreTests {
    /// Joins `count` members to a fresh program directly through the store.
    func members(_ harness: Harness, count: Int, maxMarks: Int = 16) async throws -> (ProgramRecord, [MemberRecord]) {
        let program = try await harness.store.createProgram(name: ProgramID("acme"), maxMarks: maxMarks, epoch: 0)
        let invite = try BearerSecret.generate(.invite)
        _ = try await harness.store.createInvite(program: program.name, codeDigest: invite.digest, uses: count, expiresAt: nil)
        var members: [MemberRecord] = []
        for index in 0..<count {
            let (member, _) = try await harness.store.join(
                program: program.name, inviteDigest: invite.digest, handle: Handle("member\(index)"),
                publicKey: try PrivateKey().publicKey, profile: Profile(displayName: "M\(index)"),
                credentialDigest: try BearerSecret.generate(.memberCredential).digest, now: Date())
            members.append(member)
        }
        return (program, members)
    }

    @Test func concurrentReciprocalSubmissionsGiveExactlyOneMatchPerPair() async throws {
        let harness = try Harness()
        let pairs = 100
        let (program, members) = try await members(harness, count: pairs * 2)
        let marks = try (0..<pairs).map { _ in try Mark.dummy() }
        // Both members of each pair submit the same token at the same moment, 200 writers racing.
        let outcomes = try await withThrowingTaskGroup(of: (Int, MarkOutcome).self) { group in
            for pair in 0..<pairs {
                for side in 0..<2 {
                    let member = members[pair * 2 + side]
                    let mark = Mark(token: marks[pair].token, tag: try .random())
                    group.addTask {
                        let result = try await harness.store.submitMarks(
                            memberID: member.id, programID: program.id, epoch: 0, marks: [mark], now: Date())
                        return (pair, result[0])
                    }
                }
            }
            return try await group.reduce(into: [Int: [MarkOutcome]]()) { $0[$1.0, default: []].append($1.1) }
        }
        for pair in 0..<pairs {
            #expect(outcomes[pair]?.sorted { $0.rawValue < $1.rawValue } == [.matched, .pending], "pair \(pair)")
            #expect(try await harness.store.matches(memberID: members[pair * 2].id).count == 1)
            #expect(try await harness.store.matches(memberID: members[pair * 2 + 1].id).count == 1)
        }
        let statistics = try await harness.store.statistics()
        #expect(statistics.matches == pairs && statistics.pendingMarks == 0)
    }

    @Test func racingBatchesCannotExceedTheQuota() async throws {
        let harness = try Harness()
        let (program, members) = try await members(harness, count: 1, maxMarks: 10)
        let member = members[0]
        let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 {
                let batch = [try Mark.dummy(), try Mark.dummy(), try Mark.dummy()]
                group.addTask {
                    do {
                        _ = try await harness.store.submitMarks(
                            memberID: member.id, programID: program.id, epoch: 0, marks: batch, now: Date())
                        return true
                    } catch let error as StoreError where error.code == .quotaExceeded {
                        return false
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(accepted == 3)
        #expect(try await harness.store.pendingMarks(memberID: member.id).count == 9)
    }

    @Test func acknowledgedMarksSurviveReopeningTheFile() async throws {
        let harness = try Harness()
        let (program, members) = try await members(harness, count: 3)
        let marks = try (0..<5).map { _ in try Mark.dummy() }
        _ = try await harness.store.submitMarks(
            memberID: members[0].id, programID: program.id, epoch: 0, marks: marks, now: Date())
        _ = try await harness.store.submitMarks(
            memberID: members[1].id, programID: program.id, epoch: 0, marks: [marks[0]], now: Date())
        // A second, independent connection pool on the same file, as after a restart.
        let reopened = try SQLiteStore(path: harness.databasePath)
        #expect(Set(try await reopened.pendingMarks(memberID: members[0].id).map(\.token)) == Set(marks.dropFirst().map(\.token)))
        #expect(try await reopened.matches(memberID: members[1].id).map(\.counterpartHandle) == [members[0].handle])
    }

    /// Every row of every table, as "table: column=value" lines.
    func dump(_ path: String) throws -> Set<String> {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            var lines: Set<String> = []
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            for table in tables {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"") {
                    let cells = row.columnNames.map { name -> String in
                        let value = row[name] as DatabaseValue
                        if case .blob(let data) = value.storage { return "\(name)=x'\(Hex.encode(data))'" }
                        return "\(name)=\(value)"
                    }
                    lines.insert("\(table): " + cells.joined(separator: " "))
                }
            }
            return lines
        }
    }

    @Test func anUnreciprocatedMarkLeavesNoTraceOfItsTarget() async throws {
        let harness = try Harness()
        let (program, members) = try await members(harness, count: 3)
        let alice = members[0], bob = members[1]
        let before = try dump(harness.databasePath)
        // alice marks bob as her mentor; bob does nothing.
        let mark = try KeySchedule.derive(
            context: InterestContext(program: program.name, relation: .mentorship, epoch: 0), me: PrivateKey(),
            handle: alice.handle, role: .mentee, other: Party(handle: bob.handle, publicKey: bob.publicKey)).mark
        _ = try await harness.store.submitMarks(
            memberID: alice.id, programID: program.id, epoch: 0, marks: [mark], now: Date())
        let added = try dump(harness.databasePath).subtracting(before)
        #expect(added.count == 1)
        let row = try #require(added.first)
        #expect(row.hasPrefix("mark: "))
        #expect(row.contains("member_id=\(alice.id)"))
        #expect(row.contains(Hex.encode(mark.token.bytes)) && row.contains(Hex.encode(mark.tag.bytes)))
        // Nothing in what the mark added names or points to bob.
        #expect(!row.contains(bob.handle.rawValue))
        #expect(!row.contains(Hex.encode(bob.publicKey.rawRepresentation)))
        #expect(!row.contains("=\(bob.id) ") && !row.hasSuffix("=\(bob.id)"))
        let columns = row.dropFirst("mark: ".count).split(separator: " ").map { $0.split(separator: "=")[0] }
        #expect(columns == ["token", "program_id", "epoch", "member_id", "tag", "created_at", "note"])
        // Withdrawing deletes the row: the dump is what it was before.
        #expect(try await harness.store.withdraw(memberID: alice.id, token: mark.token))
        #expect(try dump(harness.databasePath) == before)
    }

    @Test func membersFromBeforeTheKeyLogGetEntriesInJoinOrder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("v2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path
        let (early, late) = (try PrivateKey().publicKey, try PrivateKey().publicKey)
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v2-sealed-notes")
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 0, 0)")
            for (id, handle, key, status, joined) in [
                (7, "zed", late, "suspended", 2000), (8, "amy", early, "active", 1000),
            ] as [(Int, String, PublicKey, String, Int)] {
                try db.execute(
                    sql: """
                        INSERT INTO member (id, program_id, handle, public_key, credential_digest, display_name, headline,
                                            offers_mentoring, seeks_mentoring, status, joined_at)
                        VALUES (?, 1, ?, ?, randomblob(32), 'X', '', 0, 0, ?, ?)
                        """, arguments: [id, handle, key.rawRepresentation, status, joined])
            }
        }
        try queue.close()
        let store = try SQLiteStore(path: path)
        let entries = try await store.keyLog(programID: 1, from: 0, limit: 10)
        #expect(entries.map { "\($0.index) \($0.entry.event.rawValue) \($0.entry.handle)" }
            == ["0 join amy", "1 join zed", "2 leave zed"])
        #expect(entries.map(\.entry.publicKey) == [early, late, late])
    }
}
