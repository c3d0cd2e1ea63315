public import Foundation
import GRDB
import GRDBSQLite
public import ReciprocityCore
public import ReciprocityStore

extension SQLiteStore {
    public func directory(programID: Int64, query: DirectoryQuery) async throws -> [MemberRecord] {
        let after = query.after ?? ""
        let limit = max(1, min(query.limit, 201))
        return try await read { db in
            try Self.withTimeLimit(db, seconds: StoreLimits.directoryQuerySeconds) {
                try db.cachedRows(
                    sql:
                        "SELECT * FROM member WHERE program_id = ? AND status = 'active' AND handle > ? ORDER BY handle LIMIT ?",
                    arguments: [programID, after, limit]
                ).map { try Self.memberRecord(db, $0) }
            }
        }
    }

    public func profileChanges(programID: Int64, since: DirectoryCursor?, limit: Int) async throws -> ProfileChangesPage
    {
        let limit = max(1, min(limit, DirectoryChangeLimits.maxPage))
        return try await read { db in
            guard
                let counter = try db.cachedRow(
                    sql: "SELECT generation, version FROM directory_counter WHERE program_id = ?",
                    arguments: [programID])
            else { throw StoreError(.programNotFound, "no such program") }
            let generation: String = counter["generation"]
            let continuation = DirectoryCursor.continuation(
                of: since, generation: generation, current: counter["version"])
            let after = continuation ?? 0
            // A reset lists only active members: a replica that starts empty has nothing to drop.
            let rows = try db.cachedRows(
                sql: """
                    SELECT * FROM member
                    WHERE program_id = ? AND directory_version > ? AND (? OR status = 'active')
                    ORDER BY directory_version LIMIT ?
                    """,
                arguments: [programID, after, continuation != nil, limit + 1]
            ).map { row in
                ProfileChangeRecord(member: try Self.memberRecord(db, row), version: row["directory_version"])
            }
            return ProfileChangesPage(
                rows: rows, limit: limit, generation: generation, after: after, reset: continuation == nil)
        }
    }

    /// Gives the member the program's next directory version, in the caller's write transaction: the single
    /// writer commits in the order it assigns, so versions are commit order.
    static func stampDirectoryChange(_ db: Database, programID: Int64, memberID: Int64) throws {
        try db.cachedExecute(
            sql: "UPDATE directory_counter SET version = version + 1 WHERE program_id = ?", arguments: [programID])
        try db.cachedExecute(
            sql: """
                UPDATE member SET directory_version = (SELECT version FROM directory_counter WHERE program_id = ?)
                WHERE id = ?
                """,
            arguments: [programID, memberID])
    }

    /// A program's directory counter, created with the program, under a new generation.
    static func createDirectoryCounter(_ db: Database, programID: Int64) throws {
        try db.execute(
            sql: "INSERT INTO directory_counter (program_id, generation, version) VALUES (?, ?, 0)",
            arguments: [programID, DirectoryCursor.newGeneration()])
    }

    /// Gives every program of the database file at `path` a new directory generation (`admin restore`).
    static func renewDirectoryGenerations(path: String) throws {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        try queue.write { db in
            for programID in try Int64.fetchAll(db, sql: "SELECT program_id FROM directory_counter") {
                try db.execute(
                    sql: "UPDATE directory_counter SET generation = ? WHERE program_id = ?",
                    arguments: [DirectoryCursor.newGeneration(), programID])
            }
        }
    }

    /// Runs `body` and aborts its SQLite statements once `seconds` have passed (SQLite's progress handler),
    /// so one expensive query cannot hold a reader, and every request that waits for one, for long.
    static func withTimeLimit<T>(_ db: Database, seconds: Double, _ body: () throws -> T) throws -> T {
        let deadline = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        deadline.pointee = monotonicNanoseconds() + UInt64(seconds * 1e9)
        sqlite3_progress_handler(
            db.sqliteConnection, 1000,
            { context in
                monotonicNanoseconds() > context!.assumingMemoryBound(to: UInt64.self).pointee ? 1 : 0
            }, deadline)
        defer {
            sqlite3_progress_handler(db.sqliteConnection, 0, nil, nil)
            deadline.deallocate()
        }
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            throw StoreError(.queryTooSlow, "the directory query took too long; try again")
        }
    }
}
