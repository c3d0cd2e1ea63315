import Foundation
import Logging
import PostgresNIO
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

@testable import ReciprocityPostgres

/// The storage guarantees every backend gives, each run against SQLite and, when configured, PostgreSQL.
@Suite struct StoreConformanceTests {
    /// Both members of each pair submit the same token at once, each through one of `stores` (on PostgreSQL,
    /// separate connection pools, as separate server processes have), and every pair gets exactly one match.
    static func race(pairs: Int, stores: [any ReciprocityStore]) async throws {
        let (program, members) = try await StoreHarness.members(stores[0], count: pairs * 2, maxMarks: 4)
        let marks = try (0..<pairs).map { _ in try Mark.dummy() }
        let outcomes = try await withThrowingTaskGroup(of: (Int, MarkOutcome).self) { group in
            for pair in 0..<pairs {
                for side in 0..<2 {
                    let member = members[pair * 2 + side]
                    let store = stores[(pair + side) % stores.count]
                    let mark = Mark(token: marks[pair].token, tag: try .random())
                    group.addTask {
                        let result = try await store.submitMarks(
                            memberID: member.id, programID: program.id, epoch: 0, marks: [mark], now: Date())
                        return (pair, result[0])
                    }
                }
            }
            return try await group.reduce(into: [Int: [MarkOutcome]]()) { $0[$1.0, default: []].append($1.1) }
        }
        for pair in 0..<pairs {
            #expect(outcomes[pair]?.sorted { $0.rawValue < $1.rawValue } == [.matched, .pending], "pair \(pair)")
        }
        for member in members.prefix(20) {
            #expect(try await stores[0].matches(memberID: member.id, after: nil, limit: 100).count == 1)
        }
        let statistics = try await stores[0].statistics()
        #expect(statistics.matches == pairs && statistics.pendingMarks == 0)
    }

    @Test(arguments: Backend.enabled)
    func concurrentReciprocalSubmissionsGiveExactlyOneMatchPerPair(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        try await Self.race(pairs: 100, stores: [harness.store])
    }

    @Test(arguments: Backend.enabled)
    func racingBatchesCannotExceedTheQuota(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let second = try await harness.reopen()
        let (program, members) = try await StoreHarness.members(harness.store, count: 1, maxMarks: 10)
        let member = members[0]
        let stores = [harness.store, second]
        let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for attempt in 0..<40 {
                let batch = [try Mark.dummy(), try Mark.dummy(), try Mark.dummy()]
                let store = stores[attempt % 2]
                group.addTask {
                    do {
                        _ = try await store.submitMarks(
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
        try await StoreHarness.close(second)
    }

    @Test(arguments: Backend.enabled)
    func acknowledgedMarksSurviveReopening(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let (program, members) = try await StoreHarness.members(harness.store, count: 3)
        let marks = try (0..<5).map { _ in try Mark.dummy() }
        _ = try await harness.store.submitMarks(
            memberID: members[0].id, programID: program.id, epoch: 0, marks: marks, now: Date())
        _ = try await harness.store.submitMarks(
            memberID: members[1].id, programID: program.id, epoch: 0, marks: [marks[0]], now: Date())
        let reopened = try await harness.reopen()
        #expect(
            Set(try await reopened.pendingMarks(memberID: members[0].id).map(\.token))
                == Set(marks.dropFirst().map(\.token)))
        #expect(
            try await reopened.matches(memberID: members[1].id, after: nil, limit: 100).map(\.counterpartHandle) == [
                members[0].handle
            ])
        try await StoreHarness.close(reopened)
    }

    @Test(arguments: Backend.enabled)
    func duplicatesOwnPendingAndOwnMatchesInOneBatch(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 3, maxMarks: 3)
        let shared = try Mark.dummy()
        let own = try Mark.dummy()
        #expect(
            try await store.submitMarks(
                memberID: m[1].id, programID: program.id, epoch: 0, marks: [shared], now: Date()) == [.pending])
        let first = try await store.submitMarks(
            memberID: m[0].id, programID: program.id, epoch: 0,
            marks: [shared, Mark(token: shared.token, tag: try .random()), own, own], now: Date())
        #expect(first == [.matched, .matched, .pending, .pending])
        // Resubmitting a matched and a pending token costs nothing: 2 of 3 used, one fresh fits, then no more.
        let again = try await store.submitMarks(
            memberID: m[0].id, programID: program.id, epoch: 0, marks: [shared, own, try Mark.dummy()], now: Date())
        #expect(again == [.matched, .pending, .pending])
        await #expect(throws: StoreError.quotaExceeded(maxMarks: 3)) {
            _ = try await store.submitMarks(
                memberID: m[0].id, programID: program.id, epoch: 0, marks: [try Mark.dummy()], now: Date())
        }
        // A third member cannot use the matched token; a matched token cannot be withdrawn; own pending can.
        await #expect(throws: StoreError(.tokenUnavailable, "a submitted token cannot be accepted")) {
            _ = try await store.submitMarks(
                memberID: m[2].id, programID: program.id, epoch: 0, marks: [shared], now: Date())
        }
        #expect(try await store.withdraw(memberID: m[0].id, token: shared.token) == false)
        #expect(try await store.withdraw(memberID: m[0].id, token: own.token))
        #expect(try await store.withdraw(memberID: m[0].id, token: own.token) == false)
        let page = try await store.matches(memberID: m[0].id, after: nil, limit: 1)
        #expect(page.count == 1)
        #expect(try await store.matches(memberID: m[0].id, after: page[0].token, limit: 5).isEmpty)
        await #expect(throws: StoreError.self) {
            _ = try await store.matches(memberID: m[2].id, after: page[0].token, limit: 5)
        }
    }

    /// Every refusal is decided before the first write (MarkBatch): a refused batch answers its refusal and
    /// has changed nothing, the withdrawals it carried included; the same batch within the quota withdraws and
    /// adds in one request, and a mark both withdrawn and submitted is stored again.
    @Test(arguments: Backend.enabled)
    func aRefusedBatchChangesNothingItsWithdrawalsIncluded(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 3, maxMarks: 3)
        func submit(_ member: Int, _ marks: [Mark], withdrawing: [InterestToken] = []) async throws -> [MarkOutcome] {
            try await store.submitMarks(
                memberID: m[member].id, programID: program.id, epoch: 0, marks: marks, withdrawing: withdrawing,
                now: Date()
            ).outcomes
        }
        func pending() async throws -> Set<InterestToken> {
            Set(try await store.pendingMarks(memberID: m[0].id).map(\.token))
        }
        let held = [try Mark.dummy(), try Mark.dummy()]
        let taken = try Mark.dummy()
        #expect(try await submit(0, held) == [.pending, .pending])
        #expect(try await submit(1, [taken]) == [.pending])
        #expect(try await submit(2, [Mark(token: taken.token, tag: try .random())]) == [.matched])
        let new = try (0..<3).map { _ in try Mark.dummy() }

        await #expect(throws: StoreError.quotaExceeded(maxMarks: 3)) {
            _ = try await submit(0, new, withdrawing: [held[0].token])
        }
        #expect(try await pending() == Set(held.map(\.token)))
        await #expect(throws: StoreError(.tokenUnavailable, "a submitted token cannot be accepted")) {
            _ = try await submit(0, [new[0], taken], withdrawing: [held[0].token])
        }
        #expect(try await pending() == Set(held.map(\.token)))

        let renewed = Mark(token: held[1].token, tag: try .random(), note: try .dummy())
        #expect(
            try await submit(0, [new[0], renewed, new[1]], withdrawing: [held[0].token, held[1].token]) == [
                .pending, .pending, .pending,
            ])
        #expect(try await pending() == [new[0].token, held[1].token, new[1].token])
        let statistics = try await store.statistics()
        #expect(statistics.pendingMarks == 3 && statistics.matches == 1)
    }

    @Test(arguments: Backend.enabled)
    func epochsSuspensionsAndRotationsDropPendingMarks(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 3)
        let marks = try (0..<3).map { _ in try Mark.dummy() }
        _ = try await store.submitMarks(memberID: m[0].id, programID: program.id, epoch: 0, marks: marks, now: Date())
        _ = try await store.submitMarks(
            memberID: m[1].id, programID: program.id, epoch: 0, marks: [try .dummy()], now: Date())
        _ = try await store.submitMarks(
            memberID: m[2].id, programID: program.id, epoch: 0, marks: [try .dummy()], now: Date())
        // A rotation drops the member's pending marks, and rotations are bounded.
        _ = try await store.rotateKey(memberID: m[0].id, publicKey: try PrivateKey().publicKey, now: Date())
        #expect(try await store.pendingMarks(memberID: m[0].id).isEmpty)
        await #expect(throws: StoreError.self) {
            _ = try await store.rotateKey(memberID: m[0].id, publicKey: m[1].publicKey, now: Date())
        }
        // A suspension drops them too, and the member cannot add any.
        _ = try await store.setStatus(program: program.name, handle: m[1].handle, status: .suspended)
        #expect(try await store.pendingMarks(memberID: m[1].id).isEmpty)
        await #expect(throws: StoreError(.memberSuspended, "this member is suspended")) {
            _ = try await store.submitMarks(
                memberID: m[1].id, programID: program.id, epoch: 0, marks: [try .dummy()], now: Date())
        }
        // A new epoch drops every pending mark of the old one and refuses submissions for it.
        let moved = try await store.setEpoch(program: program.name, epoch: 1)
        #expect(moved.epoch == 1)
        #expect(try await store.pendingMarks(memberID: m[2].id).isEmpty)
        await #expect(throws: StoreError(.wrongEpoch, "the program is in epoch 1, not 0")) {
            _ = try await store.submitMarks(
                memberID: m[2].id, programID: program.id, epoch: 0, marks: [try .dummy()], now: Date())
        }
        #expect(
            try await store.submitMarks(
                memberID: m[2].id, programID: program.id, epoch: 1, marks: [try .dummy()], now: Date()) == [.pending])
        let log = try await store.keyLog(programID: program.id, from: 0, limit: 100)
        #expect(log.map(\.entry.event) == [.join, .join, .join, .rotate, .leave])
        #expect(log.map(\.index) == Array(0..<5))
    }

    @Test(arguments: Backend.enabled)
    func joinsAndInvitesAndDirectory(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let program = try await store.createProgram(name: ProgramID("acme"), maxMarks: 16, epoch: 0)
        await #expect(throws: StoreError(.programExists, "program 'acme' already exists")) {
            _ = try await store.createProgram(name: ProgramID("acme"), maxMarks: 16, epoch: 0)
        }
        let invite = try BearerSecret.generate(.invite)
        _ = try await store.createInvite(program: program.name, codeDigest: invite.digest, uses: 2, expiresAt: nil)
        func join(_ handle: String, _ invite: BearerSecret, key: PublicKey? = nil) async throws -> MemberRecord {
            try await store.join(
                program: program.name, inviteDigest: invite.digest, handle: Handle(handle),
                publicKey: try key ?? PrivateKey().publicKey,
                profile: Profile(displayName: "Zoë \(handle)", headline: "Builds Things", tags: ["swift", "rust"]),
                credentialDigest: try BearerSecret.generate(.memberCredential).digest, now: Date()
            ).0
        }
        let ada = try await join("ada", invite)
        await #expect(throws: StoreError.self) { _ = try await join("ada", invite) }
        await #expect(
            throws: StoreError(.keyTaken, "this public key is or was registered in this program; generate a new one")
        ) {
            _ = try await join("bob", invite, key: ada.publicKey)
        }
        _ = try await join("bob", invite)
        await #expect(throws: StoreError(.inviteInvalid, "the invite code is not valid for this program")) {
            _ = try await join("cyd", invite)
        }
        let found = try await store.directory(programID: program.id, query: DirectoryQuery())
        #expect(found.map(\.handle.rawValue) == ["ada", "bob"])
        #expect(found[0].profile.tags == ["swift", "rust"])
        #expect(
            try await store.directory(programID: program.id, query: DirectoryQuery(after: "ada")).map(\.handle.rawValue)
                == ["bob"])
        let purged = try await store.purge(now: Date(), matchRetention: 3600)
        #expect(purged == PurgeResult(invites: 1, marks: 0, matches: 0))
        let statistics = try await store.statistics()
        #expect(statistics.programs == 1 && statistics.members == 2)
        #expect((statistics.databaseBytes ?? 0) > 0)
        try await store.checkWritable()
    }

    /// Joins, rotations and suspensions arriving at once, through two stores, leave a key log with every index
    /// once, in order, and every change in it.
    @Test(arguments: Backend.enabled)
    func theKeyLogStaysGapFreeUnderConcurrentChanges(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let second = try await harness.reopen()
        let stores = [harness.store, second]
        let (program, early) = try await StoreHarness.members(harness.store, count: 10)
        let invite = try BearerSecret.generate(.invite)
        _ = try await harness.store.createInvite(
            program: program.name, codeDigest: invite.digest, uses: 30, expiresAt: nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<30 {
                let store = stores[index % 2]
                group.addTask {
                    _ = try await store.join(
                        program: program.name, inviteDigest: invite.digest, handle: Handle("late\(index)"),
                        publicKey: try PrivateKey().publicKey, profile: Profile(displayName: "L"),
                        credentialDigest: try BearerSecret.generate(.memberCredential).digest, now: Date())
                }
            }
            for (index, member) in early.enumerated() {
                let store = stores[(index + 1) % 2]
                group.addTask {
                    if index % 2 == 0 {
                        _ = try await store.rotateKey(
                            memberID: member.id, publicKey: try PrivateKey().publicKey, now: Date())
                    } else {
                        _ = try await store.setStatus(program: program.name, handle: member.handle, status: .suspended)
                    }
                }
            }
            try await group.waitForAll()
        }
        let log = try await second.keyLog(programID: program.id, from: 0, limit: 1000)
        #expect(log.map(\.index) == Array(0..<50))
        #expect(log.filter { $0.entry.event == .rotate }.count == 5)
        #expect(log.filter { $0.entry.event == .leave }.count == 5)
        #expect(Set(log.filter { $0.entry.event == .join }.map(\.entry.handle)).count == 40)
        try await StoreHarness.close(second)
    }
}

/// What only PostgreSQL has: several processes' pools on one database.
@Suite struct PostgresStoreTests {
    @Test(arguments: Backend.postgresOnly)
    func instancesStartingTogetherMigrateOnce(_ backend: Backend) async throws {
        let database = try await PostgresTestDatabase.create()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await database.store(poolSize: 2) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        _ = try await stores[0].createProgram(name: ProgramID("acme"), maxMarks: 4, epoch: 0)
        #expect(try await stores[3].programs().map(\.name.rawValue) == ["acme"])
        for store in stores { await store.close() }
        await database.drop()
    }

    @Test(arguments: Backend.postgresOnly)
    func reciprocalRacesThroughSeparatePoolsGiveExactlyOneMatch(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let others = try await [harness.reopen(), harness.reopen()]
        try await StoreConformanceTests.race(pairs: 500, stores: [harness.store] + others)
        for store in others { try await StoreHarness.close(store) }
    }

    @Test(arguments: Backend.postgresOnly)
    func theKeyLogCannotBeRewritten(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        _ = try await StoreHarness.members(harness.store, count: 1)
        let location = try #require(harness.postgres?.location)
        await #expect(throws: (any Error).self) {
            try await PostgresStore.administer(location, ["UPDATE key_log SET handle = 'mallory'"])
        }
        await #expect(throws: (any Error).self) {
            try await PostgresStore.administer(location, ["DELETE FROM key_log"])
        }
        #expect(
            try await harness.store.keyLog(programID: 1, from: 0, limit: 10).map(\.entry.handle.rawValue) == ["member0"]
        )
    }

    /// A member's own marks are withdrawn through the member's index only, on a table analysed as autovacuum
    /// would leave it: never through the primary key, which leads with the token and would read another
    /// member's pending row with the same token (a timing signal of a one-sided mark on the caller). A delete
    /// by the token takes the primary key here, so the check can fail.
    @Test(arguments: Backend.postgresOnly)
    func ownMarksAreWithdrawnThroughTheMembersIndexOnly(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = try #require(harness.store as? PostgresStore)
        let (program, members) = try await StoreHarness.members(harness.store, count: 40)
        let ids = members.map { String($0.id) }.joined(separator: ",")
        let location = try #require(harness.postgres?.location)
        try await PostgresStore.administer(
            location,
            [
                """
                INSERT INTO mark (program_id, epoch, token, member_id, tag, note, created_at)
                SELECT \(program.id), 0, decode(md5(random()::text) || md5(random()::text), 'hex'),
                       (ARRAY[\(ids)])[1 + i % \(members.count)], decode(repeat('00', 32), 'hex'), NULL, 0
                FROM generate_series(1, 100000) AS i
                """,
                "ANALYZE mark",
            ])
        let caller = members[0].id
        // Another member's pending mark; the caller holds ~2,500 of their own, as a busy member might.
        let held = try await store.read { connection in
            try await store.row("SELECT token FROM mark WHERE member_id <> \(caller) LIMIT 1", on: connection)!["token"]
                .decode(Data.self)
        }
        func plan(_ query: PostgresQuery) async throws -> String {
            var explaining = query
            explaining.sql = "EXPLAIN " + query.sql
            let explain = explaining
            return try await store.read { connection in
                try await store.rows(explain, on: connection).map { try $0["QUERY PLAN"].decode(String.self) }
            }.joined(separator: "\n")
        }
        let tokens = [ByteBuffer(bytes: held)]
        // Since migration v4 keeps no statistics of the token, the plain form with the member no longer takes
        // the primary key here; a delete by the token alone shows the check still sees one.
        let plain = try await plan("DELETE FROM mark WHERE token = \(held)")
        // Index names: mark_pkey and mark_by_member, or mark_p<N>_pkey and a per-partition index on member_id.
        #expect(plain.contains("_pkey"), "the check could not fail: \(plain)")
        for query in [
            PostgresStore.withdrawOwn(memberID: caller, tokens: tokens, scope: nil),
            PostgresStore.withdrawOwn(memberID: caller, tokens: tokens, scope: (program.id, 0)),
        ] {
            let chosen = try await plan(query)
            let throughMember = chosen.split(separator: "\n").contains {
                $0.contains("Cond:") && $0.contains("member_id = ")
            }
            #expect(!chosen.contains("_pkey") && throughMember, "\(chosen)")
        }
        #expect(
            try await harness.store.withdraw(memberID: caller, token: InterestToken(rawRepresentation: held)) == false)
    }

    /// A submission that withdraws a mark a counterpart is taking over as a match at that moment: the
    /// submission's decision counts the withdrawn mark as gone, so its delete must find it. The withdrawn
    /// marks are locked as the facts are read, and read again when a takeover committed in between: the mark
    /// is a match now, it still counts, and the batch is over the quota. With the match's foreign keys, the
    /// takeover also holds the caller's member row until it commits; without them (as on shards, where member
    /// and match are distributed differently: Specs/scaling.md), only the lock keeps the quota: without it the
    /// withdrawal deleted nothing and the batch was accepted, one past the quota.
    @Test(arguments: Backend.postgresOnly, [true, false])
    func aWithdrawnMarkTakenOverMeanwhileStillCounts(_ backend: Backend, foreignKeys: Bool) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = try #require(harness.store as? PostgresStore)
        let (program, members) = try await StoreHarness.members(store, count: 2, maxMarks: 2)
        let (caller, counterpart) = (members[0], members[1])
        if !foreignKeys {
            try await PostgresStore.administer(
                try #require(harness.postgres?.location),
                [
                    #"""
                    DO $$ DECLARE name text; BEGIN
                        FOR name IN SELECT conname FROM pg_constraint
                                    WHERE conrelid = '"match"'::regclass AND confrelid = 'member'::regclass LOOP
                            EXECUTE format('ALTER TABLE "match" DROP CONSTRAINT %I', name);
                        END LOOP;
                    END $$
                    """#
                ])
            // The check can fail: no foreign key of the match holds the caller's member row any more.
            let left = try await store.read { connection in
                try await store.row(
                    #"SELECT count(*) AS n FROM pg_constraint WHERE conrelid = '"match"'::regclass AND confrelid = 'member'::regclass"#,
                    on: connection)!["n"].decode(Int64.self)
            }
            #expect(left == 0)
        }
        let (wanted, kept) = (try Mark.dummy(), try Mark.dummy())
        _ = try await store.submitMarks(
            memberID: caller.id, programID: program.id, epoch: 0, marks: [wanted, kept], now: Date())
        let (deleted, deletedSignal) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseSignal) = AsyncStream.makeStream(of: Void.self)
        let tag = try ConfirmationTag.random().rawRepresentation
        // The counterpart's takeover, as `applyAll` makes it, held open until released.
        let takeover = Task {
            try await store.transaction { connection in
                let row = try #require(
                    try await store.row(
                        """
                        DELETE FROM mark WHERE program_id = \(program.id) AND epoch = 0 AND token = \(wanted.token.rawRepresentation)
                        RETURNING tag
                        """, on: connection))
                _ = try await store.execute(
                    """
                    INSERT INTO "match" (program_id, epoch, token, a_member_id, a_tag, a_note, b_member_id, b_tag, b_note, matched_at)
                    VALUES (\(program.id), 0, \(wanted.token.rawRepresentation), \(caller.id), \(try row["tag"].decode(Data.self)),
                            NULL, \(counterpart.id), \(tag), NULL, 0)
                    """, on: connection)
                deletedSignal.yield()
                for await _ in release { break }
            }
        }
        for await _ in deleted { break }
        let submission = Task {
            try await store.submitMarks(
                memberID: caller.id, programID: program.id, epoch: 0, marks: [try Mark.dummy()],
                withdrawing: [wanted.token],
                now: Date())
        }
        try await Task.sleep(for: .milliseconds(300))
        releaseSignal.yield()
        try await takeover.value
        await #expect(throws: StoreError.quotaExceeded(maxMarks: 2)) { _ = try await submission.value }
        #expect(try await store.pendingMarks(memberID: caller.id).map(\.token) == [kept.token])
        #expect(try await store.matches(memberID: caller.id, after: nil, limit: 10).map(\.token) == [wanted.token])
    }

    /// Housekeeping in one process at a time: while another session holds the housekeeping lock, a purge
    /// deletes nothing; once it is released, the same purge does its work.
    @Test(arguments: Backend.postgresOnly)
    func housekeepingRunsInOneProcessAtATime(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let (program, _) = try await StoreHarness.members(harness.store, count: 1)
        _ = try await harness.store.createInvite(
            program: program.name, codeDigest: try BearerSecret.generate(.invite).digest, uses: 1,
            expiresAt: Date(timeIntervalSinceNow: -60))
        let location = try #require(harness.postgres?.location)
        let client = PostgresClient(configuration: location.clientConfiguration(poolSize: 1))
        let runner = Task { await client.run() }
        let logger = Logger(label: "test")
        try await client.withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(PostgresStore.lockSpace), \(PostgresStore.housekeepingLock))",
                logger: logger)
            #expect(
                try await harness.store.purge(now: Date(), matchRetention: 60)
                    == PurgeResult(invites: 0, marks: 0, matches: 0))
            try await connection.query("COMMIT", logger: logger)
        }
        runner.cancel()
        #expect(
            try await harness.store.purge(now: Date(), matchRetention: 60)
                == PurgeResult(invites: 2, marks: 0, matches: 0))
    }

    @Test func badDatabaseURLsAreOneSentenceWithoutThePassword() async throws {
        for url in [
            "postgres://", "postgres://host/db", "postgres://u@host", "postgres://u:pw@h/db?sslmode=maybe",
            "postgres://u:s3cret@h/db?x=1",
        ] {
            #expect(throws: PostgresLocationError.self) { _ = try PostgresLocation(url: url) }
            do { _ = try PostgresLocation(url: url) } catch { #expect(!"\(error)".contains("s3cret"), "\(error)") }
        }
        let location = try PostgresLocation(url: "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable")
        #expect(location.redacted == "postgres://u@127.0.0.1:1/db")
        do {
            _ = try await PostgresStore(location: location)
            Issue.record("a closed port connected")
        } catch {
            #expect("\(error)".contains("cannot connect to postgres://u@127.0.0.1:1/db"), "\(error)")
            #expect(!"\(error)".contains("s3cret"))
        }
    }
}
