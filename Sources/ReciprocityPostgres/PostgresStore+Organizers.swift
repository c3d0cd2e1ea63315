public import Foundation
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

extension PostgresStore {
    // MARK: Audit log

    /// Writes `event` to the program's audit log, in the caller's transaction, as the program's next entry
    /// (its counter in `audit_counter`, whose row lock orders two writers; never reused after a purge); nothing for
    /// nil. The counter is not a program column: a mark submission shares the program row, then locks members.
    func insertAudit(_ connection: PostgresConnection, programID: Int64, _ event: AuditEvent?) async throws {
        guard let event else { return }
        try await execute(
            """
            WITH counter AS (
                INSERT INTO audit_counter (program_id, seq) VALUES (\(programID), 1)
                ON CONFLICT (program_id) DO UPDATE SET seq = audit_counter.seq + 1 RETURNING seq
            )
            INSERT INTO audit_entry (program_id, seq, at, actor, action, subject, detail)
            SELECT \(programID), seq, \(Self.millis(event.at)), \(event.actor.name), \(event.action.rawValue),
                   \(event.subject), \(event.detail.map { String($0.prefix(AuditEvent.maxDetail)) })
            FROM counter
            """, on: connection)
    }

    public func auditLog(programID: Int64, before: Int64?, limit: Int) async throws -> [AuditEntry] {
        let limit = Int64(max(0, min(limit, StoreLimits.auditPageLimit)))
        return try await read { connection in
            try await self.rows(
                """
                SELECT * FROM audit_entry WHERE program_id = \(programID) AND seq < \(before ?? Int64.max)
                ORDER BY seq DESC LIMIT \(limit)
                """, on: connection
            ).map { row in
                AuditEntry(
                    id: try row["seq"].decode(Int64.self), at: Self.date(try row["at"].decode(Int64.self)),
                    actor: try row["actor"].decode(String.self), action: try row["action"].decode(String.self),
                    subject: try row["subject"].decode(String?.self), detail: try row["detail"].decode(String?.self))
            }
        }
    }

    // MARK: Invites

    public func invites(programID: Int64) async throws -> [InviteListing] {
        try await read { connection in
            try await self.rows(
                "SELECT * FROM invite WHERE program_id = \(programID) ORDER BY created_at DESC, id DESC",
                on: connection
            ).map(Self.inviteListing)
        }
    }

    public func revokeInvite(program: ProgramID, id: String, audit: AuditEvent?) async throws -> InviteListing {
        try await transaction { connection in
            let record = try await self.requireProgram(connection, name: program)
            let notFound = StoreError(.inviteNotFound, "program '\(program)' has no invite '\(id)'")
            guard let range = InviteID.digestRange(id),
                let row = try await self.row(
                    """
                    SELECT * FROM invite
                    WHERE code_digest BETWEEN \(range.lower) AND \(range.upper) AND program_id = \(record.id)
                    FOR UPDATE
                    """, on: connection)
            else { throw notFound }
            guard try row["revoked_at"].decode(Int64?.self) == nil else { return try Self.inviteListing(row) }
            let revoked = try await self.row(
                """
                UPDATE invite SET revoked_at = \(Self.millis(audit?.at ?? Date()))
                WHERE id = \(try row["id"].decode(Int64.self)) RETURNING *
                """, on: connection)!
            try await self.insertAudit(connection, programID: record.id, audit)
            return try Self.inviteListing(revoked)
        }
    }

    static func inviteListing(_ row: PostgresRandomAccessRow) throws -> InviteListing {
        InviteListing(
            id: InviteID.of(codeDigest: try row["code_digest"].decode(Data.self)),
            usesLeft: Int(try row["uses_left"].decode(Int32.self)),
            expiresAt: try row["expires_at"].decode(Int64?.self).map(date),
            createdAt: date(try row["created_at"].decode(Int64.self)),
            revokedAt: try row["revoked_at"].decode(Int64?.self).map(date))
    }

    // MARK: Organizers

    public func createOrganizer(
        name: String, credentialDigest: Data, programs: [ProgramID], actor: AuditActor, now: Date
    ) async throws -> OrganizerRecord {
        let name = try OrganizerRecord.validName(name)
        let exists = StoreError(.organizerExists, "an organizer named '\(name)' exists already")
        do {
            return try await transaction { connection in
                if try await self.row(
                    "SELECT 1 FROM organizer WHERE name = \(name) OR credential_digest = \(credentialDigest)",
                    on: connection) != nil
                {
                    throw exists
                }
                var records: [ProgramRecord] = []
                for program in Set(programs) {
                    records.append(try await self.requireProgram(connection, name: program))
                }
                let organizerID = try await self.row(
                    """
                    INSERT INTO organizer (name, credential_digest, created_at)
                    VALUES (\(name), \(credentialDigest), \(Self.millis(now))) RETURNING id
                    """, on: connection)!["id"].decode(Int64.self)
                for record in records {
                    try await self.execute(
                        "INSERT INTO organizer_program (organizer_id, program_id) VALUES (\(organizerID), \(record.id))",
                        on: connection)
                    try await self.insertAudit(
                        connection, programID: record.id,
                        AuditEvent(actor: actor, action: .organizerGranted, subject: name, at: now))
                }
                return try await self.organizerRecords(connection, where: "o.id = $1", organizerID).first!
            }
        } catch  where Self.isUniqueViolation(error) {
            throw exists
        }
    }

    public func organizers() async throws -> [OrganizerRecord] {
        try await read { connection in try await self.organizerRecords(connection, where: "true", nil) }
    }

    public func organizer(credentialDigest: Data) async throws -> OrganizerRecord? {
        try await read { connection in
            try await self.organizerRecords(connection, where: "o.credential_digest = $1", credentialDigest).first
        }
    }

    public func revokeOrganizer(name: String, actor: AuditActor, now: Date) async throws -> OrganizerRecord {
        try await transaction { connection in
            guard let record = try await self.organizerRecords(connection, where: "o.name = $1", name).first else {
                throw StoreError(.organizerNotFound, "no organizer named '\(name)'")
            }
            for row in try await self.rows(
                "SELECT program_id FROM organizer_program WHERE organizer_id = \(record.id)", on: connection)
            {
                try await self.insertAudit(
                    connection, programID: try row["program_id"].decode(Int64.self),
                    AuditEvent(actor: actor, action: .organizerRevoked, subject: name, at: now))
            }
            try await self.execute("DELETE FROM organizer WHERE id = \(record.id)", on: connection)
            return record
        }
    }

    /// The organizers that `condition` (on `o`, with `$1` bound to `value`) selects, with their programs, by name.
    private func organizerRecords(
        _ connection: PostgresConnection, where condition: String, _ value: (any PostgresEncodable & Sendable)?
    ) async throws -> [OrganizerRecord] {
        var binds = PostgresBindings()
        if let value { try binds.append(value) }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT o.id, o.name, o.created_at,
                       COALESCE(array_agg(p.name ORDER BY p.name) FILTER (WHERE p.name IS NOT NULL), '{}') AS programs
                FROM organizer o
                LEFT JOIN organizer_program g ON g.organizer_id = o.id LEFT JOIN program p ON p.id = g.program_id
                WHERE \(condition) GROUP BY o.id ORDER BY o.name
                """, binds: binds)
        return try await rows(query, on: connection).map { row in
            OrganizerRecord(
                id: try row["id"].decode(Int64.self), name: try row["name"].decode(String.self),
                programs: try row["programs"].decode([String].self).map(ProgramID.init),
                createdAt: Self.date(try row["created_at"].decode(Int64.self)))
        }
    }
}
