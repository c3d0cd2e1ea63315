public import Foundation
import PostgresNIO
public import ReciprocityStore

extension PostgresStore {
    public func statistics() async throws -> StoreStatistics {
        try await read { connection in
            let row = try await self.row(
                """
                SELECT (SELECT COUNT(*) FROM program) AS programs, (SELECT COUNT(*) FROM member) AS members,
                       (SELECT COUNT(*) FROM mark) AS marks, (SELECT COUNT(*) FROM "match") AS matches,
                       pg_database_size(current_database()) AS bytes
                """, on: connection)!
            return StoreStatistics(
                programs: Int(try row["programs"].decode(Int64.self)),
                members: Int(try row["members"].decode(Int64.self)),
                pendingMarks: Int(try row["marks"].decode(Int64.self)),
                matches: Int(try row["matches"].decode(Int64.self)),
                databaseBytes: Int(try row["bytes"].decode(Int64.self)))
        }
    }

    /// Counted through the members' side of each match (`match_by_a`): every match has exactly one `a_member_id`,
    /// and the table's key leads with the token, so this stays an index walk per member, partitioned or not.
    public func matchCounts(programID: Int64) async throws -> [UInt32: Int] {
        try await read { connection in
            var counts: [UInt32: Int] = [:]
            for row in try await self.rows(
                """
                SELECT m.epoch, COUNT(*) AS matches FROM "match" m JOIN member ON member.id = m.a_member_id
                WHERE member.program_id = \(programID) AND m.program_id = \(programID) GROUP BY m.epoch
                """, on: connection)
            {
                counts[UInt32(try row["epoch"].decode(Int64.self))] = Int(try row["matches"].decode(Int64.self))
            }
            return counts
        }
    }

    public func checkWritable() async throws {
        // A replica in recovery (or a primary demoted after a failover) answers reads but takes no writes.
        try await read { connection in
            let row = try await self.row(
                "SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS read_only",
                on: connection)!
            guard try row["recovery"].decode(Bool.self) == false, try row["read_only"].decode(String.self) == "off"
            else {
                throw StoreError(.invalidArgument, "the database is read-only")
            }
        }
    }

    /// Deletes what housekeeping deletes, in one transaction. Only one process at a time does it: one that
    /// finds another's pass under way (the advisory lock is taken) deletes nothing and reports zeros.
    public func purge(now: Date, matchRetention: TimeInterval, auditRetention: TimeInterval) async throws
        -> PurgeResult
    {
        try await transaction { connection in
            let locked = try await self.row(
                "SELECT pg_try_advisory_xact_lock(\(Self.lockSpace), \(Self.housekeepingLock)) AS locked",
                on: connection)!
            guard try locked["locked"].decode(Bool.self) else { return PurgeResult(invites: 0, marks: 0, matches: 0) }
            let invites = try await self.execute(
                """
                DELETE FROM invite
                WHERE uses_left <= 0 OR (expires_at IS NOT NULL AND expires_at <= \(Self.millis(now))) OR revoked_at IS NOT NULL
                RETURNING 1
                """, on: connection)
            let marks = try await self.execute(
                """
                DELETE FROM mark USING program WHERE program.id = mark.program_id AND mark.epoch <> program.epoch
                RETURNING 1
                """, on: connection)
            let matches = try await self.execute(
                """
                DELETE FROM "match" USING program
                WHERE program.id = "match".program_id AND "match".epoch <> program.epoch
                  AND "match".matched_at <= \(Self.millis(now.addingTimeInterval(-matchRetention)))
                RETURNING 1
                """, on: connection)
            let auditEntries = try await self.execute(
                """
                DELETE FROM audit_entry WHERE at <= \(Self.millis(now.addingTimeInterval(-auditRetention))) RETURNING 1
                """, on: connection)
            let reports = try await self.execute(
                """
                DELETE FROM report WHERE created_at <= \(Self.millis(now.addingTimeInterval(-auditRetention))) RETURNING 1
                """, on: connection)
            // A conversation (its messages by cascade) goes with its match, whatever deleted the match.
            let conversations = try await self.execute(
                """
                DELETE FROM conversation v WHERE NOT EXISTS (
                    SELECT 1 FROM "match" m
                    WHERE m.token = v.token AND m.program_id = v.program_id AND m.epoch = v.epoch)
                RETURNING 1
                """, on: connection)
            return PurgeResult(
                invites: invites, marks: marks, matches: matches, auditEntries: auditEntries,
                conversations: conversations, reports: reports)
        }
    }
}
