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
                    "UPDATE program SET epoch = \(Int64(epoch)) WHERE name = \(program.rawValue) RETURNING *",
                    on: connection)
            else { throw StoreError(.programNotFound, "no program named '\(program)'") }
            let record = try Self.programRecord(row)
            try await self.execute(
                "DELETE FROM mark WHERE program_id = \(record.id) AND epoch <> \(Int64(epoch))", on: connection)
            try await self.insertAudit(connection, programID: record.id, audit)
            return record
        }
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
