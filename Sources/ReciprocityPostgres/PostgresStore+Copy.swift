import Foundation
import PostgresNIO
public import ReciprocityStore

extension PostgresStore {
    /// Columns that SQLite keeps as 0 or 1 and PostgreSQL as boolean.
    private static let booleanColumns: Set<String> = ["offers_mentoring", "seeks_mentoring"]

    /// Inserts every row of `snapshot`, ids kept, in one transaction, into a database that holds no program
    /// yet; then moves each id sequence past the copied ids and starts each program's directory counter.
    public func load(_ snapshot: StoreSnapshot) async throws {
        try await transaction { connection in
            // Nothing else may write while the copy goes in.
            for table in StoreSnapshot.tableNames {
                try await self.execute(
                    PostgresQuery(unsafeSQL: "LOCK TABLE \"\(table)\" IN EXCLUSIVE MODE"), on: connection)
            }
            for table in StoreSnapshot.tableNames {
                let count = try await self.row(
                    PostgresQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \"\(table)\""), on: connection)!["n"].decode(
                        Int64.self)
                guard count == 0 else {
                    throw StoreError(
                        .invalidArgument,
                        "the target database is not empty (table \(table) has rows); copy only into a new database")
                }
            }
            for table in snapshot.tables {
                let names = table.columns.map { "\"\($0)\"" }.joined(separator: ", ")
                let placeholders = table.columns.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                // The ids are the source's, also where the column is GENERATED ALWAYS (notice).
                let sql =
                    "INSERT INTO \"\(table.name)\" (\(names)) OVERRIDING SYSTEM VALUE VALUES (\(placeholders))"
                for row in table.rows {
                    var binds = PostgresBindings()
                    for (column, value) in zip(table.columns, row) {
                        switch value {
                        case .integer(let number) where Self.booleanColumns.contains(column): binds.append(number != 0)
                        case .integer(let number): binds.append(number)
                        case .text(let text): binds.append(text)
                        case .bytes(let bytes): try binds.append(bytes)
                        case .null: binds.appendNull()
                        }
                    }
                    try await self.execute(PostgresQuery(unsafeSQL: sql, binds: binds), on: connection)
                }
            }
            // Directory versions come along with the members; each program's counter starts at its highest
            // one, under a new generation, so that replicas synced from the source start over here.
            for row in try await self.rows(
                """
                SELECT p.id, COALESCE(MAX(m.directory_version), 0) AS version
                FROM program p LEFT JOIN member m ON m.program_id = p.id GROUP BY p.id
                """, on: connection)
            {
                try await self.execute(
                    """
                    INSERT INTO directory_counter (program_id, generation, version)
                    VALUES (\(try row["id"].decode(Int64.self)), \(DirectoryCursor.newGeneration()),
                            \(try row["version"].decode(Int64.self)))
                    """, on: connection)
            }
            for table in ["program", "invite", "member", "organizer", "audit_entry", "notice"] {
                try await self.execute(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE(MAX(id), 0) + 1, false)
                            FROM \(table)
                            """), on: connection)
            }
        }
    }

    /// Rows per table of the copy's tables, for checking a copy.
    public func counts() async throws -> [String: Int] {
        try await read { connection in
            var counts: [String: Int] = [:]
            for table in StoreSnapshot.tableNames {
                counts[table] = Int(
                    try await self.row(
                        PostgresQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \"\(table)\""), on: connection
                    )!["n"].decode(Int64.self))
            }
            return counts
        }
    }
}
