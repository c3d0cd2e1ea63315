public import Foundation
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

// The key-transparency log (Specs/transparency.md). Every change that appends to a program's log first takes
// that program's advisory lock for the rest of its transaction, so indexes are assigned one at a time, in
// commit order: no gap, no duplicate, whichever process the change arrives through.
extension PostgresStore {
    /// Holds the program's key-log lock until the transaction ends.
    func lockKeyLog(_ connection: PostgresConnection, programID: Int64) async throws {
        try await execute(
            "SELECT pg_advisory_xact_lock(\(Self.lockSpace), \(Int32(truncatingIfNeeded: programID)))", on: connection)
    }

    /// Appends one directory change, in the caller's transaction, which holds the program's key-log lock.
    func appendKeyLog(
        _ connection: PostgresConnection, programID: Int64, event: KeyLogEvent, handle: String, publicKey: Data,
        now: Date
    ) async throws {
        try await execute(
            """
            INSERT INTO key_log (program_id, idx, event, handle, public_key, created_at)
            VALUES (\(programID), (SELECT COALESCE(MAX(idx) + 1, 0) FROM key_log WHERE program_id = \(programID)),
                    \(event.rawValue), \(handle), \(publicKey), \(Self.millis(now)))
            """, on: connection)
    }

    public func keyLog(programID: Int64, from start: Int, limit: Int) async throws -> [KeyLogRecord] {
        try await read { connection in
            guard let program = try await self.row("SELECT name FROM program WHERE id = \(programID)", on: connection)
            else { throw StoreError(.programNotFound, "no such program") }
            let name = try ProgramID(try program["name"].decode(String.self))
            return try await self.rows(
                """
                SELECT * FROM key_log WHERE program_id = \(programID) AND idx >= \(Int64(start))
                ORDER BY idx LIMIT \(Int64(max(0, limit)))
                """, on: connection
            ).map { row in
                guard let event = KeyLogEvent(rawValue: try row["event"].decode(String.self)) else {
                    throw StoreError(.corruptData, "a stored key-log entry has an unknown event")
                }
                return KeyLogRecord(
                    index: Int(try row["idx"].decode(Int64.self)),
                    entry: KeyLogEntry(
                        program: name, event: event, handle: try Handle(try row["handle"].decode(String.self)),
                        publicKey: try PublicKey(rawRepresentation: try row["public_key"].decode(Data.self))),
                    createdAt: Self.date(try row["created_at"].decode(Int64.self)))
            }
        }
    }
}
