import GRDB
public import ReciprocityStore

extension SQLiteStore {
    /// Every row of the tables a copy to another backend carries, read in one transaction (a consistent
    /// snapshot even while a server writes).
    public func snapshot() async throws -> StoreSnapshot {
        try await read { db in
            var tables: [StoreSnapshot.Table] = []
            for name in StoreSnapshot.tableNames {
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \"\(name)\"")
                let columns = try db.columns(in: name).map(\.name)
                tables.append(
                    StoreSnapshot.Table(
                        name: name, columns: columns,
                        rows: rows.map { row in
                            columns.map { column in
                                switch (row[column] as DatabaseValue).storage {
                                case .int64(let value): .integer(value)
                                case .string(let value): .text(value)
                                case .blob(let value): .bytes(value)
                                case .double(let value): .integer(Int64(value))
                                case .null: .null
                                }
                            }
                        }))
            }
            return StoreSnapshot(tables: tables)
        }
    }
}
