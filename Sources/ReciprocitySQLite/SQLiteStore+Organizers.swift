public import Foundation
import GRDB
public import ReciprocityCore
public import ReciprocityStore

extension SQLiteStore {
    // MARK: Audit log

    /// Writes `event` to the program's audit log, in the caller's transaction, as the program's next entry
    /// (its counter in `audit_counter`, never reused after a purge); nothing for nil.
    static func insertAudit(_ db: Database, programID: Int64, _ event: AuditEvent?) throws {
        guard let event else { return }
        try db.cachedExecute(
            sql: """
                INSERT INTO audit_counter (program_id, seq) VALUES (?, 1)
                ON CONFLICT (program_id) DO UPDATE SET seq = seq + 1
                """, arguments: [programID])
        try db.cachedExecute(
            sql: """
                INSERT INTO audit_entry (program_id, seq, at, actor, action, subject, detail)
                VALUES (?1, (SELECT seq FROM audit_counter WHERE program_id = ?1), ?2, ?3, ?4, ?5, ?6)
                """,
            arguments: [
                programID, millis(event.at), event.actor.name, event.action.rawValue, event.subject,
                event.detail.map { String($0.prefix(AuditEvent.maxDetail)) },
            ])
    }

    public func auditLog(programID: Int64, before: Int64?, limit: Int) async throws -> [AuditEntry] {
        try await read { db in
            try db.cachedRows(
                sql: "SELECT * FROM audit_entry WHERE program_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                arguments: [programID, before ?? Int64.max, max(0, min(limit, StoreLimits.auditPageLimit))]
            ).map {
                AuditEntry(
                    id: $0["seq"], at: Self.date($0["at"]), actor: $0["actor"], action: $0["action"],
                    subject: $0["subject"], detail: $0["detail"])
            }
        }
    }

    // MARK: Invites

    public func invites(programID: Int64) async throws -> [InviteListing] {
        try await read { db in
            try db.cachedRows(
                sql: "SELECT * FROM invite WHERE program_id = ? ORDER BY created_at DESC, id DESC",
                arguments: [programID]
            ).map(Self.inviteListing)
        }
    }

    public func revokeInvite(program: ProgramID, id: String, audit: AuditEvent?) async throws -> InviteListing {
        try await write { db in
            let record = try Self.requireProgram(db, name: program)
            let notFound = StoreError(.inviteNotFound, "program '\(program)' has no invite '\(id)'")
            guard let range = InviteID.digestRange(id),
                let row = try db.cachedRow(
                    sql: "SELECT * FROM invite WHERE code_digest BETWEEN ? AND ? AND program_id = ?",
                    arguments: [range.lower, range.upper, record.id])
            else { throw notFound }
            if (row["revoked_at"] as Int64?) == nil {
                try db.cachedExecute(
                    sql: "UPDATE invite SET revoked_at = ? WHERE id = ?",
                    arguments: [Self.millis(audit?.at ?? Date()), row["id"]])
                try Self.insertAudit(db, programID: record.id, audit)
            }
            return try Self.inviteListing(
                db.cachedRow(sql: "SELECT * FROM invite WHERE id = ?", arguments: [row["id"]])!)
        }
    }

    static func inviteListing(_ row: Row) -> InviteListing {
        InviteListing(
            id: InviteID.of(codeDigest: row["code_digest"]), usesLeft: row["uses_left"],
            expiresAt: (row["expires_at"] as Int64?).map(date), createdAt: date(row["created_at"]),
            revokedAt: (row["revoked_at"] as Int64?).map(date))
    }

    // MARK: Organizers

    public func createOrganizer(
        name: String, credentialDigest: Data, programs: [ProgramID], actor: AuditActor, now: Date
    ) async throws -> OrganizerRecord {
        let name = try OrganizerRecord.validName(name)
        return try await write { db in
            if try db.cachedValue(
                Bool.self, sql: "SELECT 1 FROM organizer WHERE name = ? OR credential_digest = ?",
                arguments: [name, credentialDigest]) != nil
            {
                throw StoreError(.organizerExists, "an organizer named '\(name)' exists already")
            }
            let records = try Set(programs).map { try Self.requireProgram(db, name: $0) }
            try db.execute(
                sql: "INSERT INTO organizer (name, credential_digest, created_at) VALUES (?, ?, ?)",
                arguments: [name, credentialDigest, Self.millis(now)])
            let organizerID = db.lastInsertedRowID
            for record in records {
                try db.execute(
                    sql: "INSERT INTO organizer_program (organizer_id, program_id) VALUES (?, ?)",
                    arguments: [organizerID, record.id])
                try Self.insertAudit(
                    db, programID: record.id,
                    AuditEvent(actor: actor, action: .organizerGranted, subject: name, at: now))
            }
            return try Self.organizerRecord(db, id: organizerID)!
        }
    }

    public func organizers() async throws -> [OrganizerRecord] {
        try await read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM organizer ORDER BY name").map {
                try Self.organizerRecord(db, id: $0)!
            }
        }
    }

    public func organizer(credentialDigest: Data) async throws -> OrganizerRecord? {
        try await read { db in
            guard
                let id = try db.cachedValue(
                    Int64.self, sql: "SELECT id FROM organizer WHERE credential_digest = ?",
                    arguments: [credentialDigest])
            else { return nil }
            return try Self.organizerRecord(db, id: id)
        }
    }

    public func revokeOrganizer(name: String, actor: AuditActor, now: Date) async throws -> OrganizerRecord {
        try await write { db in
            guard
                let id = try db.cachedValue(
                    Int64.self, sql: "SELECT id FROM organizer WHERE name = ?", arguments: [name]),
                let record = try Self.organizerRecord(db, id: id)
            else { throw StoreError(.organizerNotFound, "no organizer named '\(name)'") }
            for programID in try Int64.fetchAll(
                db, sql: "SELECT program_id FROM organizer_program WHERE organizer_id = ?", arguments: [id])
            {
                try Self.insertAudit(
                    db, programID: programID,
                    AuditEvent(actor: actor, action: .organizerRevoked, subject: name, at: now))
            }
            try db.execute(sql: "DELETE FROM organizer WHERE id = ?", arguments: [id])
            return record
        }
    }

    static func organizerRecord(_ db: Database, id: Int64) throws -> OrganizerRecord? {
        guard let row = try db.cachedRow(sql: "SELECT * FROM organizer WHERE id = ?", arguments: [id]) else {
            return nil
        }
        let programs = try String.fetchAll(
            db,
            sql: """
                SELECT p.name FROM organizer_program g JOIN program p ON p.id = g.program_id
                WHERE g.organizer_id = ? ORDER BY p.name
                """, arguments: [id])
        return OrganizerRecord(
            id: id, name: row["name"], programs: try programs.map(ProgramID.init), createdAt: date(row["created_at"]))
    }
}
