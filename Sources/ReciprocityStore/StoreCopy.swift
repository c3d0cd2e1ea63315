public import Foundation

/// Every row of a store's tables, backend-neutral, for `reciprocityd admin copy`: the tables in an order in
/// which each row's references come before it, each with its column names and values.
public struct StoreSnapshot: Sendable {
    /// One stored value, as both backends hold it.
    public enum Value: Sendable, Equatable {
        case integer(Int64)
        case text(String)
        case bytes(Data)
        case null
    }

    public struct Table: Sendable {
        public let name: String
        public let columns: [String]
        public var rows: [[Value]]

        public init(name: String, columns: [String], rows: [[Value]]) {
            self.name = name
            self.columns = columns
            self.rows = rows
        }
    }

    /// The tables a copy carries, parents first.
    public static let tableNames = [
        "program", "invite", "member", "member_tag", "key_log", "mark", "match", "organizer", "organizer_program",
        "audit_counter", "audit_entry", "conversation", "message", "report", "notice", "match_notice",
        "conversation_notice",
    ]

    public var tables: [Table]

    public init(tables: [Table]) { self.tables = tables }

    /// Rows per table.
    public var counts: [String: Int] {
        Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.rows.count) })
    }
}
