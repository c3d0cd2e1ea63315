public import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import GRDB
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
        }
        self.path = path
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
        return migrator
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
        try await write { db in
            let record = try Self.requireProgram(db, name: program)
            try db.cachedExecute(sql: "UPDATE program SET epoch = ? WHERE id = ?", arguments: [Int64(epoch), record.id])
            try db.execute(
                sql: "DELETE FROM mark WHERE program_id = ? AND epoch != ?", arguments: [record.id, Int64(epoch)])
            return try Self.requireProgram(db, name: program)
        }
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
            let invalid = StoreError(.inviteInvalid, "the invite code is not valid for this program")
            guard let programRecord = try Self.fetchProgram(db, name: program) else { throw invalid }
            guard
                let invite = try db.cachedRow(sql: "SELECT id, uses_left, expires_at FROM invite WHERE code_digest = ? AND program_id = ?",
                    arguments: [inviteDigest, programRecord.id])
            else { throw invalid }
            let usesLeft: Int = invite["uses_left"]
            let expiresAt: Int64? = invite["expires_at"]
            guard usesLeft > 0, expiresAt.map({ $0 > Self.millis(now) }) ?? true else { throw invalid }
            if try db.cachedValue(Bool.self, sql: "SELECT 1 FROM member WHERE program_id = ? AND handle = ?",
                arguments: [programRecord.id, handle.rawValue]) != nil
            {
                throw StoreError(.handleTaken, "handle '\(handle)' is taken in this program")
            }
            try Self.requireUnusedKey(db, programID: programRecord.id, publicKey: publicKey)
            try db.cachedExecute(sql: "UPDATE invite SET uses_left = uses_left - 1 WHERE id = ?", arguments: [invite["id"]])
            try db.execute(
                sql: """
                    INSERT INTO member (program_id, handle, public_key, credential_digest, display_name, headline,
                                        offers_mentoring, seeks_mentoring, status, joined_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)
                    """,
                arguments: [
                    programRecord.id, handle.rawValue, publicKey.rawRepresentation, credentialDigest,
                    profile.displayName, profile.headline, profile.offersMentoring, profile.seeksMentoring,
                    Self.millis(now),
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
        try await write { db in
            guard let member = try Self.fetchMember(db, id: memberID) else {
                throw StoreError(.memberNotFound, "no such member")
            }
            try Self.requireUnusedKey(db, programID: member.programID, publicKey: publicKey)
            try db.cachedExecute(
                sql: "UPDATE member SET public_key = ? WHERE id = ?", arguments: [publicKey.rawRepresentation, memberID])
            try db.cachedExecute(sql: "DELETE FROM mark WHERE member_id = ?", arguments: [memberID])
            try Self.appendKeyLog(db, programID: member.programID, event: .rotate, handle: member.handle.rawValue,
                publicKey: publicKey.rawRepresentation, now: now)
            return try Self.fetchMember(db, id: memberID)!
        }
    }

    /// Refuses a key some member of the program already has (one key, one member: the key log's rule too).
    static func requireUnusedKey(_ db: Database, programID: Int64, publicKey: PublicKey) throws {
        if try db.cachedValue(Bool.self, sql: "SELECT 1 FROM member WHERE program_id = ? AND public_key = ?",
            arguments: [programID, publicKey.rawRepresentation]) != nil
        {
            throw StoreError(.keyTaken, "this public key is already registered in this program")
        }
    }

    public func updateProfile(memberID: Int64, profile: Profile) async throws -> MemberRecord {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE member SET display_name = ?, headline = ?, offers_mentoring = ?, seeks_mentoring = ?
                    WHERE id = ?
                    """,
                arguments: [
                    profile.displayName, profile.headline, profile.offersMentoring, profile.seeksMentoring, memberID,
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
        if let text = query.text, !text.isEmpty {
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            let pattern = "%\(escaped)%"
            conditions.append(
                "(handle LIKE ? ESCAPE '\\' OR display_name LIKE ? ESCAPE '\\' OR headline LIKE ? ESCAPE '\\')")
            _ = arguments.append(contentsOf: [pattern, pattern, pattern])
        }
        _ = arguments.append(contentsOf: [max(1, min(query.limit, 200))])
        let sql = "SELECT * FROM member WHERE \(conditions.joined(separator: " AND ")) ORDER BY handle LIMIT ?"
        let finalArguments = arguments
        return try await read { db in
            try db.cachedRows(sql: sql, arguments: finalArguments).map { try Self.memberRecord(db, $0) }
        }
    }

    public func members(programID: Int64) async throws -> [MemberRecord] {
        try await read { db in
            try db.cachedRows(sql: "SELECT * FROM member WHERE program_id = ? ORDER BY handle", arguments: [programID])
                .map { try Self.memberRecord(db, $0) }
        }
    }

    public func setStatus(program: ProgramID, handle: Handle, status: MemberStatus) async throws -> MemberRecord {
        try await write { db in
            let programRecord = try Self.requireProgram(db, name: program)
            guard
                let row = try db.cachedRow(sql: "SELECT id, status, public_key FROM member WHERE program_id = ? AND handle = ?",
                    arguments: [programRecord.id, handle.rawValue])
            else { throw StoreError(.memberNotFound, "no member '\(handle)' in program '\(program)'") }
            let id: Int64 = row["id"]
            // Only a change of status is a directory change, and only a directory change is logged.
            if row["status"] as String != status.rawValue {
                try db.cachedExecute(sql: "UPDATE member SET status = ? WHERE id = ?", arguments: [status.rawValue, id])
                try Self.appendKeyLog(db, programID: programRecord.id, event: status == .active ? .join : .leave,
                    handle: handle.rawValue, publicKey: row["public_key"], now: Date())
            }
            return try Self.fetchMember(db, id: id)!
        }
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

    // MARK: Marks

    public func submitMarks(memberID: Int64, programID: Int64, epoch: UInt32, marks: [Mark], now: Date) async throws
        -> [MarkOutcome]
    {
        // A token repeated within the batch is the same mark submitted twice: idempotent, first tag wins.
        var seen: Set<InterestToken> = []
        let unique = marks.filter { seen.insert($0.token).inserted }
        let outcomes = try await write { db in
            guard
                let program = try db.cachedRow(sql: "SELECT * FROM program WHERE id = ?", arguments: [programID])
                    .map(Self.programRecord)
            else { throw StoreError(.programNotFound, "no such program") }
            guard program.epoch == epoch else {
                throw StoreError(.wrongEpoch, "the program is in epoch \(program.epoch), not \(epoch)")
            }
            let nowMillis = Self.millis(now)
            // Two indexed look-ups for the whole batch, then one pass in order.
            let tokens = unique.map(\.token.rawRepresentation)
            let placeholders = databaseQuestionMarks(count: tokens.count)
            let matched = try Dictionary(
                db.cachedRows(sql: "SELECT token, first_member_id, second_member_id FROM \"match\" WHERE token IN (\(placeholders))",
                    arguments: StatementArguments(tokens)
                ).map { ($0["token"] as Data, $0) }, uniquingKeysWith: { first, _ in first })
            let pending = try Dictionary(
                db.cachedRows(sql: "SELECT token, program_id, epoch, member_id, tag, note FROM mark WHERE token IN (\(placeholders))",
                    arguments: StatementArguments(tokens)
                ).map { ($0["token"] as Data, $0) }, uniquingKeysWith: { first, _ in first })
            var outcomes: [MarkOutcome] = []
            var fresh: [Mark] = []
            for (mark, token) in zip(unique, tokens) {
                if let match = matched[token] {
                    // Resubmitting one's own matched token is idempotent; nobody else can use it.
                    guard match["first_member_id"] == memberID || match["second_member_id"] == memberID else {
                        throw StoreError(.tokenUnavailable, "a submitted token cannot be accepted")
                    }
                    outcomes.append(.matched)
                } else if let pending = pending[token] {
                    if pending["member_id"] == memberID {
                        outcomes.append(.pending)
                        continue
                    }
                    guard pending["program_id"] == programID, pending["epoch"] == Int64(epoch) else {
                        throw StoreError(.tokenUnavailable, "a submitted token cannot be accepted")
                    }
                    try db.execute(
                        sql: """
                            INSERT INTO "match" (token, program_id, epoch, first_member_id, first_tag, first_note,
                                                 second_member_id, second_tag, second_note, matched_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            token, programID, Int64(epoch), pending["member_id"], pending["tag"] as Data,
                            pending["note"] as Data?, memberID, mark.tag.rawRepresentation, mark.note?.rawRepresentation,
                            nowMillis,
                        ])
                    try db.cachedExecute(sql: "DELETE FROM mark WHERE token = ?", arguments: [token])
                    outcomes.append(.matched)
                } else {
                    fresh.append(mark)
                    outcomes.append(.pending)
                }
            }
            if !fresh.isEmpty {
                let held = try db.cachedValue(Int.self, sql: "SELECT COUNT(*) FROM mark WHERE member_id = ? AND epoch = ?",
                    arguments: [memberID, Int64(epoch)])!
                guard held + fresh.count <= program.maxMarks else {
                    throw StoreError(
                        .quotaExceeded,
                        "this batch would hold \(held + fresh.count) pending marks; the program allows \(program.maxMarks)")
                }
                let insert = try db.cachedStatement(
                    sql: "INSERT INTO mark (token, program_id, epoch, member_id, tag, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                for mark in fresh {
                    try insert.execute(arguments: [
                        mark.token.rawRepresentation, programID, Int64(epoch), memberID, mark.tag.rawRepresentation,
                        mark.note?.rawRepresentation, nowMillis,
                    ])
                }
            }
            return Dictionary(uniqueKeysWithValues: zip(unique.map(\.token), outcomes))
        }
        return marks.map { outcomes[$0.token]! }
    }

    public func pendingMarks(memberID: Int64) async throws -> [PendingMarkRecord] {
        try await read { db in
            try db.cachedRows(sql: "SELECT token, epoch, created_at FROM mark WHERE member_id = ? ORDER BY created_at, token",
                arguments: [memberID]
            ).map { row in
                PendingMarkRecord(
                    token: try InterestToken(rawRepresentation: row["token"] as Data),
                    epoch: UInt32(row["epoch"] as Int64), createdAt: Self.date(row["created_at"]))
            }
        }
    }

    public func withdraw(memberID: Int64, token: InterestToken) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM mark WHERE token = ? AND member_id = ?",
                arguments: [token.rawRepresentation, memberID])
            return db.changesCount == 1
        }
    }

    public func matches(memberID: Int64) async throws -> [MatchRecord] {
        try await read { db in
            try db.cachedRows(sql: """
                    SELECT m.token, m.epoch, m.matched_at,
                           CASE WHEN m.first_member_id = ?1 THEN m.second_tag ELSE m.first_tag END AS tag,
                           CASE WHEN m.first_member_id = ?1 THEN m.second_note ELSE m.first_note END AS note,
                           c.handle, c.public_key
                    FROM "match" m
                    JOIN member c ON c.id = CASE WHEN m.first_member_id = ?1 THEN m.second_member_id
                                                 ELSE m.first_member_id END
                    WHERE m.first_member_id = ?1 OR m.second_member_id = ?1
                    ORDER BY m.matched_at, m.id
                    """,
                arguments: [memberID]
            ).map { row in
                MatchRecord(
                    token: try InterestToken(rawRepresentation: row["token"] as Data),
                    epoch: UInt32(row["epoch"] as Int64),
                    counterpartHandle: try Handle(row["handle"]),
                    counterpartKey: try PublicKey(rawRepresentation: row["public_key"] as Data),
                    counterpartTag: try ConfirmationTag(rawRepresentation: row["tag"] as Data),
                    counterpartNote: try (row["note"] as Data?).map { try SealedNote(rawRepresentation: $0) },
                    matchedAt: Self.date(row["matched_at"]))
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

    public func purge(now: Date) async throws -> PurgeResult {
        try await write { db in
            try db.cachedExecute(
                sql: "DELETE FROM invite WHERE uses_left <= 0 OR (expires_at IS NOT NULL AND expires_at <= ?)",
                arguments: [Self.millis(now)])
            let invites = db.changesCount
            try db.cachedExecute(
                sql: "DELETE FROM mark WHERE epoch != (SELECT epoch FROM program WHERE program.id = mark.program_id)")
            return PurgeResult(invites: invites, marks: db.changesCount)
        }
    }

    /// Copies the live database into `path` with SQLite's online backup API: a consistent snapshot, taken
    /// while the server keeps writing. The copy is checked with `PRAGMA integrity_check`.
    public func backup(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.invalidArgument, "'\(path)' exists; backups never overwrite a file")
        }
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

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.write { db in try Self.storedData { try body(db) } }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
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
