public import Foundation
import GRDB
import GRDBSQLite
public import ReciprocityCore
public import ReciprocityStore

#if canImport(Glibc)
import Glibc
#endif

/// The SQLite backend: one file in WAL mode, opened through GRDB (which links the system libsqlite3).
/// GRDB serialises writes through one writer connection, so every `submitMarks` sees the effect of the one
/// before it: two members racing with the same token produce exactly one match.
public final class SQLiteStore: ReciprocityStore {
    /// How hard SQLite works to make a commit durable.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous=NORMAL` in WAL mode: a commit survives a crash or kill of the process; the last
        /// commits before a power loss or kernel crash may be lost. The default.
        case normal
        /// `synchronous=FULL`: every commit is on disk before it is acknowledged. Slower.
        case full
    }

    public let path: String
    /// The largest part of the database file each connection maps into memory (past it, pages are read).
    static let memoryMapBytes = 256 << 20
    let pool: DatabasePool
    /// Mark submissions go through here, several to a transaction under load.
    let submissions: GroupCommit
    /// Copies the WAL into the database file beside the writer.
    let checkpoint: BackgroundCheckpoint

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String, durability: Durability = .normal) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            // Deleted rows (withdrawn marks, purged matches) are overwritten with zeros, whatever the build's
            // default; `scrubWAL` then removes the older WAL frames that still hold them.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // Pages are read through a memory map rather than copied in by pread: a profile of 20-mark
            // submissions had 12% of the server's CPU in pread, each connection's page cache re-reading what
            // other connections wrote.
            try db.execute(sql: "PRAGMA mmap_size = \(Self.memoryMapBytes)")
        }
        self.path = path
        try Self.restrictFileModes(path: path)
        pool = try DatabasePool(path: path, configuration: configuration)
        let checkpoint = try BackgroundCheckpoint(path: path, configuration: configuration)
        self.checkpoint = checkpoint
        submissions = GroupCommit(pool: pool) { Self.scrubWAL($0, checkpoint) }
        try Self.migrator.migrate(pool)
        pool.writeWithoutTransaction { checkpoint.install(on: $0) }
    }

    /// Creates the database file owner-only (0600) before SQLite opens it, and makes an existing one and its
    /// WAL and shared-memory files owner-only, whatever the umask: they hold member data. SQLite gives the
    /// `-wal` and `-shm` files it creates the mode of the database file.
    static func restrictFileModes(path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.invalidArgument, "cannot open or create the database file '\(path)'")
        }
        fchmod(descriptor, 0o600)
        _ = Glibc.close(descriptor)
        for suffix in ["-wal", "-shm"] { chmod(path + suffix, 0o600) }
    }

    // MARK: Helpers

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.write { db in try Self.storedData { try body(db) } }
    }

    /// `write`, then the WAL scrub (when `scrubs` says rows were deleted) in the same turn of the writer, before
    /// returning: a caller cancelled between the two could otherwise skip the scrub of a committed delete.
    func writeAndScrub<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T, scrubs: @escaping @Sendable (T) -> Bool = { _ in true }
    ) async throws -> T {
        try await pool.writeWithoutTransaction { [checkpoint] db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try Self.storedData { try body(db) }
                return .commit
            }
            if scrubs(result!) { Self.scrubWAL(db, checkpoint) }
            return result!
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read { db in try Self.storedData { try body(db) } }
    }

    /// A row that does not decode (a stored key, token or note of the wrong size) is the server's fault, not
    /// the caller's: report it as corrupt data, never as invalid input.
    static func storedData<T>(_ body: () throws -> T) throws -> T {
        try StoreError.mappingStoredData(body)
    }

    static func millis(_ date: Date) -> Int64 { StoredTime.millis(date) }
    static func date(_ millis: Int64) -> Date { StoredTime.date(millis) }

    static func programRecord(_ row: Row) throws -> ProgramRecord {
        ProgramRecord(
            id: row["id"], name: try ProgramID(row["name"]), maxMarks: row["max_marks"],
            epoch: UInt32(row["epoch"] as Int64), createdAt: date(row["created_at"]),
            about: ProgramAbout(description: row["description"], conduct: row["conduct"]),
            nextRoundAt: (row["next_round_at"] as Int64?).map(date), nextRoundBy: row["next_round_by"])
    }

    static func fetchProgram(_ db: Database, name: ProgramID) throws -> ProgramRecord? {
        try db.cachedRow(sql: "SELECT * FROM program WHERE name = ?", arguments: [name.rawValue]).map(programRecord)
    }

    static func requireProgram(_ db: Database, name: ProgramID) throws -> ProgramRecord {
        guard let record = try fetchProgram(db, name: name) else {
            throw StoreError(.programNotFound, "no program named '\(name)'")
        }
        return record
    }

    static func fetchMember(_ db: Database, id: Int64) throws -> MemberRecord? {
        try db.cachedRow(sql: "SELECT * FROM member WHERE id = ?", arguments: [id]).map { try memberRecord(db, $0) }
    }

    /// A member from its `member` row, with its tags.
    static func memberRecord(_ db: Database, _ row: Row) throws -> MemberRecord {
        let id: Int64 = row["id"]
        let tags = try db.cachedValues(
            String.self, sql: "SELECT tag FROM member_tag WHERE member_id = ? ORDER BY position", arguments: [id])
        return MemberRecord(
            id: id, programID: row["program_id"], handle: try Handle(row["handle"]),
            publicKey: try PublicKey(rawRepresentation: row["public_key"] as Data),
            profile: Profile(
                displayName: row["display_name"], headline: row["headline"], tags: tags,
                offersMentoring: row["offers_mentoring"], seeksMentoring: row["seeks_mentoring"]),
            status: MemberStatus(rawValue: row["status"]) ?? .suspended, joinedAt: date(row["joined_at"]))
    }

    static func writeTags(_ db: Database, memberID: Int64, tags: [String]) throws {
        try db.cachedExecute(sql: "DELETE FROM member_tag WHERE member_id = ?", arguments: [memberID])
        for (position, tag) in tags.enumerated() {
            try db.execute(
                sql: "INSERT INTO member_tag (member_id, position, tag) VALUES (?, ?, ?)",
                arguments: [memberID, position, tag])
        }
    }
}

extension Database {
    // Hot paths go through GRDB's statement cache: compiling SQL costs more than running these queries.

    func cachedRow(sql: String, arguments: StatementArguments = []) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedRows(sql: String, arguments: StatementArguments = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedValue<T: DatabaseValueConvertible & StatementColumnConvertible>(
        _ type: T.Type, sql: String, arguments: StatementArguments = []
    ) throws -> T? {
        try T.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedValues<T: DatabaseValueConvertible & StatementColumnConvertible>(
        _ type: T.Type, sql: String, arguments: StatementArguments = []
    ) throws -> [T] {
        try T.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedExecute(sql: String, arguments: StatementArguments = []) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

/// Nanoseconds of the monotonic clock (a plain C function, so SQLite's progress handler can call it).
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
