public import Foundation
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

extension PostgresStore {
    public func join(
        program: ProgramID, inviteDigest: Data, handle: Handle, publicKey: PublicKey, profile: Profile,
        credentialDigest: Data, now: Date
    ) async throws -> (MemberRecord, ProgramRecord) {
        try await transaction { connection in
            // One answer for every invite problem (unknown, other program, used up, expired); program and
            // invite come from one query that starts at the invite, as on SQLite.
            let invalid = StoreError(.inviteInvalid, "the invite code is not valid for this program")
            guard
                let invite = try await self.row(
                    """
                    SELECT i.id AS invite_id, i.uses_left, i.expires_at, i.revoked_at, p.*
                    FROM invite i JOIN program p ON p.id = i.program_id
                    WHERE i.code_digest = \(inviteDigest) AND p.name = \(program.rawValue)
                    """, on: connection)
            else { throw invalid }
            let programRecord = try Self.programRecord(invite)
            let expiresAt = try invite["expires_at"].decode(Int64?.self)
            guard try invite["uses_left"].decode(Int32.self) > 0, expiresAt.map({ $0 > Self.millis(now) }) ?? true,
                try invite["revoked_at"].decode(Int64?.self) == nil
            else { throw invalid }
            // Joins of one program go one at a time: the handle, look-alike and key checks below cannot race.
            try await self.lockKeyLog(connection, programID: programRecord.id)
            if try await self.row(
                "SELECT 1 FROM member WHERE program_id = \(programRecord.id) AND handle = \(handle.rawValue)",
                on: connection) != nil
            {
                throw StoreError(.handleTaken, "handle '\(handle)' is taken in this program")
            }
            if try await self.row(
                "SELECT 1 FROM member WHERE program_id = \(programRecord.id) AND handle_skeleton = \(handle.skeleton)",
                on: connection) != nil
            {
                throw StoreError(
                    .handleTaken,
                    "handle '\(handle)' looks like a handle already in this program (separators, 0/o, 1/l, rn/m and vv/w count as the same); choose another"
                )
            }
            try await self.requireUnusedKey(connection, programID: programRecord.id, publicKey: publicKey)
            let inviteID = try invite["invite_id"].decode(Int64.self)
            guard
                try await self.execute(
                    "UPDATE invite SET uses_left = uses_left - 1 WHERE id = \(inviteID) AND uses_left > 0 RETURNING 1",
                    on: connection) == 1
            else { throw invalid }
            let inserted = try await self.row(
                """
                INSERT INTO member (program_id, handle, public_key, credential_digest, display_name, headline,
                                    offers_mentoring, seeks_mentoring, status, joined_at, handle_skeleton)
                VALUES (\(programRecord.id), \(handle.rawValue), \(publicKey.rawRepresentation), \(credentialDigest),
                        \(profile.displayName), \(profile.headline), \(profile.offersMentoring), \(profile.seeksMentoring),
                        'active', \(Self.millis(now)), \(handle.skeleton))
                RETURNING id
                """, on: connection)!
            let memberID = try inserted["id"].decode(Int64.self)
            try await self.writeTags(connection, memberID: memberID, tags: profile.tags)
            try await self.appendKeyLog(
                connection, programID: programRecord.id, event: .join, handle: handle.rawValue,
                publicKey: publicKey.rawRepresentation, now: now)
            try await self.stampDirectoryChange(connection, programID: programRecord.id, memberID: memberID)
            return (try await self.fetchMember(connection, id: memberID)!, programRecord)
        }
    }

    public func authenticate(credentialDigest: Data) async throws -> (MemberRecord, ProgramRecord)? {
        try await read { connection in
            guard
                let row = try await self.row(
                    "SELECT * FROM member WHERE credential_digest = \(credentialDigest)", on: connection)
            else { return nil }
            // The index lookup finds the row; the final comparison is constant time.
            guard constantTimeEquals(try row["credential_digest"].decode(Data.self), credentialDigest) else {
                return nil
            }
            let member = try await self.memberRecord(connection, row)
            guard
                let program = try await self.row("SELECT * FROM program WHERE id = \(member.programID)", on: connection)
            else { return nil }
            return (member, try Self.programRecord(program))
        }
    }

    public func replaceCredential(memberID: Int64, credentialDigest: Data) async throws {
        try await transaction { connection in
            guard
                try await self.execute(
                    "UPDATE member SET credential_digest = \(credentialDigest) WHERE id = \(memberID) RETURNING 1",
                    on: connection) == 1
            else { throw StoreError(.memberNotFound, "no such member") }
        }
    }

    public func rotateKey(memberID: Int64, publicKey: PublicKey, now: Date) async throws -> MemberRecord {
        try await transaction { connection in
            guard let before = try await self.fetchMember(connection, id: memberID) else {
                throw StoreError(.memberNotFound, "no such member")
            }
            try await self.lockKeyLog(connection, programID: before.programID)
            // The member's row too, so that no submission of theirs is half-way while their marks go.
            guard
                let locked = try await self.row(
                    "SELECT handle FROM member WHERE id = \(memberID) FOR UPDATE", on: connection)
            else { throw StoreError(.memberNotFound, "no such member") }
            let handle = try locked["handle"].decode(String.self)
            try await self.requireUnusedKey(connection, programID: before.programID, publicKey: publicKey)
            // Each rotation is a log entry forever: bound them, oldest first out of the window.
            let window = Self.millis(now) - Int64(StoreLimits.rotationWindow * 1000)
            let recent = try await self.rows(
                """
                SELECT created_at FROM key_log
                WHERE program_id = \(before.programID) AND handle = \(handle) AND event = \(KeyLogEvent.rotate.rawValue)
                  AND created_at > \(window)
                ORDER BY created_at
                """, on: connection
            ).map { try $0["created_at"].decode(Int64.self) }
            if recent.count >= StoreLimits.rotationsPerWindow {
                throw StoreError.rotationLimited(oldest: recent[0], windowStart: window)
            }
            try await self.execute(
                "UPDATE member SET public_key = \(publicKey.rawRepresentation) WHERE id = \(memberID)", on: connection)
            try await self.execute("DELETE FROM mark WHERE member_id = \(memberID)", on: connection)
            try await self.appendKeyLog(
                connection, programID: before.programID, event: .rotate, handle: handle,
                publicKey: publicKey.rawRepresentation, now: now)
            return try await self.fetchMember(connection, id: memberID)!
        }
    }

    /// Refuses a key the program's key log has ever held, live or retired.
    func requireUnusedKey(_ connection: PostgresConnection, programID: Int64, publicKey: PublicKey) async throws {
        if try await row(
            "SELECT 1 FROM key_log WHERE program_id = \(programID) AND public_key = \(publicKey.rawRepresentation)",
            on: connection) != nil
        {
            throw StoreError(.keyTaken, "this public key is or was registered in this program; generate a new one")
        }
    }

    public func updateProfile(memberID: Int64, profile: Profile) async throws -> MemberRecord {
        try await transaction { connection in
            guard
                try await self.execute(
                    """
                    UPDATE member SET display_name = \(profile.displayName), headline = \(profile.headline),
                        offers_mentoring = \(profile.offersMentoring), seeks_mentoring = \(profile.seeksMentoring)
                    WHERE id = \(memberID) RETURNING 1
                    """, on: connection) == 1
            else { throw StoreError(.memberNotFound, "no such member") }
            try await self.writeTags(connection, memberID: memberID, tags: profile.tags)
            let member = try await self.fetchMember(connection, id: memberID)!
            try await self.stampDirectoryChange(connection, programID: member.programID, memberID: memberID)
            return member
        }
    }

    public func member(programID: Int64, handle: Handle) async throws -> MemberRecord? {
        try await read { connection in
            guard
                let row = try await self.row(
                    "SELECT * FROM member WHERE program_id = \(programID) AND handle = \(handle.rawValue)",
                    on: connection)
            else { return nil }
            return try await self.memberRecord(connection, row)
        }
    }

    public func members(programID: Int64) async throws -> [MemberRecord] {
        try await read { connection in
            var members: [MemberRecord] = []
            for row in try await self.rows(
                "SELECT * FROM member WHERE program_id = \(programID) ORDER BY handle", on: connection)
            {
                members.append(try await self.memberRecord(connection, row))
            }
            return members
        }
    }

    public func setStatus(program: ProgramID, handle: Handle, status: MemberStatus, audit: AuditEvent?) async throws
        -> MemberRecord
    {
        try await transaction { connection in
            let programRecord = try await self.requireProgram(connection, name: program)
            try await self.lockKeyLog(connection, programID: programRecord.id)
            guard
                let row = try await self.row(
                    """
                    SELECT id, status, public_key FROM member
                    WHERE program_id = \(programRecord.id) AND handle = \(handle.rawValue) FOR UPDATE
                    """, on: connection)
            else { throw StoreError(.memberNotFound, "no member '\(handle)' in program '\(program)'") }
            let id = try row["id"].decode(Int64.self)
            // Only a change of status is a directory change, and only a directory change is logged.
            if try row["status"].decode(String.self) != status.rawValue {
                try await self.execute("UPDATE member SET status = \(status.rawValue) WHERE id = \(id)", on: connection)
                // A suspended member's pending marks are deleted, so they cannot complete matches while the
                // member cannot see them; on reinstatement the member's client submits its interests again.
                try await self.execute("DELETE FROM mark WHERE member_id = \(id)", on: connection)
                try await self.appendKeyLog(
                    connection, programID: programRecord.id, event: status == .active ? .join : .leave,
                    handle: handle.rawValue, publicKey: try row["public_key"].decode(Data.self), now: Date())
                try await self.stampDirectoryChange(connection, programID: programRecord.id, memberID: id)
            }
            try await self.insertAudit(connection, programID: programRecord.id, audit)
            return try await self.fetchMember(connection, id: id)!
        }
    }
}
