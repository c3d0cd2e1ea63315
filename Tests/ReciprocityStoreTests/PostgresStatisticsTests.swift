import Foundation
import Logging
import PostgresNIO
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

@testable import ReciprocityPostgres

/// PostgreSQL's planner statistics hold no token, confirmation tag or sealed note (#23): ANALYZE samples
/// columns into pg_statistic, where a withdrawn mark's token stayed readable through plain SQL after VACUUM
/// FULL. Checked on plain tables and, with `RECIPROCITY_TEST_POSTGRES_PARTITIONS`, on partitioned ones.
@Suite struct PostgresStatisticsTests {
    /// Marks submitted, matched and withdrawn, the tables analysed before and after: no value a member sent is
    /// in pg_stats or pg_stats_ext, and no secret column of the marks and matches (parents and partitions)
    /// has a statistics row at all.
    @Test(arguments: Backend.postgresOnly)
    func noTokenTagOrNoteIsSampledIntoStatistics(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let location = try #require(harness.postgres?.location)
        let (program, members) = try await StoreHarness.members(harness.store, count: 20)
        var own: [[Mark]] = []
        for (index, member) in members.enumerated() {
            // Each member's last mark completes the previous member's first: one match per pair of neighbours.
            var marks = try (0..<8).map { _ in try Mark.dummy() }
            if index > 0 { marks.append(Mark(token: own[index - 1][0].token, tag: try .random(), note: try .dummy())) }
            _ = try await harness.store.submitMarks(
                memberID: member.id, programID: program.id, epoch: 0, marks: marks, now: Date())
            own.append(marks)
        }
        try await PostgresStore.administer(location, ["ANALYZE"])
        var withdrawn: [Mark] = []
        for (index, member) in members.enumerated() {
            for mark in own[index][1...3] {
                #expect(try await harness.store.withdraw(memberID: member.id, token: mark.token))
                withdrawn.append(mark)
            }
        }
        let sent = own.flatMap { $0 }
        #expect(withdrawn.count == 60)
        try await PostgresStore.administer(location, ["VACUUM FULL mark", "VACUUM FULL \"match\""])
        #expect(try await Self.sampled(withdrawn, at: location) == [])
        #expect(try await Self.sampled(sent, at: location) == [])
        try await PostgresStore.administer(location, ["ANALYZE"])
        #expect(try await Self.sampled(sent, at: location) == [])
    }

    /// A database from before migration v4 (no secret statistics), owned by a role that is not a superuser, whose tables were
    /// analysed (and, in the partitioned run, partitioned by the script first): its statistics hold tokens,
    /// tags and notes, withdrawn ones too, until the migration runs as that role; then none, after another
    /// ANALYZE too.
    @Test(arguments: Backend.postgresOnly)
    func migratingForgetsWhatAnOlderDatabaseSampled(_ backend: Backend) async throws {
        let server = try PostgresLocation(url: try #require(Backend.postgresURL))
        let suffix = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let role = "reciprocity_owner_" + suffix
        let password = Hex.encode(try InterestToken.random().rawRepresentation)
        var owner = server
        owner.username = role
        owner.password = password
        owner.database = "reciprocity_test_" + suffix
        try await PostgresStore.administer(
            server,
            [
                "CREATE ROLE \(role) LOGIN PASSWORD '\(password)'", "CREATE DATABASE \(owner.database) OWNER \(role)",
            ])
        let before = try #require(PostgresStore.migrations.firstIndex { $0.name == "v2-token-first-keys" })
        let older = PostgresStore.migrations.prefix(through: before)
        var statements = [PostgresStore.migrationTable] + older.flatMap(\.statements)
        statements += older.map { "INSERT INTO reciprocity_migration (name) VALUES ('\($0.name)')" }
        if let partitions = PostgresTestDatabase.partitions {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "../../scripts/partition-by-token.sql")
            statements += [
                "SET reciprocity.partitions = '\(partitions)'", try String(contentsOf: script, encoding: .utf8),
            ]
        }
        var sent: [Mark] = []
        for _ in 0..<300 { sent.append(try Mark.dummy()) }
        let marks = sent.prefix(200).enumerated().map { index, mark in
            "(1, 0, '\\x\(Hex.encode(mark.token.rawRepresentation))', \(1 + index % 2), "
                + "'\\x\(Hex.encode(mark.tag.rawRepresentation))', '\\x\(Hex.encode(mark.note!.rawRepresentation))', 0)"
        }
        let matches = sent.suffix(100).map { mark in
            "(1, 0, '\\x\(Hex.encode(mark.token.rawRepresentation))', 1, '\\x\(Hex.encode(mark.tag.rawRepresentation))', "
                + "'\\x\(Hex.encode(mark.note!.rawRepresentation))', 2, '\\x\(Hex.encode(mark.tag.rawRepresentation))', NULL, 0)"
        }
        statements += [
            "INSERT INTO program (name, max_marks, epoch, created_at) VALUES ('acme', 16, 0, 0)",
            """
            INSERT INTO member (program_id, handle, public_key, credential_digest, display_name, headline,
                offers_mentoring, seeks_mentoring, status, joined_at)
            SELECT 1, 'member' || i, decode(md5('key' || i), 'hex'), decode(md5('credential' || i), 'hex'), 'M', '',
                true, true, 'active', 0 FROM generate_series(1, 2) AS i
            """,
            "INSERT INTO mark VALUES " + marks.joined(separator: ", "),
            "INSERT INTO \"match\" VALUES " + matches.joined(separator: ", "),
            "ANALYZE mark, \"match\"",
            // Half the marks withdrawn, the tables compacted: what an operator might take for erased.
            "DELETE FROM mark WHERE member_id = 1",
            "VACUUM FULL mark",
        ]
        try await PostgresStore.administer(owner, statements)
        let withdrawn = sent.prefix(200).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        // The check can fail: the older schema keeps withdrawn tokens where plain SQL reads them.
        #expect(try await Self.sampled(withdrawn, at: owner).contains { !$0.hasSuffix("secret column") })

        let store = try await PostgresStore(location: owner, poolSize: 1)
        await store.close()
        #expect(try await Self.sampled(sent, at: owner) == [])
        try await PostgresStore.administer(owner, ["ANALYZE mark, \"match\""])
        #expect(try await Self.sampled(sent, at: owner) == [])
        try await PostgresStore.administer(
            server,
            [
                "DROP DATABASE \(owner.database) WITH (FORCE)", "DROP ROLE \(role)",
            ])
    }

    /// Every place in the statistics of `location`'s database that holds one of the values of `marks`, or is
    /// a statistics row of a secret column of the marks or matches or one of their partitions.
    static func sampled(_ marks: [Mark], at location: PostgresLocation) async throws -> [String] {
        let client = PostgresClient(configuration: location.clientConfiguration(poolSize: 1))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        let secret = PostgresStore.secretColumns.map { "'\($0)'" }.joined(separator: ", ")
        let query = PostgresQuery(
            unsafeSQL: """
                WITH secret_tables AS (
                    SELECT oid::regclass::text AS name FROM pg_class WHERE oid IN ('mark'::regclass, '"match"'::regclass)
                    UNION SELECT inhrelid::regclass::text FROM pg_inherits
                    WHERE inhparent IN ('mark'::regclass, '"match"'::regclass))
                SELECT tablename || '.' || attname,
                    attname IN (\(secret)) AND tablename IN (SELECT name FROM secret_tables),
                    coalesce(most_common_vals::text, '') || coalesce(histogram_bounds::text, '')
                FROM pg_stats WHERE schemaname = 'public'
                UNION ALL
                SELECT tablename || '.' || statistics_name, true, coalesce(most_common_vals::text, '')
                FROM pg_stats_ext WHERE schemaname = 'public'
                """)
        let values = marks.flatMap { mark in
            [mark.token.rawRepresentation, mark.tag.rawRepresentation]
                + (mark.note.map { [$0.rawRepresentation] } ?? [])
        }.map { Hex.encode($0.prefix(32)) }
        return try await client.withConnection { connection in
            var found: [String] = []
            for try await (place, isSecret, sampled) in try await connection.query(query, logger: Logger(label: "test"))
                .decode((String, Bool, String).self)
            {
                if let value = values.first(where: { sampled.contains($0) }) {
                    found.append("\(place): \(value)")
                } else if isSecret {
                    found.append("\(place): secret column")
                }
            }
            return found
        }
    }
}
