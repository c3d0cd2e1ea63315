public import Foundation
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

extension PostgresStore {
    public func directory(programID: Int64, query: DirectoryQuery) async throws -> [MemberRecord] {
        let after = query.after ?? ""
        let limit = Int64(max(1, min(query.limit, 201)))
        do {
            return try await transaction { connection in
                // One slow page cannot hold a connection, and every request waiting for one, for long.
                try await self.execute(
                    PostgresQuery(
                        unsafeSQL: "SET LOCAL statement_timeout = \(Int(StoreLimits.directoryQuerySeconds * 1000))"),
                    on: connection)
                let rows = try await self.rows(
                    """
                    SELECT * FROM member WHERE program_id = \(programID) AND status = 'active' AND handle > \(after)
                    ORDER BY handle LIMIT \(limit)
                    """, on: connection)
                return try await self.memberRecords(connection, rows)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "57014" {
            throw StoreError(.queryTooSlow, "the directory query took too long; try again")
        }
    }

    public func profileChanges(programID: Int64, since: DirectoryCursor?, limit: Int) async throws -> ProfileChangesPage
    {
        let limit = max(1, min(limit, DirectoryChangeLimits.maxPage))
        return try await transaction { connection in
            // One snapshot for the counter, the rows and their tags.
            try await self.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", on: connection)
            guard
                let counter = try await self.row(
                    "SELECT generation, version FROM directory_counter WHERE program_id = \(programID)", on: connection)
            else { throw StoreError(.programNotFound, "no such program") }
            let generation = try counter["generation"].decode(String.self)
            let continuation = DirectoryCursor.continuation(
                of: since, generation: generation, current: try counter["version"].decode(Int64.self))
            let after = continuation ?? 0
            // A reset lists only active members: a replica that starts empty has nothing to drop. Versions are
            // commit order (the counter row's lock), so the rows this snapshot sees are every change up to the
            // last version it sees: a cursor never passes a change that commits later.
            let rows = try await self.rows(
                """
                SELECT * FROM member
                WHERE program_id = \(programID) AND directory_version > \(after)
                  AND (\(continuation != nil) OR status = 'active')
                ORDER BY directory_version LIMIT \(Int64(limit + 1))
                """, on: connection)
            let members = try await self.memberRecords(connection, rows)
            let changes = try zip(members, rows).map { member, row in
                ProfileChangeRecord(member: member, version: try row["directory_version"].decode(Int64.self))
            }
            return ProfileChangesPage(
                rows: changes, limit: limit, generation: generation, after: after, reset: continuation == nil)
        }
    }

    /// Gives the member the program's next directory version, in the caller's transaction. Updating the
    /// program's counter row locks it until this transaction ends, so a concurrent change waits, then takes
    /// the next version: versions are commit order. Called last in each transaction (after the member's own
    /// row is locked), so locks are always taken member first, counter second, and held briefly.
    func stampDirectoryChange(_ connection: PostgresConnection, programID: Int64, memberID: Int64) async throws {
        try await execute(
            """
            WITH counter AS (
                UPDATE directory_counter SET version = version + 1 WHERE program_id = \(programID) RETURNING version)
            UPDATE member SET directory_version = counter.version FROM counter WHERE member.id = \(memberID)
            """, on: connection)
    }

    /// A program's directory counter, created with the program, under a new generation.
    func createDirectoryCounter(_ connection: PostgresConnection, programID: Int64) async throws {
        try await execute(
            """
            INSERT INTO directory_counter (program_id, generation, version)
            VALUES (\(programID), \(DirectoryCursor.newGeneration()), 0)
            """, on: connection)
    }

    /// Members from their rows, with their tags read in one query (a page holds up to a thousand).
    func memberRecords(_ connection: PostgresConnection, _ rows: [PostgresRandomAccessRow]) async throws
        -> [MemberRecord]
    {
        let ids = try rows.map { try $0["id"].decode(Int64.self) }
        var tags: [Int64: [String]] = [:]
        for row in try await self.rows(
            "SELECT member_id, tag FROM member_tag WHERE member_id = ANY(\(ids)) ORDER BY member_id, position",
            on: connection)
        {
            tags[try row["member_id"].decode(Int64.self), default: []].append(try row["tag"].decode(String.self))
        }
        return try rows.map { try Self.memberRecord($0, tags: tags[try $0["id"].decode(Int64.self)] ?? []) }
    }
}
