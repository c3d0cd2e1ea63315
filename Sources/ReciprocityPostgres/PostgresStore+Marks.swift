public import Foundation
import NIOCore
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

// Marks and matches. Privacy rule (SECURITY.md), as on SQLite: every check that can refuse a request is
// decided from the caller's own rows, the program row and the match table before anything touches another
// member's pending mark. Concurrency, across any number of server processes:
// - the member's own row is locked (FOR UPDATE) first, so one member's submissions run one at a time and the
//   quota counted from their rows cannot be overtaken by a racing batch of theirs;
// - the program row is held in share mode, so an epoch change waits for submissions in flight;
// - a token is claimed through the primary key of `mark`: of two members racing with one token, one inserts
//   the pending row, the other's insert waits for that commit, finds the conflict and takes the row over as
//   a match. Batches lock tokens in primary-key order, so two that share tokens do not deadlock (and if
//   PostgreSQL ever breaks a deadlock, the transaction is retried whole).
extension PostgresStore {
    public func submitMarks(
        memberID: Int64, programID: Int64, epoch: UInt32, marks: [Mark], withdrawing: [InterestToken], now: Date
    ) async throws -> [MarkOutcome] {
        // A token repeated within the batch is the same mark submitted twice: idempotent, first tag wins.
        var seen: Set<InterestToken> = []
        let unique = marks.filter { seen.insert($0.token).inserted }
        let tokens = unique.map { ByteBuffer(bytes: $0.token.rawRepresentation) }
        let withdrawn = withdrawing.map { ByteBuffer(bytes: $0.rawRepresentation) }
        let epochValue = Int64(epoch)
        let outcomes: [Data: MarkOutcome] = try await transaction { connection in
            guard
                let program = try await self.row(
                    "SELECT * FROM program WHERE id = \(programID) FOR SHARE", on: connection
                ).map(Self.programRecord)
            else { throw StoreError(.programNotFound, "no such program") }
            // The credential was checked before this transaction; a suspension may have come in between.
            let status = try await self.row("SELECT status FROM member WHERE id = \(memberID) FOR UPDATE", on: connection)
            guard try status?["status"].decode(String.self) == MemberStatus.active.rawValue else {
                throw StoreError(.memberSuspended, "this member is suspended")
            }
            guard program.epoch == epoch else {
                throw StoreError(.wrongEpoch, "the program is in epoch \(program.epoch), not \(epoch)")
            }
            // 0. Withdrawals come first, so that one request can replace marks without the pending count ever
            //    moving. Own rows only.
            if !withdrawn.isEmpty {
                _ = try await self.rows(
                    """
                    DELETE FROM mark WHERE member_id = \(memberID) AND epoch = \(epochValue) AND program_id = \(programID)
                      AND token = ANY(\(withdrawn)) RETURNING token
                    """, on: connection)
            }
            guard !unique.isEmpty else { return [:] }

            // 1. Decide every refusal from the member's own rows and the match table. The member's pending
            //    tokens are read whole (at most the quota) and matched here, so that no plan can reach another
            //    member's row with the same token through the primary key.
            let ownPending = Set(
                try await self.rows(
                    "SELECT token FROM mark WHERE member_id = \(memberID) AND epoch = \(epochValue) AND program_id = \(programID)",
                    on: connection
                ).map { try $0["token"].decode(Data.self) })
            var matched: [Data: Bool] = [:]  // token: is it the caller's own match
            for row in try await self.rows(
                """
                SELECT token, a_member_id, b_member_id FROM "match"
                WHERE program_id = \(programID) AND epoch = \(epochValue) AND token = ANY(\(tokens))
                """, on: connection)
            {
                let own = try row["a_member_id"].decode(Int64.self) == memberID
                    || row["b_member_id"].decode(Int64.self) == memberID
                // Only someone holding one of the pair's keys can know a matched token.
                guard own else { throw StoreError(.tokenUnavailable, "a submitted token cannot be accepted") }
                matched[try row["token"].decode(Data.self)] = true
            }
            let fresh = unique.filter {
                !ownPending.contains($0.token.rawRepresentation) && matched[$0.token.rawRepresentation] == nil
            }
            if !fresh.isEmpty {
                let used = try await self.row(
                    """
                    SELECT (SELECT COUNT(*) FROM mark WHERE member_id = \(memberID) AND epoch = \(epochValue)
                                                           AND program_id = \(programID))
                         + (SELECT COUNT(*) FROM "match" WHERE a_member_id = \(memberID) AND epoch = \(epochValue)
                                                              AND program_id = \(programID))
                         + (SELECT COUNT(*) FROM "match" WHERE b_member_id = \(memberID) AND epoch = \(epochValue)
                                                              AND program_id = \(programID)) AS used
                    """, on: connection)!["used"].decode(Int64.self)
                guard Int(used) + fresh.count <= program.maxMarks else {
                    throw StoreError.quotaExceeded(maxMarks: program.maxMarks)
                }
            }

            // 2. Apply. Only now are other members' pending marks looked at.
            let sorted = fresh.sorted { $0.token.rawRepresentation.lexicographicallyPrecedes($1.token.rawRepresentation) }
            var outcomes = try await self.applyAll(
                sorted, memberID: memberID, programID: programID, epoch: epochValue, now: now, on: connection)
            for mark in unique where outcomes[mark.token.rawRepresentation] == nil {
                outcomes[mark.token.rawRepresentation] = matched[mark.token.rawRepresentation] != nil ? .matched : .pending
            }
            return outcomes
        }
        return marks.map { outcomes[$0.token.rawRepresentation]! }
    }

    /// `apply` for a whole batch in three statements: one delete that takes over every other member's pending
    /// mark of the batch's tokens (in primary-key order, as every batch locks them), a match per token taken
    /// over, and one insert of the rest. A token another transaction claimed meanwhile goes through `apply`.
    private func applyAll(
        _ marks: [Mark], memberID: Int64, programID: Int64, epoch: Int64, now: Date, on connection: PostgresConnection
    ) async throws -> [Data: MarkOutcome] {
        guard !marks.isEmpty else { return [:] }
        var outcomes: [Data: MarkOutcome] = [:]
        let tokens = marks.map { ByteBuffer(bytes: $0.token.rawRepresentation) }
        let waiting = try await rows(
            """
            DELETE FROM mark WHERE program_id = \(programID) AND epoch = \(epoch) AND token = ANY(\(tokens))
            RETURNING token, member_id, tag, note
            """, on: connection)
        for other in waiting {
            let token = try other["token"].decode(Data.self)
            let mark = marks.first { $0.token.rawRepresentation == token }!
            try await insertMatch(
                mark, memberID: memberID, other: other, programID: programID, epoch: epoch, now: now, on: connection)
            outcomes[token] = .matched
        }
        let rest = marks.filter { outcomes[$0.token.rawRepresentation] == nil }
        guard !rest.isEmpty else { return outcomes }
        // A missing note travels as an empty value (a note is never empty) and is stored as NULL.
        let inserted = try await rows(
            """
            INSERT INTO mark (program_id, epoch, token, member_id, tag, note, created_at)
            SELECT \(programID), \(epoch), t.token, \(memberID), t.tag, NULLIF(t.note, ''::bytea), \(Self.millis(now))
            FROM unnest(\(rest.map { ByteBuffer(bytes: $0.token.rawRepresentation) })::bytea[],
                        \(rest.map { ByteBuffer(bytes: $0.tag.rawRepresentation) })::bytea[],
                        \(rest.map { ByteBuffer(bytes: $0.note?.rawRepresentation ?? Data()) })::bytea[]) AS t(token, tag, note)
            ORDER BY t.token
            ON CONFLICT DO NOTHING RETURNING token
            """, on: connection)
        for row in inserted { outcomes[try row["token"].decode(Data.self)] = .pending }
        for mark in rest where outcomes[mark.token.rawRepresentation] == nil {
            outcomes[mark.token.rawRepresentation] = try await apply(
                mark, memberID: memberID, programID: programID, epoch: epoch, now: now, on: connection)
        }
        return outcomes
    }

    /// The match row for `mark` and another member's pending mark `other` (deleted by the caller), naming
    /// its members in id order, so it does not record who marked first.
    private func insertMatch(
        _ mark: Mark, memberID: Int64, other: PostgresRandomAccessRow, programID: Int64, epoch: Int64, now: Date,
        on connection: PostgresConnection
    ) async throws {
        let token = mark.token.rawRepresentation
        let tag = mark.tag.rawRepresentation
        let note = mark.note?.rawRepresentation
        let otherID = try other["member_id"].decode(Int64.self)
        let otherTag = try other["tag"].decode(Data.self)
        let otherNote = try other["note"].decode(Data?.self)
        let (a, aTag, aNote, b, bTag, bNote) =
            otherID < memberID
            ? (otherID, otherTag, otherNote, memberID, tag, note) : (memberID, tag, note, otherID, otherTag, otherNote)
        do {
            try await execute(
                """
                INSERT INTO "match" (program_id, epoch, token, a_member_id, a_tag, a_note,
                                     b_member_id, b_tag, b_note, matched_at)
                VALUES (\(programID), \(epoch), \(token), \(a), \(aTag), \(aNote), \(b), \(bTag), \(bNote),
                        \(Self.millis(now)))
                """, on: connection)
        } catch where Self.isUniqueViolation(error) {
            // Matched between two others after this batch's checks: as if it had been before.
            throw StoreError(.tokenUnavailable, "a submitted token cannot be accepted")
        }
    }

    /// Completes the pending mark of another member with the same token, or stores the caller's own; repeats
    /// when another transaction claims or gives up the token in between.
    private func apply(
        _ mark: Mark, memberID: Int64, programID: Int64, epoch: Int64, now: Date, on connection: PostgresConnection
    ) async throws -> MarkOutcome {
        let token = mark.token.rawRepresentation
        while true {
            if let other = try await row(
                """
                DELETE FROM mark WHERE program_id = \(programID) AND epoch = \(epoch) AND token = \(token)
                RETURNING member_id, tag, note
                """, on: connection)
            {
                try await insertMatch(
                    mark, memberID: memberID, other: other, programID: programID, epoch: epoch, now: now, on: connection)
                return .matched
            }
            let inserted = try await execute(
                """
                INSERT INTO mark (program_id, epoch, token, member_id, tag, note, created_at)
                VALUES (\(programID), \(epoch), \(token), \(memberID), \(mark.tag.rawRepresentation),
                        \(mark.note?.rawRepresentation), \(Self.millis(now)))
                ON CONFLICT DO NOTHING RETURNING 1
                """, on: connection)
            if inserted == 1 { return .pending }
            // Another member's pending row for the token was committed while this insert waited: take it over.
        }
    }

    public func pendingMarks(memberID: Int64) async throws -> [PendingMarkRecord] {
        try await read { connection in
            try await self.rows(
                "SELECT token, epoch, created_at FROM mark WHERE member_id = \(memberID) ORDER BY created_at, token",
                on: connection
            ).map { row in
                PendingMarkRecord(
                    token: try InterestToken(rawRepresentation: try row["token"].decode(Data.self)),
                    epoch: UInt32(try row["epoch"].decode(Int64.self)),
                    createdAt: Self.date(try row["created_at"].decode(Int64.self)))
            }
        }
    }

    public func withdraw(memberID: Int64, token: InterestToken) async throws -> Bool {
        // Through the member's index: a token someone else holds costs the same as one nobody holds.
        try await transaction { connection in
            try await self.execute(
                "DELETE FROM mark WHERE member_id = \(memberID) AND token = \(token.rawRepresentation) RETURNING 1",
                on: connection) == 1
        }
    }

    public func matches(memberID: Int64, after: InterestToken?, limit: Int) async throws -> [MatchRecord] {
        try await read { connection in
            var cursor: (Int64, Data)?
            if let after {
                guard
                    let row = try await self.row(
                        """
                        SELECT matched_at, token FROM "match"
                        WHERE token = \(after.rawRepresentation) AND (a_member_id = \(memberID) OR b_member_id = \(memberID))
                        """, on: connection)
                else { throw StoreError(.markNotFound, "'after' is not the token of one of your matches") }
                cursor = (try row["matched_at"].decode(Int64.self), try row["token"].decode(Data.self))
            }
            return try await self.rows(
                """
                SELECT m.token, m.epoch, m.matched_at,
                       CASE WHEN m.a_member_id = \(memberID) THEN m.b_tag ELSE m.a_tag END AS tag,
                       CASE WHEN m.a_member_id = \(memberID) THEN m.b_note ELSE m.a_note END AS note,
                       c.handle, c.public_key
                FROM "match" m
                JOIN member c ON c.id = CASE WHEN m.a_member_id = \(memberID) THEN m.b_member_id ELSE m.a_member_id END
                WHERE (m.a_member_id = \(memberID) OR m.b_member_id = \(memberID))
                  AND (m.matched_at, m.token) > (\(cursor?.0 ?? Int64.min), \(cursor?.1 ?? Data()))
                ORDER BY m.matched_at, m.token
                LIMIT \(Int64(max(1, limit)))
                """, on: connection
            ).map { row in
                MatchRecord(
                    token: try InterestToken(rawRepresentation: try row["token"].decode(Data.self)),
                    epoch: UInt32(try row["epoch"].decode(Int64.self)),
                    counterpartHandle: try Handle(try row["handle"].decode(String.self)),
                    counterpartKey: try PublicKey(rawRepresentation: try row["public_key"].decode(Data.self)),
                    counterpartTag: try ConfirmationTag(rawRepresentation: try row["tag"].decode(Data.self)),
                    counterpartNote: try row["note"].decode(Data?.self).map { try SealedNote(rawRepresentation: $0) },
                    matchedAt: Self.date(try row["matched_at"].decode(Int64.self)))
            }
        }
    }
}
