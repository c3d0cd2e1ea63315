public import Foundation
import GRDB
import GRDBSQLite
public import ReciprocityCore
public import ReciprocityStore

extension SQLiteStore {
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
                        SELECT i.id AS invite_id, i.uses_left, i.expires_at, i.revoked_at, p.*
                        FROM invite i JOIN program p ON p.id = i.program_id
                        WHERE i.code_digest = ? AND p.name = ?
                        """,
                    arguments: [inviteDigest, program.rawValue])
            else { throw invalid }
            let programRecord = try Self.programRecord(invite)
            let usesLeft: Int = invite["uses_left"]
            let expiresAt: Int64? = invite["expires_at"]
            let revokedAt: Int64? = invite["revoked_at"]
            guard usesLeft > 0, expiresAt.map({ $0 > Self.millis(now) }) ?? true, revokedAt == nil else {
                throw invalid
            }
            if try db.cachedValue(
                Bool.self, sql: "SELECT 1 FROM member WHERE program_id = ? AND handle = ?",
                arguments: [programRecord.id, handle.rawValue]) != nil
            {
                throw StoreError(.handleTaken, "handle '\(handle)' is taken in this program")
            }
            if try db.cachedValue(
                Bool.self, sql: "SELECT 1 FROM member WHERE program_id = ? AND handle_skeleton = ?",
                arguments: [programRecord.id, handle.skeleton]) != nil
            {
                throw StoreError(
                    .handleTaken,
                    "handle '\(handle)' looks like a handle already in this program (separators, 0/o, 1/l, rn/m and vv/w count as the same); choose another"
                )
            }
            try Self.requireUnusedKey(db, programID: programRecord.id, publicKey: publicKey)
            try db.cachedExecute(
                sql: "UPDATE invite SET uses_left = uses_left - 1 WHERE id = ?", arguments: [invite["invite_id"]])
            try db.execute(
                sql: """
                    INSERT INTO member (program_id, handle, public_key, credential_digest, display_name, headline,
                                        offers_mentoring, seeks_mentoring, status, joined_at, handle_skeleton)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)
                    """,
                arguments: [
                    programRecord.id, handle.rawValue, publicKey.rawRepresentation, credentialDigest,
                    profile.displayName, profile.headline, profile.offersMentoring, profile.seeksMentoring,
                    Self.millis(now), handle.skeleton,
                ])
            let memberID = db.lastInsertedRowID
            try Self.writeTags(db, memberID: memberID, tags: profile.tags)
            try Self.stampDirectoryChange(db, programID: programRecord.id, memberID: memberID)
            try Self.appendKeyLog(
                db, programID: programRecord.id, event: .join, handle: handle.rawValue,
                publicKey: publicKey.rawRepresentation, now: now)
            return (try Self.fetchMember(db, id: memberID)!, programRecord)
        }
    }

    public func authenticate(credentialDigest: Data) async throws -> (MemberRecord, ProgramRecord)? {
        try await read { db in
            guard
                let row = try db.cachedRow(
                    sql: "SELECT * FROM member WHERE credential_digest = ?",
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
        let rotated = try await writeAndScrub { db in
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
                throw StoreError.rotationLimited(oldest: recent[0], windowStart: window)
            }
            try db.cachedExecute(
                sql: "UPDATE member SET public_key = ? WHERE id = ?",
                arguments: [publicKey.rawRepresentation, memberID])
            try db.cachedExecute(
                sql: "DELETE FROM mark INDEXED BY mark_by_member WHERE member_id = ?", arguments: [memberID])
            try Self.appendKeyLog(
                db, programID: member.programID, event: .rotate, handle: member.handle.rawValue,
                publicKey: publicKey.rawRepresentation, now: now)
            return try Self.fetchMember(db, id: memberID)!
        }
        return rotated
    }

    /// Refuses a key the program's key log has ever held, live or retired: one key, one member, and a
    /// retired key can never be put back (a thief of an old device could otherwise revive it).
    static func requireUnusedKey(_ db: Database, programID: Int64, publicKey: PublicKey) throws {
        if try db.cachedValue(
            Bool.self, sql: "SELECT 1 FROM key_log WHERE program_id = ? AND public_key = ?",
            arguments: [programID, publicKey.rawRepresentation]) != nil
        {
            throw StoreError(.keyTaken, "this public key is or was registered in this program; generate a new one")
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
            let member = try Self.fetchMember(db, id: memberID)!
            try Self.stampDirectoryChange(db, programID: member.programID, memberID: memberID)
            return member
        }
    }

    public func member(programID: Int64, handle: Handle) async throws -> MemberRecord? {
        try await read { db in
            try db.cachedRow(
                sql: "SELECT * FROM member WHERE program_id = ? AND handle = ?",
                arguments: [programID, handle.rawValue]
            ).map { try Self.memberRecord(db, $0) }
        }
    }

    public func members(programID: Int64) async throws -> [MemberRecord] {
        try await read { db in
            try db.cachedRows(sql: "SELECT * FROM member WHERE program_id = ? ORDER BY handle", arguments: [programID])
                .map { try Self.memberRecord(db, $0) }
        }
    }

    public func setStatus(program: ProgramID, handle: Handle, status: MemberStatus, audit: AuditEvent?) async throws
        -> MemberRecord
    {
        let member = try await writeAndScrub { db in
            let programRecord = try Self.requireProgram(db, name: program)
            guard
                let row = try db.cachedRow(
                    sql: "SELECT id, status, public_key FROM member WHERE program_id = ? AND handle = ?",
                    arguments: [programRecord.id, handle.rawValue])
            else { throw StoreError(.memberNotFound, "no member '\(handle)' in program '\(program)'") }
            let id: Int64 = row["id"]
            // Only a change of status is a directory change, and only a directory change is logged.
            if row["status"] as String != status.rawValue {
                try db.cachedExecute(
                    sql: "UPDATE member SET status = ? WHERE id = ?", arguments: [status.rawValue, id])
                // A suspended member's pending marks are deleted, so they cannot complete matches while the
                // member cannot see them; on reinstatement the member's client submits its interests again.
                try db.cachedExecute(
                    sql: "DELETE FROM mark INDEXED BY mark_by_member WHERE member_id = ?", arguments: [id])
                try Self.appendKeyLog(
                    db, programID: programRecord.id, event: status == .active ? .join : .leave,
                    handle: handle.rawValue, publicKey: row["public_key"], now: Date())
                try Self.stampDirectoryChange(db, programID: programRecord.id, memberID: id)
            }
            try Self.insertAudit(db, programID: programRecord.id, audit)
            return try Self.fetchMember(db, id: id)!
        }
        return member
    }
}
