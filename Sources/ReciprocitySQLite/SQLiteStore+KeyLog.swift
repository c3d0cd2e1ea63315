public import Foundation
import GRDB
public import ReciprocityCore
public import ReciprocityStore

// The key-transparency log (Specs/transparency.md): appended in the transaction of the change it records.
extension SQLiteStore {
    /// Appends one directory change to the program's key log, in the caller's write transaction.
    static func appendKeyLog(
        _ db: Database, programID: Int64, event: KeyLogEvent, handle: String, publicKey: Data, now: Date
    ) throws {
        try db.cachedExecute(
            sql: """
                INSERT INTO key_log (program_id, idx, event, handle, public_key, created_at)
                VALUES (?1, (SELECT COALESCE(MAX(idx) + 1, 0) FROM key_log WHERE program_id = ?1), ?2, ?3, ?4, ?5)
                """,
            arguments: [programID, event.rawValue, handle, publicKey, millis(now)])
    }

    public func keyLog(programID: Int64, from start: Int, limit: Int) async throws -> [KeyLogRecord] {
        try await read { db in
            let program = try db.cachedValue(
                String.self, sql: "SELECT name FROM program WHERE id = ?", arguments: [programID])
            guard let program else { throw StoreError(.programNotFound, "no such program") }
            let name = try ProgramID(program)
            return try db.cachedRows(
                sql: "SELECT * FROM key_log WHERE program_id = ? AND idx >= ? ORDER BY idx LIMIT ?",
                arguments: [programID, start, limit]
            ).map { row in
                guard let event = KeyLogEvent(rawValue: row["event"]) else {
                    throw StoreError(.corruptData, "a stored key-log entry has an unknown event")
                }
                return KeyLogRecord(
                    index: row["idx"],
                    entry: KeyLogEntry(
                        program: name, event: event, handle: try Handle(row["handle"]),
                        publicKey: try PublicKey(rawRepresentation: row["public_key"] as Data)),
                    createdAt: Self.date(row["created_at"]))
            }
        }
    }
}
