public import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import GRDB
import GRDBSQLite
public import ReciprocityCore

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
    let pool: DatabasePool

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String, durability: Durability = .normal) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            // Deleted rows (withdrawn marks, purged matches) are overwritten with zeros, whatever the build's
            // default; `scrubWAL` then removes the older WAL frames that still hold them.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        self.path = path
        try Self.restrictFileModes(path: path)
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// The schema, one migration per change; never edit a shipped migration.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE program (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        max_marks INTEGER NOT NULL,
                        epoch INTEGER NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE invite (
                        id INTEGER PRIMARY KEY,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        code_digest BLOB NOT NULL UNIQUE,
                        uses_left INTEGER NOT NULL,
                        expires_at INTEGER,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE member (
                        id INTEGER PRIMARY KEY,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        handle TEXT NOT NULL,
                        public_key BLOB NOT NULL,
                        credential_digest BLOB NOT NULL UNIQUE,
                        display_name TEXT NOT NULL,
                        headline TEXT NOT NULL,
                        offers_mentoring INTEGER NOT NULL,
                        seeks_mentoring INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        joined_at INTEGER NOT NULL,
                        UNIQUE (program_id, handle),
                        UNIQUE (program_id, public_key)
                    );
                    CREATE TABLE member_tag (
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        position INTEGER NOT NULL,
                        tag TEXT NOT NULL,
                        PRIMARY KEY (member_id, position)
                    ) WITHOUT ROWID;
                    CREATE INDEX member_tag_by_tag ON member_tag(tag);
                    -- A pending mark. Nothing here names or points to the target: only the submitter.
                    -- Tokens bind program and epoch, so the token alone is the key.
                    CREATE TABLE mark (
                        token BLOB NOT NULL PRIMARY KEY,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        tag BLOB NOT NULL,
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX mark_by_member ON mark(member_id, epoch);
                    -- A reciprocated mark: both members and both tags. Created in the transaction that
                    -- deletes the first member's pending mark.
                    CREATE TABLE "match" (
                        id INTEGER PRIMARY KEY,
                        token BLOB NOT NULL UNIQUE,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        first_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        first_tag BLOB NOT NULL,
                        second_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        second_tag BLOB NOT NULL,
                        matched_at INTEGER NOT NULL
                    );
                    CREATE INDEX match_by_first ON "match"(first_member_id);
                    CREATE INDEX match_by_second ON "match"(second_member_id);
                    """)
        }
        migrator.registerMigration("v2-sealed-notes") { db in
            // A note is opaque ciphertext of a fixed size; the server never looks inside.
            try db.execute(
                sql: """
                    ALTER TABLE mark ADD COLUMN note BLOB;
                    ALTER TABLE "match" ADD COLUMN first_note BLOB;
                    ALTER TABLE "match" ADD COLUMN second_note BLOB;
                    """)
        }
        migrator.registerMigration("v3-key-log") { db in
            // The key-transparency log (Specs/transparency.md): one row per directory change, never updated
            // or deleted. Members that joined before the log existed get their entries now, in join order.
            try db.execute(
                sql: """
                    CREATE TABLE key_log (
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        idx INTEGER NOT NULL,
                        event TEXT NOT NULL,
                        handle TEXT NOT NULL,
                        public_key BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, idx)
                    ) WITHOUT ROWID;
                    """)
            let members = try Row.fetchAll(
                db, sql: "SELECT program_id, handle, public_key, status, joined_at FROM member ORDER BY joined_at, id")
            for member in members {
                let at = Self.date(member["joined_at"])
                try appendKeyLog(db, programID: member["program_id"], event: .join, handle: member["handle"],
                    publicKey: member["public_key"], now: at)
                if member["status"] as String != MemberStatus.active.rawValue {
                    try appendKeyLog(db, programID: member["program_id"], event: .leave, handle: member["handle"],
                        publicKey: member["public_key"], now: at)
                }
            }
        }
        migrator.registerMigration("v4-scoped-marks") { db in
            // Marks and matches keyed by (program, epoch, token): a token held in another program or epoch is
            // unknown here, so a second membership cannot probe this program's marks. Match rows name their
            // two members in id order, not in the order they marked. Members get a bounded, normalised
            // search column; the key log gets the indexes the rotation rules need.
            try db.execute(
                sql: """
                    CREATE TABLE mark_v4 (
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        tag BLOB NOT NULL,
                        note BLOB,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, epoch, token)
                    ) WITHOUT ROWID;
                    INSERT INTO mark_v4 SELECT program_id, epoch, token, member_id, tag, note, created_at FROM mark;
                    DROP TABLE mark;
                    ALTER TABLE mark_v4 RENAME TO mark;
                    CREATE INDEX mark_by_member ON mark(member_id, epoch, token);
                    CREATE TABLE match_v4 (
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        a_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        a_tag BLOB NOT NULL,
                        a_note BLOB,
                        b_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        b_tag BLOB NOT NULL,
                        b_note BLOB,
                        matched_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, epoch, token)
                    ) WITHOUT ROWID;
                    INSERT INTO match_v4
                        SELECT program_id, epoch, token,
                               MIN(first_member_id, second_member_id),
                               CASE WHEN first_member_id < second_member_id THEN first_tag ELSE second_tag END,
                               CASE WHEN first_member_id < second_member_id THEN first_note ELSE second_note END,
                               MAX(first_member_id, second_member_id),
                               CASE WHEN first_member_id < second_member_id THEN second_tag ELSE first_tag END,
                               CASE WHEN first_member_id < second_member_id THEN second_note ELSE first_note END,
                               matched_at
                        FROM "match";
                    DROP TABLE "match";
                    ALTER TABLE match_v4 RENAME TO "match";
                    CREATE INDEX match_by_a ON "match"(a_member_id, epoch);
                    CREATE INDEX match_by_b ON "match"(b_member_id, epoch);
                    CREATE INDEX key_log_by_key ON key_log(program_id, public_key);
                    CREATE INDEX key_log_by_handle ON key_log(program_id, handle, event, created_at);
                    ALTER TABLE member ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
                    ALTER TABLE member ADD COLUMN handle_skeleton TEXT NOT NULL DEFAULT '';
                    CREATE INDEX member_by_skeleton ON member(program_id, handle_skeleton);
                    -- Suspended members hold no pending marks from now on; neither do those suspended before.
                    DELETE FROM mark WHERE member_id IN (SELECT id FROM member WHERE status != 'active');
                    """)
            for row in try Row.fetchAll(db, sql: "SELECT id, handle, display_name, headline FROM member") {
                try db.execute(
                    sql: "UPDATE member SET search_text = ?, handle_skeleton = ? WHERE id = ?",
                    arguments: [
                        Self.searchText(row["display_name"], row["headline"]), try Handle(row["handle"]).skeleton, row["id"],
                    ])
            }
        }
        return migrator
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

    // MARK: Programs

    public func createProgram(name: ProgramID, maxMarks: Int, epoch: UInt32) async throws -> ProgramRecord {
        guard maxMarks >= 1, maxMarks <= 10_000 else {
            throw StoreError(.invalidArgument, "max marks must be 1 to 10000")
        }
        return try await write { db in
            if try Self.fetchProgram(db, name: name) != nil {
                throw StoreError(.programExists, "program '\(name)' already exists")
            }
            try db.execute(
                sql: "INSERT INTO program (name, max_marks, epoch, created_at) VALUES (?, ?, ?, ?)",
                arguments: [name.rawValue, maxMarks, Int64(epoch), Self.millis(Date())])
            return try Self.fetchProgram(db, name: name)!
        }
    }

    public func program(named name: ProgramID) async throws -> ProgramRecord? {
        try await read { db in try Self.fetchProgram(db, name: name) }
    }

    public func program(id: Int64) async throws -> ProgramRecord? {
        try await read { db in
            try db.cachedRow(sql: "SELECT * FROM program WHERE id = ?", arguments: [id]).map(Self.programRecord)
        }
    }

    public func programs() async throws -> [ProgramRecord] {
        try await read { db in
            try db.cachedRows(sql: "SELECT * FROM program ORDER BY name").map(Self.programRecord)
        }
    }

    public func setEpoch(program: ProgramID, epoch: UInt32) async throws -> ProgramRecord {
        let updated = try await write { db in
            let record = try Self.requireProgram(db, name: program)
            try db.cachedExecute(sql: "UPDATE program SET epoch = ? WHERE id = ?", arguments: [Int64(epoch), record.id])
            try db.execute(
                sql: "DELETE FROM mark WHERE program_id = ? AND epoch != ?", arguments: [record.id, Int64(epoch)])
            return try Self.requireProgram(db, name: program)
        }
        await scrubWAL()
        return updated
    }

    // MARK: Invites

    public func createInvite(program: ProgramID, codeDigest: Data, uses: Int, expiresAt: Date?) async throws
        -> InviteRecord
    {
        guard uses >= 1, uses <= 1_000_000 else { throw StoreError(.invalidArgument, "uses must be 1 to 1000000") }
        return try await write { db in
            let record = try Self.requireProgram(db, name: program)
            try db.execute(
                sql: "INSERT INTO invite (program_id, code_digest, uses_left, expires_at, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [record.id, codeDigest, uses, expiresAt.map(Self.millis), Self.millis(Date())])
            return InviteRecord(programID: record.id, usesLeft: uses, expiresAt: expiresAt)
        }
    }

    // MARK: Members

    public func join(
        program: ProgramID, inviteDigest: Data, handle: Handle, publicKey: PublicKey, profile: Profile,
        credentialDigest: Data, now: Date
    ) async throws -> (MemberRecord, ProgramRecord) {
        try await write { db in
            // One answer for every invite problem (unknown, other program, used up, expired), so the response
            // does not help anyone probe for codes.
            // Program and invite come from one query that starts at the invite, so an unknown program costs
            // the same as a known program with a wrong code.
            let invalid = StoreError(.inviteInvalid, "the invite code is not valid for this program")
            guard
                let invite = try db.cachedRow(
                    sql: """
                        SELECT i.id AS invite_id, i.uses_left, i.expires_at, p.*
                        FROM invite i JOIN program p ON p.id = i.program_id
                        WHERE i.code_digest = ? AND p.name = ?
                        """,
                    arguments: [inviteDigest, program.rawValue])
            else { throw invalid }
            let programRecord = try Self.programRecord(invite)
            let usesLeft: Int = invite["uses_left"]
            let expiresAt: Int64? = invite["expires_at"]
            guard usesLeft > 0, expiresAt.map({ $0 > Self.millis(now) }) ?? true else { throw invalid }
            if try db.cachedValue(Bool.self, sql: "SELECT 1 FROM member WHERE program_id = ? AND handle = ?",
                arguments: [programRecord.id, handle.rawValue]) != nil
            {
                throw StoreError(.handleTaken, "handle '\(handle)' is taken in this program")
            }
            if try db.cachedValue(Bool.self, sql: "SELECT 1 FROM member WHERE program_id = ? AND handle_skeleton = ?",
                arguments: [programRecord.id, handle.skeleton]) != nil
            {
                throw StoreError(
                    .handleTaken,
                    "handle '\(handle)' looks like a handle already in this program (separators, 0/o, 1/l, rn/m and vv/w count as the same); choose another")
            }
            try Self.requireUnusedKey(db, programID: programRecord.id, publicKey: publicKey)
            try db.cachedExecute(sql: "UPDATE invite SET uses_left = uses_left - 1 WHERE id = ?", arguments: [invite["invite_id"]])
            try db.execute(
                sql: """
                    INSERT INTO member (program_id, handle, public_key, credential_digest, display_name, headline,
                                        offers_mentoring, seeks_mentoring, status, joined_at, search_text, handle_skeleton)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)
                    """,
                arguments: [
                    programRecord.id, handle.rawValue, publicKey.rawRepresentation, credentialDigest,
                    profile.displayName, profile.headline, profile.offersMentoring, profile.seeksMentoring,
                    Self.millis(now), Self.searchText(profile.displayName, profile.headline), handle.skeleton,
                ])
            let memberID = db.lastInsertedRowID
            try Self.writeTags(db, memberID: memberID, tags: profile.tags)
            try Self.appendKeyLog(db, programID: programRecord.id, event: .join, handle: handle.rawValue,
                publicKey: publicKey.rawRepresentation, now: now)
            return (try Self.fetchMember(db, id: memberID)!, programRecord)
        }
    }

    public func authenticate(credentialDigest: Data) async throws -> (MemberRecord, ProgramRecord)? {
        try await read { db in
            guard
                let row = try db.cachedRow(sql: "SELECT * FROM member WHERE credential_digest = ?",
                    arguments: [credentialDigest])
            else { return nil }
            // The index lookup finds the row; the final comparison is constant time.
            let stored: Data = row["credential_digest"]
            guard constantTimeEquals(stored, credentialDigest) else { return nil }
            let member = try Self.memberRecord(db, row)
            let program = try db.cachedRow(sql: "SELECT * FROM program WHERE id = ?", arguments: [member.programID])
                .map(Self.programRecord)!
            return (member, program)
        }
    }

    public func replaceCredential(memberID: Int64, credentialDigest: Data) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE member SET credential_digest = ? WHERE id = ?", arguments: [credentialDigest, memberID])
            guard db.changesCount == 1 else { throw StoreError(.memberNotFound, "no such member") }
        }
    }

    public func rotateKey(memberID: Int64, publicKey: PublicKey, now: Date) async throws -> MemberRecord {
        let rotated = try await write { db in
            guard let member = try Self.fetchMember(db, id: memberID) else {
                throw StoreError(.memberNotFound, "no such member")
            }
            try Self.requireUnusedKey(db, programID: member.programID, publicKey: publicKey)
            // Each rotation is a log entry forever: bound them, oldest first out of the window.
            let window = Self.millis(now) - Int64(StoreLimits.rotationWindow * 1000)
            let recent = try db.cachedValues(
                Int64.self,
                sql: """
                    SELECT created_at FROM key_log WHERE program_id = ? AND handle = ? AND event = ? AND created_at > ?
                    ORDER BY created_at
                    """,
                arguments: [member.programID, member.handle.rawValue, KeyLogEvent.rotate.rawValue, window])
            if recent.count >= StoreLimits.rotationsPerWindow {
                var error = StoreError(
                    .rotationLimited,
                    "at most \(StoreLimits.rotationsPerWindow) key rotations per member in \(Int(StoreLimits.rotationWindow / 3600)) hours")
                error.retryAfter = Int((recent[0] - window) / 1000) + 1
                throw error
            }
            try db.cachedExecute(
                sql: "UPDATE member SET public_key = ? WHERE id = ?", arguments: [publicKey.rawRepresentation, memberID])
            try db.cachedExecute(sql: "DELETE FROM mark INDEXED BY mark_by_member WHERE member_id = ?", arguments: [memberID])
            try Self.appendKeyLog(db, programID: member.programID, event: .rotate, handle: member.handle.rawValue,
                publicKey: publicKey.rawRepresentation, now: now)
            return try Self.fetchMember(db, id: memberID)!
        }
        await scrubWAL()
        return rotated
    }

    /// Refuses a key the program's key log has ever held, live or retired: one key, one member, and a
    /// retired key can never be put back (a thief of an old device could otherwise revive it).
    static func requireUnusedKey(_ db: Database, programID: Int64, publicKey: PublicKey) throws {
        if try db.cachedValue(Bool.self, sql: "SELECT 1 FROM key_log WHERE program_id = ? AND public_key = ?",
            arguments: [programID, publicKey.rawRepresentation]) != nil
        {
            throw StoreError(.keyTaken, "this public key is or was registered in this program; generate a new one")
        }
    }

    public func updateProfile(memberID: Int64, profile: Profile) async throws -> MemberRecord {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE member SET display_name = ?, headline = ?, offers_mentoring = ?, seeks_mentoring = ?,
                                      search_text = ?
                    WHERE id = ?
                    """,
                arguments: [
                    profile.displayName, profile.headline, profile.offersMentoring, profile.seeksMentoring,
                    Self.searchText(profile.displayName, profile.headline), memberID,
                ])
            guard db.changesCount == 1 else { throw StoreError(.memberNotFound, "no such member") }
            try Self.writeTags(db, memberID: memberID, tags: profile.tags)
            return try Self.fetchMember(db, id: memberID)!
        }
    }

    public func member(programID: Int64, handle: Handle) async throws -> MemberRecord? {
        try await read { db in
            try db.cachedRow(
                sql: "SELECT * FROM member WHERE program_id = ? AND handle = ?", arguments: [programID, handle.rawValue]
            ).map { try Self.memberRecord(db, $0) }
        }
    }

    public func directory(programID: Int64, query: DirectoryQuery) async throws -> [MemberRecord] {
        var conditions = ["program_id = ?", "status = 'active'"]
        var arguments: StatementArguments = [programID]
        if let after = query.after {
            conditions.append("handle > ?")
            _ = arguments.append(contentsOf: [after])
        }
        if let offers = query.offersMentoring {
            conditions.append("offers_mentoring = ?")
            _ = arguments.append(contentsOf: [offers])
        }
        if let seeks = query.seeksMentoring {
            conditions.append("seeks_mentoring = ?")
            _ = arguments.append(contentsOf: [seeks])
        }
        if let tag = query.tag {
            conditions.append("EXISTS (SELECT 1 FROM member_tag t WHERE t.member_id = member.id AND t.tag = ?)")
            _ = arguments.append(contentsOf: [tag])
        }
        if let text = query.text.map({ Self.searchText($0) }), !text.isEmpty {
            // Substring search over the bounded, normalised column (no pattern language, no backtracking).
            conditions.append("(instr(handle, ?) > 0 OR instr(search_text, ?) > 0)")
            _ = arguments.append(contentsOf: [text, text])
        }
        _ = arguments.append(contentsOf: [max(1, min(query.limit, 201))])
        let sql = "SELECT * FROM member WHERE \(conditions.joined(separator: " AND ")) ORDER BY handle LIMIT ?"
        let finalArguments = arguments
        return try await read { db in
            try Self.withTimeLimit(db, seconds: StoreLimits.directoryQuerySeconds) {
                try db.cachedRows(sql: sql, arguments: finalArguments).map { try Self.memberRecord(db, $0) }
            }
        }
    }

    /// What directory search compares: case, width and diacritics folded, combining marks dropped, at most
    /// 1,024 bytes. Queries are folded the same way.
    static func searchText(_ parts: String...) -> String {
        let folded = parts.joined(separator: "\n")
            .folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var scalars = String.UnicodeScalarView()
        var bytes = 0
        for scalar in folded.unicodeScalars where !Profile.isCombiningMark(scalar) {
            bytes += String(scalar).utf8.count
            guard bytes <= 1024 else { break }
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// Runs `body` and aborts its SQLite statements once `seconds` have passed (SQLite's progress handler),
    /// so one expensive query cannot hold a reader, and every request that waits for one, for long.
    static func withTimeLimit<T>(_ db: Database, seconds: Double, _ body: () throws -> T) throws -> T {
        let deadline = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        deadline.pointee = monotonicNanoseconds() + UInt64(seconds * 1e9)
        sqlite3_progress_handler(db.sqliteConnection, 1000, { context in
            monotonicNanoseconds() > context!.assumingMemoryBound(to: UInt64.self).pointee ? 1 : 0
        }, deadline)
        defer {
            sqlite3_progress_handler(db.sqliteConnection, 0, nil, nil)
            deadline.deallocate()
        }
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            throw StoreError(.queryTooSlow, "the search took too long; narrow it with a tag or a longer text")
        }
    }

    public func members(programID: Int64) async throws -> [MemberRecord] {
        try await read { db in
            try db.cachedRows(sql: "SELECT * FROM member WHERE program_id = ? ORDER BY handle", arguments: [programID])
                .map { try Self.memberRecord(db, $0) }
        }
    }

    public func setStatus(program: ProgramID, handle: Handle, status: MemberStatus) async throws -> MemberRecord {
        let member = try await write { db in
            let programRecord = try Self.requireProgram(db, name: program)
            guard
                let row = try db.cachedRow(sql: "SELECT id, status, public_key FROM member WHERE program_id = ? AND handle = ?",
                    arguments: [programRecord.id, handle.rawValue])
            else { throw StoreError(.memberNotFound, "no member '\(handle)' in program '\(program)'") }
            let id: Int64 = row["id"]
            // Only a change of status is a directory change, and only a directory change is logged.
            if row["status"] as String != status.rawValue {
                try db.cachedExecute(sql: "UPDATE member SET status = ? WHERE id = ?", arguments: [status.rawValue, id])
                // A suspended member's pending marks are deleted, so they cannot complete matches while the
                // member cannot see them; on reinstatement the member's client submits its interests again.
                try db.cachedExecute(sql: "DELETE FROM mark INDEXED BY mark_by_member WHERE member_id = ?", arguments: [id])
                try Self.appendKeyLog(db, programID: programRecord.id, event: status == .active ? .join : .leave,
                    handle: handle.rawValue, publicKey: row["public_key"], now: Date())
            }
            return try Self.fetchMember(db, id: id)!
        }
        await scrubWAL()
        return member
    }

    // MARK: Key log

    public func keyLog(programID: Int64, from start: Int, limit: Int) async throws -> [KeyLogRecord] {
        try await read { db in
            let program = try db.cachedValue(String.self, sql: "SELECT name FROM program WHERE id = ?", arguments: [programID])
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

    // MARK: Operations

    public func statistics() async throws -> StoreStatistics {
        try await read { db in
            let row = try db.cachedRow(sql: """
                    SELECT (SELECT COUNT(*) FROM program) AS programs, (SELECT COUNT(*) FROM member) AS members,
                           (SELECT COUNT(*) FROM mark) AS marks, (SELECT COUNT(*) FROM "match") AS matches
                    """)!
            return StoreStatistics(
                programs: row["programs"], members: row["members"], pendingMarks: row["marks"], matches: row["matches"])
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

    public func purge(now: Date, matchRetention: TimeInterval) async throws -> PurgeResult {
        let result = try await write { db in
            try db.cachedExecute(
                sql: "DELETE FROM invite WHERE uses_left <= 0 OR (expires_at IS NOT NULL AND expires_at <= ?)",
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
            return PurgeResult(invites: invites, marks: marks, matches: db.changesCount)
        }
        await scrubWAL()
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
        let queue = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        defer { try? queue.close() }
        let result = try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
        guard result == ["ok"] else {
            throw StoreError(.invalidArgument, "'\(path)' fails the integrity check: \(result.prefix(3).joined(separator: "; "))")
        }
        let applied = try queue.read { try migrator.appliedIdentifiers($0) }
        guard applied == Set(migrator.migrations) else {
            throw StoreError(.invalidArgument, "'\(path)' is not a Reciprocity database of this version")
        }
    }

    /// Replaces the database at `path` with a verified backup. The server must not be running: the swap is a
    /// rename, and the old file's WAL and shared-memory files are removed so they cannot be replayed onto it.
    public static func restore(from backup: String, to path: String) throws {
        try verify(path: backup)
        let staging = path + ".restoring"
        try? FileManager.default.removeItem(atPath: staging)
        try FileManager.default.copyItem(atPath: backup, toPath: staging)
        chmod(staging, 0o600)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        guard rename(staging, path) == 0 else {
            throw StoreError(.invalidArgument, "cannot move the restored copy into place at '\(path)'")
        }
    }

    /// Checkpoints the WAL into the main file and closes every connection.
    public func close() throws {
        try pool.close()
    }

    /// Bytes on disk: the main file plus its WAL.
    public func fileSize() -> Int {
        ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? Int }
            .reduce(0, +)
    }

    // MARK: Helpers

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.write { db in try Self.storedData { try body(db) } }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read { db in try Self.storedData { try body(db) } }
    }

    /// A row that does not decode (a stored key, token or note of the wrong size) is the server's fault, not
    /// the caller's: report it as corrupt data, never as invalid input.
    static func storedData<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ReciprocityError {
            throw StoreError(.corruptData, "a stored record is malformed (\(error.code))")
        }
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    static func programRecord(_ row: Row) throws -> ProgramRecord {
        ProgramRecord(
            id: row["id"], name: try ProgramID(row["name"]), maxMarks: row["max_marks"],
            epoch: UInt32(row["epoch"] as Int64), createdAt: date(row["created_at"]))
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
private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
