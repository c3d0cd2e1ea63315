public import Foundation
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

extension PostgresStore {
    // MARK: Programs

    public func createProgram(name: ProgramID, maxMarks: Int, epoch: UInt32, audit: AuditEvent?) async throws
        -> ProgramRecord
    {
        guard maxMarks >= 1, maxMarks <= 10_000 else {
            throw StoreError(.invalidArgument, "max marks must be 1 to 10000")
        }
        do {
            return try await transaction { connection in
                try await self.execute(
                    """
                    INSERT INTO program (name, max_marks, epoch, created_at)
                    VALUES (\(name.rawValue), \(Int32(maxMarks)), \(Int64(epoch)), \(Self.millis(Date())))
                    """, on: connection)
                let program = try await self.requireProgram(connection, name: name)
                try await self.createDirectoryCounter(connection, programID: program.id)
                try await self.insertAudit(connection, programID: program.id, audit)
                return program
            }
        } catch  where Self.isUniqueViolation(error) {
            throw StoreError(.programExists, "program '\(name)' already exists")
        }
    }

    public func program(named name: ProgramID) async throws -> ProgramRecord? {
        try await read { connection in try await self.fetchProgram(connection, name: name) }
    }

    public func program(id: Int64) async throws -> ProgramRecord? {
        try await read { connection in
            try await self.row("SELECT * FROM program WHERE id = \(id)", on: connection).map(Self.programRecord)
        }
    }

    public func programs() async throws -> [ProgramRecord] {
        try await read { connection in
            try await self.rows("SELECT * FROM program ORDER BY name", on: connection).map(Self.programRecord)
        }
    }

    public func setEpoch(program: ProgramID, epoch: UInt32, audit: AuditEvent?) async throws -> ProgramRecord {
        try await transaction { connection in
            // The update waits for submissions in flight (they hold the program row in share mode), so none
            // stores a mark of the old epoch after the delete below.
            guard
                let row = try await self.row(
                    """
                    UPDATE program SET epoch = \(Int64(epoch)), next_round_at = NULL, next_round_by = NULL
                    WHERE name = \(program.rawValue) RETURNING *
                    """, on: connection)
            else { throw StoreError(.programNotFound, "no program named '\(program)'") }
            let record = try Self.programRecord(row)
            try await self.epochChanged(connection, record, audit: audit)
            return record
        }
    }

    /// What follows every change of a program's epoch, by hand or scheduled, in its transaction: the pending
    /// marks of other epochs go, so do the past round's unsent closing notices, and the change is audited.
    func epochChanged(_ connection: PostgresConnection, _ record: ProgramRecord, audit: AuditEvent?) async throws {
        try await execute(
            "DELETE FROM mark WHERE program_id = \(record.id) AND epoch <> \(Int64(record.epoch))", on: connection)
        try await execute(
            """
            DELETE FROM notice WHERE program_id = \(record.id) AND kind = \(NoticeKind.roundClosing.rawValue)
                AND state = 'queued'
            """, on: connection)
        try await insertAudit(connection, programID: record.id, audit)
    }

    public func scheduleRound(program: ProgramID, at: Date?, audit: AuditEvent?) async throws -> ProgramRecord {
        let by = at.map { _ in audit?.actor.name ?? AuditActor.operator.name }
        return try await transaction { connection in
            guard
                let row = try await self.row(
                    """
                    UPDATE program SET next_round_at = \(at.map(Self.millis)), next_round_by = \(by)
                    WHERE name = \(program.rawValue) RETURNING *
                    """, on: connection)
            else { throw StoreError(.programNotFound, "no program named '\(program)'") }
            let record = try Self.programRecord(row)
            if at != nil && record.epoch == UInt32.max {
                throw StoreError(
                    .invalidArgument, "the program is in the last epoch, \(UInt32.max): it has no next round")
            }
            // As SQLite's: the round's one closing notice is held while it is cancelled, and given back its due
            // time when it is scheduled again.
            try await self.execute(
                """
                UPDATE notice SET due_at = CASE WHEN \(at != nil) THEN created_at ELSE \(NoticeLimits.heldDueAt) END
                WHERE program_id = \(record.id) AND kind = \(NoticeKind.roundClosing.rawValue) AND state = 'queued'
                """, on: connection)
            try await self.insertAudit(connection, programID: record.id, audit)
            return record
        }
    }

    public func startDueRounds(now: Date) async throws -> [ProgramRecord] {
        let (now, last) = (Self.millis(now), Int64(UInt32.max))
        let due = try await read { connection in
            try await self.rows(
                "SELECT id FROM program WHERE next_round_at <= \(now) AND epoch < \(last)", on: connection
            ).map { try $0["id"].decode(Int64.self) }
        }
        var started: [ProgramRecord] = []
        for id in due {
            // One conditional update: a second process waits for the first's row lock, then finds the round
            // no longer scheduled and changes nothing. The old row (for its scheduler) is read under the lock.
            let record = try await transaction { connection -> ProgramRecord? in
                guard
                    let row = try await self.row(
                        """
                        SELECT * FROM program WHERE id = \(id) AND next_round_at <= \(now) AND epoch < \(last)
                        FOR UPDATE
                        """, on: connection)
                else { return nil }
                let scheduled = try Self.programRecord(row)
                let record = try Self.programRecord(
                    try await self.row(
                        """
                        UPDATE program SET epoch = epoch + 1, next_round_at = NULL, next_round_by = NULL
                        WHERE id = \(id) RETURNING *
                        """, on: connection)!)
                try await self.epochChanged(connection, record, audit: scheduled.startedRound())
                return record
            }
            if let record { started.append(record) }
        }
        return started
    }

    public func setAbout(program: ProgramID, about: ProgramAbout, audit: AuditEvent?) async throws -> ProgramRecord {
        let about = try about.validated()
        return try await transaction { connection in
            guard
                let row = try await self.row(
                    """
                    UPDATE program SET description = \(about.description), conduct = \(about.conduct)
                    WHERE name = \(program.rawValue) RETURNING *
                    """, on: connection)
            else { throw StoreError(.programNotFound, "no program named '\(program)'") }
            let record = try Self.programRecord(row)
            try await self.insertAudit(connection, programID: record.id, audit)
            return record
        }
    }

    public func setMaxMarks(program: ProgramID, maxMarks: Int, audit: AuditEvent?) async throws -> ProgramRecord {
        guard maxMarks >= 1, maxMarks <= 10_000 else {
            throw StoreError(.invalidArgument, "max marks must be 1 to 10000")
        }
        return try await transaction { connection in
            guard
                let row = try await self.row(
                    "UPDATE program SET max_marks = \(Int32(maxMarks)) WHERE name = \(program.rawValue) RETURNING *",
                    on: connection)
            else { throw StoreError(.programNotFound, "no program named '\(program)'") }
            let record = try Self.programRecord(row)
            try await self.insertAudit(connection, programID: record.id, audit)
            return record
        }
    }

    // MARK: Invites

    public func createInvite(program: ProgramID, codeDigest: Data, uses: Int, expiresAt: Date?, audit: AuditEvent?)
        async throws -> InviteRecord
    {
        guard uses >= 1, uses <= 1_000_000 else { throw StoreError(.invalidArgument, "uses must be 1 to 1000000") }
        return try await transaction { connection in
            let record = try await self.requireProgram(connection, name: program)
            try await self.execute(
                """
                INSERT INTO invite (program_id, code_digest, uses_left, expires_at, created_at)
                VALUES (\(record.id), \(codeDigest), \(Int32(uses)), \(expiresAt.map(Self.millis)), \(Self.millis(Date())))
                """, on: connection)
            try await self.insertAudit(connection, programID: record.id, audit)
            return InviteRecord(
                programID: record.id, usesLeft: uses, expiresAt: expiresAt, id: InviteID.of(codeDigest: codeDigest))
        }
    }
}
