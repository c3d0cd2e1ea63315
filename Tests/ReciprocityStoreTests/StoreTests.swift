import Foundation
import GRDB
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

@testable import ReciprocitySQLite

/// What only the SQLite backend has: its files, WAL scrubbing, file modes and its migrations from older
/// schemas. The guarantees every backend gives are in StoreConformanceTests.
@Suite struct StoreTests {
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
        let harness = try StoreHarness()
        let (program, members) = try await StoreHarness.members(harness.store, count: 3)
        let alice = members[0]
        let bob = members[1]
        let before = try dump(harness.databasePath)
        // alice marks bob as her mentor; bob does nothing.
        let mark = try KeySchedule.derive(
            context: InterestContext(program: program.name, relation: .mentorship, epoch: 0), me: PrivateKey(),
            handle: alice.handle, role: .mentee, other: Party(handle: bob.handle, publicKey: bob.publicKey)
        ).mark
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
        #expect(columns == ["program_id", "epoch", "token", "member_id", "tag", "note", "created_at"])
        // In the WAL, or already in the database file: every group of submissions ends with a WAL scrub, which
        // a submission that deleted nothing does not wait for.
        let holding = try filesHolding(mark.token.bytes, in: harness.directory)
        #expect(!holding.isEmpty && Set(holding).isSubset(of: ["test.sqlite", "test.sqlite-wal"]), "\(holding)")
        // Withdrawing deletes the row: the dump is what it was before, and no file of the database, WAL and
        // shared memory included, still holds the token's bytes.
        #expect(try await harness.store.withdraw(memberID: alice.id, token: mark.token))
        #expect(try dump(harness.databasePath) == before)
        #expect(try filesHolding(mark.token.bytes, in: harness.directory).isEmpty)
    }

    @Test func aWithdrawnTokenLeavesEveryFileEvenAfterACheckpoint() async throws {
        let harness = try StoreHarness()
        let (program, members) = try await StoreHarness.members(harness.store, count: 2)
        let marks = try (0..<8).map { _ in try Mark.dummy() }
        _ = try await harness.store.submitMarks(
            memberID: members[0].id, programID: program.id, epoch: 0, marks: marks, now: Date())
        // Move the marks into the main file first, as SQLite's automatic checkpoint eventually does.
        await harness.sqlite.scrubWAL()
        #expect(try filesHolding(marks[0].token.bytes, in: harness.directory) == ["test.sqlite"])
        #expect(try await harness.store.withdraw(memberID: members[0].id, token: marks[0].token))
        #expect(try filesHolding(marks[0].token.bytes, in: harness.directory).isEmpty)
        #expect(try filesHolding(marks[1].token.bytes, in: harness.directory) == ["test.sqlite"])
        // The same after a key rotation, which deletes every pending mark of the member.
        _ = try await harness.store.rotateKey(memberID: members[0].id, publicKey: PrivateKey().publicKey, now: Date())
        for mark in marks { #expect(try filesHolding(mark.token.bytes, in: harness.directory).isEmpty) }
    }

    @Test func databaseFilesAndBackupsAreOwnerOnlyWhateverTheUmask() async throws {
        let previous = umask(0o022)
        defer { umask(previous) }
        let harness = try StoreHarness()
        let (program, members) = try await StoreHarness.members(harness.store, count: 1)
        _ = try await harness.store.submitMarks(
            memberID: members[0].id, programID: program.id, epoch: 0, marks: [try Mark.dummy()], now: Date())
        let backup = harness.directory.appendingPathComponent("backup.sqlite").path
        try harness.sqlite.backup(to: backup)
        for name in ["test.sqlite", "test.sqlite-wal", "test.sqlite-shm", "backup.sqlite"] {
            let attributes = try FileManager.default.attributesOfItem(
                atPath: harness.directory.appendingPathComponent(name).path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(name)")
        }
        // An existing database made before this rule is tightened when it is opened.
        let old = harness.directory.appendingPathComponent("old.sqlite").path
        FileManager.default.createFile(atPath: old, contents: nil, attributes: [.posixPermissions: 0o644])
        _ = try SQLiteStore(path: old)
        #expect((try FileManager.default.attributesOfItem(atPath: old)[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aMatchLeavesNoCopyOfTheFirstMarkersPendingRow() async throws {
        let harness = try StoreHarness()
        let (program, members) = try await StoreHarness.members(harness.store, count: 2)
        // The second member (higher id) marks first; SQLite's own checkpoint moves the row into the main file.
        let first = try Mark.dummy()
        _ = try await harness.store.submitMarks(
            memberID: members[1].id, programID: program.id, epoch: 0, marks: [first], now: Date())
        await harness.sqlite.scrubWAL()
        let answer = Mark(token: first.token, tag: try .random())
        #expect(
            try await harness.store.submitMarks(
                memberID: members[0].id, programID: program.id, epoch: 0, marks: [answer], now: Date()) == [.matched])
        // Only the match row holds the first marker's tag now: the deleted pending row (who marked first, and
        // when) is in no file.
        #expect(try filesHolding(first.tag.bytes, in: harness.directory) == ["test.sqlite"])
        let dump = try dump(harness.databasePath)
        #expect(dump.filter { $0.contains(Hex.encode(first.tag.bytes)) }.count == 1)
        #expect(try await harness.sqlite.read { db in try Int.fetchOne(db, sql: "PRAGMA secure_delete") } == 1)
    }

    /// Four submissions queue while the writer is busy, so they form one group. The first withdraws one of
    /// its member's two pending marks and is refused (over quota): nothing of it is applied, the withdrawal
    /// included; the others commit, and the match made between two of them is made.
    @Test func aRefusedSubmissionChangesNothingAndItsGroupCommits() async throws {
        let harness = try StoreHarness()
        let (program, members) = try await StoreHarness.members(harness.store, count: 4, maxMarks: 2)
        let store = harness.store
        @Sendable func submit(_ member: Int, _ marks: [Mark], withdrawing: [InterestToken] = []) async throws
            -> [MarkOutcome]
        {
            try await store.submitMarks(
                memberID: members[member].id, programID: program.id, epoch: 0, marks: marks, withdrawing: withdrawing,
                now: Date()
            ).outcomes
        }
        let held = [try Mark.dummy(), try Mark.dummy()]
        _ = try await submit(0, held)
        let shared = try Mark.dummy()
        let answer = Mark(token: shared.token, tag: try .random())
        let over = try (0..<3).map { _ in try Mark.dummy() }
        let other = try Mark.dummy()

        let gate = holdWriter(harness)
        let refused = try await queued(harness) { try await submit(0, over, withdrawing: [held[0].token]) }
        let first = try await queued(harness) { try await submit(1, [shared]) }
        let second = try await queued(harness) { try await submit(2, [answer]) }
        let third = try await queued(harness) { try await submit(3, [other]) }
        #expect(harness.sqlite.submissions.queued == 4)
        gate.signal()

        await #expect(throws: StoreError.quotaExceeded(maxMarks: 2)) { try await refused.value }
        #expect(try await first.value == [.pending])
        #expect(try await second.value == [.matched])
        #expect(try await third.value == [.pending])
        #expect(Set(try await store.pendingMarks(memberID: members[0].id).map(\.token)) == Set(held.map(\.token)))
        #expect(try await store.pendingMarks(memberID: members[1].id).isEmpty)
        #expect(try await store.matches(memberID: members[1].id, after: nil, limit: 10).map(\.token) == [shared.token])
        #expect(try await store.pendingMarks(memberID: members[3].id).map(\.token) == [other.token])
    }

    /// The disk fills up in the middle of a group (SQLite's `max_page_count` stands in for a full disk): the
    /// submission that did not fit fails with nothing of it stored, and the two around it commit.
    @Test func aFullDiskFailsOnlyTheSubmissionThatDidNotFit() async throws {
        let harness = try StoreHarness()
        let (program, members) = try await StoreHarness.members(harness.store, count: 3, maxMarks: 64)
        let store = harness.store
        @Sendable func submit(_ member: Int, _ count: Int) async throws -> [MarkOutcome] {
            try await store.submitMarks(
                memberID: members[member].id, programID: program.id, epoch: 0,
                marks: try (0..<count).map { _ in try Mark.dummy() }, now: Date())
        }
        try await harness.sqlite.pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")!
            try db.execute(sql: "PRAGMA max_page_count = \(pages + 1)")
        }
        let gate = holdWriter(harness)
        let small = try await queued(harness) { try await submit(0, 1) }
        let large = try await queued(harness) { try await submit(1, 40) }
        let last = try await queued(harness) { try await submit(2, 1) }
        gate.signal()

        #expect(try await small.value == [.pending])
        await #expect(throws: (any Error).self) { try await large.value }
        #expect(try await last.value == [.pending])
        #expect(try await store.pendingMarks(memberID: members[0].id).count == 1)
        #expect(try await store.pendingMarks(memberID: members[1].id).isEmpty)
        #expect(try await store.pendingMarks(memberID: members[2].id).count == 1)
        #expect(try await harness.sqlite.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") } == ["ok"])
    }

    /// The writer never copies the WAL into the database file below 8,000 pages: past 1,000, the background
    /// connection does. Submissions that only add marks (no delete, so no scrub) fill the WAL past 1,000 pages;
    /// their pages then reach the main file with no checkpoint asked for.
    @Test func theWALIsCopiedIntoTheDatabaseFileBesideTheWriter() async throws {
        let harness = try StoreHarness()
        let (program, members) = try await StoreHarness.members(harness.store, count: 10, maxMarks: 10_000)
        let mainFile = { (try? FileManager.default.attributesOfItem(atPath: harness.databasePath)[.size] as? Int) ?? 0 }
        let before = mainFile()
        try await addMarks(harness, program, members, requests: 120)
        let deadline = ContinuousClock.now + .seconds(10)
        while mainFile() < before + (1 << 20), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        // 2,400 marks of about 640 bytes each: more than 1 MiB of pages in the main file.
        #expect(mainFile() >= before + (1 << 20), "main file \(before) -> \(mainFile()) bytes")
        #expect(try await harness.sqlite.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") } == ["ok"])
    }

    /// A withdrawal while the background checkpoint copies a long WAL: SQLite would refuse the scrub's own
    /// checkpoint at once, so the scrub waits for the other one, and the withdrawn token is still in no file.
    @Test func aWithdrawalDuringABackgroundCheckpointIsStillScrubbed() async throws {
        let harness = try StoreHarness()
        let (program, members) = try await StoreHarness.members(harness.store, count: 10, maxMarks: 10_000)
        let withdrawn = try Mark.dummy()
        _ = try await harness.store.submitMarks(
            memberID: members[0].id, programID: program.id, epoch: 0, marks: [withdrawn], now: Date())
        // Several hundred WAL pages, under the 1,000 that start a background checkpoint by themselves.
        try await addMarks(harness, program, members, requests: 25)
        harness.sqlite.checkpoint.start()
        #expect(try await harness.store.withdraw(memberID: members[0].id, token: withdrawn.token))
        #expect(try filesHolding(withdrawn.token.bytes, in: harness.directory).isEmpty)
    }

    /// `requests` submissions of 20 new marks each (inserts only: no scrub), the members taking turns.
    func addMarks(_ harness: StoreHarness, _ program: ProgramRecord, _ members: [MemberRecord], requests: Int)
        async throws
    {
        for round in 0..<requests {
            _ = try await harness.store.submitMarks(
                memberID: members[round % members.count].id, programID: program.id, epoch: 0,
                marks: try (0..<20).map { _ in try Mark.dummy() }, now: Date())
        }
    }

    /// Blocks the store's writer until the returned semaphore is signalled, so that submissions queue up.
    func holdWriter(_ harness: StoreHarness) -> DispatchSemaphore {
        let gate = DispatchSemaphore(value: 0)
        harness.sqlite.pool.asyncWriteWithoutTransaction { _ in gate.wait() }
        return gate
    }

    /// Starts a submission and waits until it is queued for the next group, so a group holds them in order.
    func queued(_ harness: StoreHarness, _ body: @escaping @Sendable () async throws -> [MarkOutcome]) async throws
        -> Task<[MarkOutcome], any Error>
    {
        let submissions = harness.sqlite.submissions
        let before = submissions.queued
        let task = Task { try await body() }
        let deadline = ContinuousClock.now + .seconds(10)
        while submissions.queued == before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
        return task
    }

    @Test func aSuspendedMemberHoldsNoPendingMarksAndCannotAddAny() async throws {
        let harness = try StoreHarness()
        let path = harness.directory.appendingPathComponent("v3.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v3-key-log")
        let waiting = try Mark.dummy()
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 0, 0)")
            for (id, handle, status) in [(7, "zed", "suspended"), (8, "amy", "active")] {
                try db.execute(
                    sql: """
                        INSERT INTO member (id, program_id, handle, public_key, credential_digest, display_name, headline,
                                            offers_mentoring, seeks_mentoring, status, joined_at)
                        VALUES (?, 1, ?, randomblob(32), randomblob(32), 'N', '', 0, 0, ?, 0)
                        """, arguments: [id, handle, status])
            }
            try db.execute(
                sql:
                    "INSERT INTO mark (token, program_id, epoch, member_id, tag, created_at) VALUES (?, 1, 0, 7, ?, 6)",
                arguments: [waiting.token.rawRepresentation, waiting.tag.rawRepresentation])
        }
        try queue.close()
        // A member suspended before the upgrade loses the pending mark they held, so it cannot match...
        let store = try SQLiteStore(path: path)
        let outcome = try await store.submitMarks(
            memberID: 8, programID: 1, epoch: 0, marks: [Mark(token: waiting.token, tag: try .random())], now: Date())
        #expect(outcome == [.pending])
        // ...and a submission that passed authentication just before a suspension is refused in its transaction.
        await #expect(throws: StoreError(.memberSuspended, "this member is suspended")) {
            _ = try await store.submitMarks(memberID: 7, programID: 1, epoch: 0, marks: [try Mark.dummy()], now: Date())
        }
    }

    /// Ending a conversation deletes its envelopes from every file, those already checkpointed into the database
    /// file and those still in the WAL; another conversation's stay until housekeeping deletes them with their
    /// match.
    @Test func anEndedConversationLeavesNoEnvelopeInAnyFile() async throws {
        let harness = try StoreHarness()
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 4)
        let ending = try await StoreConformanceTests.match(store, m[0], m[1], in: program)
        let kept = try await StoreConformanceTests.match(store, m[2], m[3], in: program)
        func post(_ member: MemberRecord, _ token: InterestToken, size: Int) async throws -> Data {
            let envelope = StoreConformanceTests.envelope(size: MessageEnvelope.lengths[size])
            _ = try await store.postMessage(
                memberID: member.id, programID: program.id, token: token, envelope: envelope,
                limits: ConversationLimits(), now: Date())
            return envelope
        }
        var ended: [Data] = []
        for size in [0, 1, 2] { ended.append(try await post(m[size % 2], ending, size: size)) }
        let other = try await post(m[2], kept, size: 0)
        await harness.sqlite.scrubWAL()
        for size in [0, 1, 2] { ended.append(try await post(m[size % 2], ending, size: size)) }
        // 32 bytes from inside each envelope (a large one spans pages, so not the whole of it).
        func needle(_ envelope: Data) -> [UInt8] { Array(envelope[50..<82]) }
        // The first three are in the database file (and in the WAL too where a later message rewrote their page).
        #expect(try filesHolding(needle(ended[0]), in: harness.directory).first == "test.sqlite")
        #expect(try filesHolding(needle(ended[3]), in: harness.directory) == ["test.sqlite-wal"])
        try await store.endConversation(memberID: m[1].id, programID: program.id, token: ending, now: Date())
        for envelope in ended {
            #expect(try filesHolding(needle(envelope), in: harness.directory).isEmpty)
        }
        #expect(try filesHolding(needle(other), in: harness.directory) == ["test.sqlite"])
        _ = try await store.setEpoch(program: program.name, epoch: 1)
        #expect(try await store.purge(now: Date().addingTimeInterval(10), matchRetention: 1).conversations == 2)
        #expect(try filesHolding(needle(other), in: harness.directory).isEmpty)
    }

    /// A report's texts are member data in clear: a replaced report's and a purged report's leave no file, those
    /// already checkpointed into the database file and those still in the WAL.
    @Test func aReplacedOrPurgedReportLeavesNoTextInAnyFile() async throws {
        let harness = try StoreHarness()
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 2)
        let token = try await StoreConformanceTests.match(store, m[0], m[1], in: program)
        func text(_ name: String) -> String { "\(name)-" + UUID().uuidString }
        func report(_ member: MemberRecord, reason: String, quote: String, at now: Date) async throws {
            try await store.report(
                memberID: member.id, programID: program.id, token: token, reason: reason,
                messages: #"[{"seq":1,"fromMe":false,"text":"\#(quote)"}]"#, now: now)
        }
        let start = Date()
        let (firstReason, firstQuote) = (text("reason"), text("quote"))
        try await report(m[0], reason: firstReason, quote: firstQuote, at: start)
        await harness.sqlite.scrubWAL()
        #expect(try filesHolding(Array(firstQuote.utf8), in: harness.directory) == ["test.sqlite"])
        let (replacingReason, replacingQuote) = (text("reason"), text("quote"))
        try await report(m[0], reason: replacingReason, quote: replacingQuote, at: start)
        for gone in [firstReason, firstQuote] {
            #expect(try filesHolding(Array(gone.utf8), in: harness.directory).isEmpty, "\(gone)")
        }
        let (otherReason, otherQuote) = (text("reason"), text("quote"))
        try await report(m[1], reason: otherReason, quote: otherQuote, at: start + 60)
        #expect(try filesHolding(Array(otherQuote.utf8), in: harness.directory).isEmpty == false)
        let purged = try await store.purge(now: start + 30, matchRetention: 1, auditRetention: 10)
        #expect(purged.reports == 1)
        for gone in [replacingReason, replacingQuote] {
            #expect(try filesHolding(Array(gone.utf8), in: harness.directory).isEmpty, "\(gone)")
        }
        #expect(try await store.reports(programID: program.id).map(\.reason) == [otherReason])
        #expect(try await store.purge(now: start + 100, matchRetention: 1, auditRetention: 10).reports == 1)
        for gone in [otherReason, otherQuote] {
            #expect(try filesHolding(Array(gone.utf8), in: harness.directory).isEmpty, "\(gone)")
        }
    }

    /// The names of the files in `directory` whose bytes contain `needle`.
    func filesHolding(_ needle: [UInt8], in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().filter { name in
            let bytes = try Data(contentsOf: directory.appendingPathComponent(name))
            return bytes.range(of: Data(needle)) != nil
        }
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
            try db.execute(
                sql: "INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 0, 0)")
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
        #expect(
            entries.map { "\($0.index) \($0.entry.event.rawValue) \($0.entry.handle)" }
                == ["0 join amy", "1 join zed", "2 leave zed"])
        #expect(entries.map(\.entry.publicKey) == [early, late, late])
    }

    @Test func marksAndMatchesFromBeforeScopingKeepTheirMeaning() async throws {
        let harness = try StoreHarness()
        let path = harness.directory.appendingPathComponent("v3.sqlite").path
        let (zed, amy) = (try PrivateKey().publicKey, try PrivateKey().publicKey)
        let (token, pending, zedTag, amyTag) = (
            try Mark.dummy(), try Mark.dummy(), try ConfirmationTag.random(), try ConfirmationTag.random()
        )
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v3-key-log")
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 0, 0)")
            for (id, handle, key) in [(7, "zed", zed), (8, "amy", amy)] as [(Int, String, PublicKey)] {
                try db.execute(
                    sql: """
                        INSERT INTO member (id, program_id, handle, public_key, credential_digest, display_name, headline,
                                            offers_mentoring, seeks_mentoring, status, joined_at)
                        VALUES (?, 1, ?, ?, randomblob(32), 'Name', 'Headline', 0, 0, 'active', 0)
                        """, arguments: [id, handle, key.rawRepresentation])
            }
            // amy (id 8) marked first, so the old row has her as first_member_id.
            try db.execute(
                sql: """
                    INSERT INTO "match" (token, program_id, epoch, first_member_id, first_tag, first_note,
                                         second_member_id, second_tag, second_note, matched_at)
                    VALUES (?, 1, 0, 8, ?, NULL, 7, ?, NULL, 5)
                    """, arguments: [token.token.rawRepresentation, amyTag.rawRepresentation, zedTag.rawRepresentation])
            try db.execute(
                sql:
                    "INSERT INTO mark (token, program_id, epoch, member_id, tag, created_at) VALUES (?, 1, 0, 7, ?, 6)",
                arguments: [pending.token.rawRepresentation, pending.tag.rawRepresentation])
        }
        try queue.close()
        let store = try SQLiteStore(path: path)
        let zedSees = try await store.matches(memberID: 7, after: nil, limit: 10)
        let amySees = try await store.matches(memberID: 8, after: nil, limit: 10)
        #expect(zedSees.map(\.counterpartHandle.rawValue) == ["amy"] && zedSees.map(\.counterpartTag) == [amyTag])
        #expect(amySees.map(\.counterpartHandle.rawValue) == ["zed"] && amySees.map(\.counterpartTag) == [zedTag])
        #expect(try await store.pendingMarks(memberID: 7).map(\.token) == [pending.token])
        // Members from before directory versions get them in join order, under the program's generation.
        let listing = try await store.profileChanges(programID: 1, since: nil, limit: 10)
        #expect(listing.changes.map { "\($0.version) \($0.handle)" } == ["1 zed", "2 amy"])
        #expect(listing.cursor.version == 2 && DirectoryCursor(listing.cursor.text) == listing.cursor)
    }
}
