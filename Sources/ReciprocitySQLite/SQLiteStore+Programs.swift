public import Foundation
import GRDB
public import ReciprocityCore
public import ReciprocityStore

extension SQLiteStore {
    // MARK: Programs

    public func createProgram(name: ProgramID, maxMarks: Int, epoch: UInt32, audit: AuditEvent?) async throws
        -> ProgramRecord
    {
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
            let programID = db.lastInsertedRowID
            try Self.createDirectoryCounter(db, programID: programID)
            try Self.insertAudit(db, programID: programID, audit)
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

    public func setEpoch(program: ProgramID, epoch: UInt32, audit: AuditEvent?) async throws -> ProgramRecord {
        let updated = try await writeAndScrub { db in
            let record = try Self.requireProgram(db, name: program)
            try db.cachedExecute(
                sql: "UPDATE program SET epoch = ?, next_round_at = NULL, next_round_by = NULL WHERE id = ?",
                arguments: [Int64(epoch), record.id])
            try Self.epochChanged(db, programID: record.id, audit: audit)
            return try Self.requireProgram(db, name: program)
        }
        return updated
    }

    /// What follows every change of a program's epoch, by hand or scheduled: the pending marks of other epochs
    /// go, so do the past round's unsent closing notices, and the change is audited.
    static func epochChanged(_ db: Database, programID: Int64, audit: AuditEvent?) throws {
        try db.cachedExecute(
            sql: "DELETE FROM mark WHERE program_id = ?1 AND epoch != (SELECT epoch FROM program WHERE id = ?1)",
            arguments: [programID])
        try db.cachedExecute(
            sql: "DELETE FROM notice WHERE program_id = ? AND kind = ? AND state = 'queued'",
            arguments: [programID, NoticeKind.roundClosing.rawValue])
        try insertAudit(db, programID: programID, audit)
    }

    public func scheduleRound(program: ProgramID, at: Date?, audit: AuditEvent?) async throws -> ProgramRecord {
        try await write { db in
            let record = try Self.requireProgram(db, name: program)
            if at != nil && record.epoch == UInt32.max {
                throw StoreError(
                    .invalidArgument, "the program is in the last epoch, \(UInt32.max): it has no next round")
            }
            try db.cachedExecute(
                sql: "UPDATE program SET next_round_at = ?, next_round_by = ? WHERE id = ?",
                arguments: [
                    at.map(Self.millis), at.map { _ in audit?.actor.name ?? AuditActor.operator.name }, record.id,
                ])
            // The round's one closing notice (NoticeStore.queueRoundClosingNotices) is held while it is
            // cancelled, and given back its due time when it is scheduled again.
            try db.cachedExecute(
                sql: """
                    UPDATE notice SET due_at = CASE WHEN ?1 THEN created_at ELSE ?2 END
                    WHERE program_id = ?3 AND kind = ?4 AND state = 'queued'
                    """,
                arguments: [at != nil, NoticeLimits.heldDueAt, record.id, NoticeKind.roundClosing.rawValue])
            try Self.insertAudit(db, programID: record.id, audit)
            return try Self.requireProgram(db, name: program)
        }
    }

    public func startDueRounds(now: Date) async throws -> [ProgramRecord] {
        let now = Self.millis(now)
        let due = try await read { db in
            try Int64.fetchAll(
                db, sql: "SELECT id FROM program WHERE next_round_at <= ? AND epoch < ?",
                arguments: [now, Int64(UInt32.max)])
        }
        var started: [ProgramRecord] = []
        for id in due {
            // Checked again under the write lock (BEGIN IMMEDIATE): another process on the file may have started
            // it since the read.
            let record = try await writeAndScrub(
                { db -> ProgramRecord? in
                    guard
                        let row = try db.cachedRow(
                            sql: "SELECT * FROM program WHERE id = ? AND next_round_at <= ? AND epoch < ?",
                            arguments: [id, now, Int64(UInt32.max)])
                    else { return nil }
                    let scheduled = try Self.programRecord(row)
                    try db.cachedExecute(
                        sql:
                            "UPDATE program SET epoch = epoch + 1, next_round_at = NULL, next_round_by = NULL WHERE id = ?",
                        arguments: [id])
                    try Self.epochChanged(db, programID: id, audit: scheduled.startedRound())
                    return try Self.requireProgram(db, name: scheduled.name)
                }, scrubs: { $0 != nil })
            if let record { started.append(record) }
        }
        return started
    }

    public func setAbout(program: ProgramID, about: ProgramAbout, audit: AuditEvent?) async throws -> ProgramRecord {
        let about = try about.validated()
        return try await write { db in
            let record = try Self.requireProgram(db, name: program)
            try db.execute(
                sql: "UPDATE program SET description = ?, conduct = ? WHERE id = ?",
                arguments: [about.description, about.conduct, record.id])
            try Self.insertAudit(db, programID: record.id, audit)
            return try Self.requireProgram(db, name: program)
        }
    }

    public func setMaxMarks(program: ProgramID, maxMarks: Int, audit: AuditEvent?) async throws -> ProgramRecord {
        guard maxMarks >= 1, maxMarks <= 10_000 else {
            throw StoreError(.invalidArgument, "max marks must be 1 to 10000")
        }
        return try await write { db in
            let record = try Self.requireProgram(db, name: program)
            try db.execute(sql: "UPDATE program SET max_marks = ? WHERE id = ?", arguments: [maxMarks, record.id])
            try Self.insertAudit(db, programID: record.id, audit)
            return try Self.requireProgram(db, name: program)
        }
    }

    // MARK: Invites

    public func createInvite(program: ProgramID, codeDigest: Data, uses: Int, expiresAt: Date?, audit: AuditEvent?)
        async throws -> InviteRecord
    {
        guard uses >= 1, uses <= 1_000_000 else { throw StoreError(.invalidArgument, "uses must be 1 to 1000000") }
        return try await write { db in
            let record = try Self.requireProgram(db, name: program)
            try db.execute(
                sql:
                    "INSERT INTO invite (program_id, code_digest, uses_left, expires_at, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [record.id, codeDigest, uses, expiresAt.map(Self.millis), Self.millis(Date())])
            try Self.insertAudit(db, programID: record.id, audit)
            return InviteRecord(
                programID: record.id, usesLeft: uses, expiresAt: expiresAt, id: InviteID.of(codeDigest: codeDigest))
        }
    }
}
