public import Foundation
import GRDB
public import ReciprocityCore
public import ReciprocityStore

#if canImport(Glibc)
import Glibc
#endif

extension SQLiteStore {
    public func statistics() async throws -> StoreStatistics {
        try await read { db in
            let row = try db.cachedRow(
                sql: """
                    SELECT (SELECT COUNT(*) FROM program) AS programs, (SELECT COUNT(*) FROM member) AS members,
                           (SELECT COUNT(*) FROM mark) AS marks, (SELECT COUNT(*) FROM "match") AS matches
                    """)!
            return StoreStatistics(
                programs: row["programs"], members: row["members"], pendingMarks: row["marks"], matches: row["matches"],
                databaseBytes: self.fileSize())
        }
    }

    public func matchCounts(programID: Int64) async throws -> [UInt32: Int] {
        try await read { db in
            var counts: [UInt32: Int] = [:]
            for row in try db.cachedRows(
                sql: #"SELECT epoch, COUNT(*) AS matches FROM "match" WHERE program_id = ? GROUP BY epoch"#,
                arguments: [programID])
            {
                counts[row["epoch"]] = row["matches"]
            }
            return counts
        }
    }

    public func checkWritable() async throws {
        // An IMMEDIATE transaction takes SQLite's write lock: it fails if the file cannot be written. A probe
        // must answer quickly, so it waits at most one second for a lock another process holds.
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA busy_timeout = 1000")
            defer { try? db.execute(sql: "PRAGMA busy_timeout = 10000") }
            try db.inTransaction(.immediate) { .rollback }
        }
    }

    public func purge(now: Date, matchRetention: TimeInterval, auditRetention: TimeInterval) async throws
        -> PurgeResult
    {
        let result = try await writeAndScrub { db in
            try db.cachedExecute(
                sql: """
                    DELETE FROM invite
                    WHERE uses_left <= 0 OR (expires_at IS NOT NULL AND expires_at <= ?) OR revoked_at IS NOT NULL
                    """,
                arguments: [Self.millis(now)])
            let invites = db.changesCount
            try db.cachedExecute(
                sql: "DELETE FROM mark WHERE epoch != (SELECT epoch FROM program WHERE program.id = mark.program_id)")
            let marks = db.changesCount
            try db.cachedExecute(
                sql: """
                    DELETE FROM "match" WHERE matched_at <= ?
                      AND epoch != (SELECT epoch FROM program WHERE program.id = "match".program_id)
                    """,
                arguments: [Self.millis(now.addingTimeInterval(-matchRetention))])
            let matches = db.changesCount
            try db.cachedExecute(
                sql: "DELETE FROM audit_entry WHERE at <= ?",
                arguments: [Self.millis(now.addingTimeInterval(-auditRetention))])
            let auditEntries = db.changesCount
            // A report's texts are member data in clear: `secure_delete` and the scrub leave no copy of them.
            try db.cachedExecute(
                sql: "DELETE FROM report WHERE created_at <= ?",
                arguments: [Self.millis(now.addingTimeInterval(-auditRetention))])
            let reports = db.changesCount
            // A conversation (its messages by cascade) goes with its match, whatever deleted the match.
            try db.cachedExecute(
                sql: """
                    DELETE FROM conversation WHERE NOT EXISTS (
                        SELECT 1 FROM "match" m WHERE m.program_id = conversation.program_id
                          AND m.epoch = conversation.epoch AND m.token = conversation.token)
                    """)
            return PurgeResult(
                invites: invites, marks: marks, matches: matches, auditEntries: auditEntries,
                conversations: db.changesCount, reports: reports)
        }
        return result
    }

    /// Copies the live database into `path` with SQLite's online backup API: a consistent snapshot, taken
    /// while the server keeps writing. The copy is checked with `PRAGMA integrity_check`.
    public func backup(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.invalidArgument, "'\(path)' exists; backups never overwrite a file")
        }
        try Self.restrictFileModes(path: path)
        let destination = try DatabaseQueue(path: path)
        try pool.backup(to: destination)
        try destination.close()
        try Self.verify(path: path)
    }

    /// Checks that `path` is a sound Reciprocity database: `PRAGMA integrity_check` passes and every migration
    /// this build knows has been applied, and no unknown one.
    public static func verify(path: String) throws {
        let queue = try DatabaseQueue(
            path: path,
            configuration: {
                var c = Configuration()
                c.readonly = true
                return c
            }())
        defer { try? queue.close() }
        let result = try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
        guard result == ["ok"] else {
            throw StoreError(
                .invalidArgument, "'\(path)' fails the integrity check: \(result.prefix(3).joined(separator: "; "))")
        }
        let applied = try queue.read { try migrator.appliedIdentifiers($0) }
        guard applied == Set(migrator.migrations) else {
            throw StoreError(.invalidArgument, "'\(path)' is not a Reciprocity database of this version")
        }
    }

    /// Replaces the database at `path` with a verified backup. The server must not be running: the swap is a
    /// rename, and the old file's WAL and shared-memory files are removed so they cannot be replayed onto it.
    /// Every program gets a new directory generation, so that clients replace their directory replicas
    /// instead of continuing from versions that the restored database may have given to other changes.
    public static func restore(from backup: String, to path: String) throws {
        try verify(path: backup)
        let staging = path + ".restoring"
        try? FileManager.default.removeItem(atPath: staging)
        try FileManager.default.copyItem(atPath: backup, toPath: staging)
        chmod(staging, 0o600)
        try renewDirectoryGenerations(path: staging)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        guard rename(staging, path) == 0 else {
            throw StoreError(.invalidArgument, "cannot move the restored copy into place at '\(path)'")
        }
    }

    /// Checkpoints the WAL into the main file and closes every connection.
    public func close() throws {
        try checkpoint.close()
        try pool.close()
    }

    /// Bytes on disk: the main file plus its WAL.
    public func fileSize() -> Int {
        ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? Int }
            .reduce(0, +)
    }
}
