public import Foundation
import NIOCore
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

// Marks and matches. The rule of a submission is `MarkBatch` (ReciprocityStore); here are the locks, the reads
// that give it its facts and the writes of its plan. Privacy rule (SECURITY.md), as on SQLite: every fact is
// read from the caller's own rows, the program row and the match table, and every refusal is decided before
// the first write and before anything touches another member's pending mark. Concurrency, across any number
// of server processes:
// - the member's own row is locked (FOR UPDATE) first, so one member's submissions run one at a time and the
//   quota counted from their rows cannot be overtaken by a racing batch of theirs;
// - the program row is held in share mode, so an epoch change waits for submissions in flight;
// - the marks the caller withdraws are locked as they are read, so that a counterpart cannot take one over as
//   a match between the decision and the delete (the quota counted it as gone);
// - a token is claimed through the primary key of `mark`: of two members racing with one token, one inserts
//   the pending row, the other's insert waits for that commit, finds the conflict and takes the row over as
//   a match. Batches lock tokens in primary-key order, so two that share tokens do not deadlock (and if
//   PostgreSQL ever breaks a deadlock, the transaction is retried whole).
extension PostgresStore {
    public func submitMarks(
        memberID: Int64, programID: Int64, epoch: UInt32, marks: [Mark], withdrawing: [InterestToken], now: Date
    ) async throws -> MarkSubmission {
        let batch = MarkBatch(epoch: epoch, marks: marks, withdrawing: withdrawing)
        let epochValue = Int64(epoch)
        return try await transaction { connection in
            // Both locks in one round trip; without a row, the program or the member is missing.
            let locked = try await self.row(
                """
                SELECT p.*, m.status AS member_status FROM program p, member m
                WHERE p.id = \(programID) AND m.id = \(memberID) FOR SHARE OF p FOR UPDATE OF m
                """, on: connection)
            var program = try locked.map(Self.programRecord)
            if locked == nil {
                program = try await self.row("SELECT * FROM program WHERE id = \(programID)", on: connection)
                    .map(Self.programRecord)
            }
            let admitted = try batch.admit(
                program: program,
                memberActive: try locked?["member_status"].decode(String.self) == MemberStatus.active.rawValue)
            let plan = try batch.plan(
                admitted, try await self.facts(batch, memberID: memberID, programID: programID, on: connection))

            // Only now is anything written: the withdrawals (own rows only), then the claims, which are the first
            // statement to look at other members' pending marks.
            if !plan.withdraw.isEmpty {
                _ = try await self.rows(
                    Self.withdrawOwn(
                        memberID: memberID, tokens: plan.withdraw.map { ByteBuffer(bytes: $0.rawRepresentation) },
                        scope: (programID, epochValue)),
                    on: connection)
            }
            let claimed = try await self.applyAll(
                plan.claims, memberID: memberID, programID: programID, epoch: epochValue, now: now, on: connection)
            return plan.submission(claimed: claimed)
        }
    }

    /// The facts of `batch` in one round trip: the member's pending tokens (read whole, at most the quota, and
    /// matched here, so that no plan can reach another member's row with the same token through the primary
    /// key), the batch's tokens already matched, the member's matches this epoch (what the quota counts with
    /// the pending), and the withdrawn marks, locked. A counterpart may have taken one of those over as a match
    /// after this statement's snapshot and before its lock: the lock then skips the row the snapshot still
    /// shows, and the facts are read again, from a snapshot that has the match. Each such read follows at least
    /// one more takeover of a distinct withdrawn mark, so `withdrawing.count + 1` reads always suffice: one more
    /// would be a bug, answered as an internal error rather than a loop holding the member's lock.
    private func facts(_ batch: MarkBatch, memberID: Int64, programID: Int64, on connection: PostgresConnection)
        async throws -> MarkBatch.Facts
    {
        let tokens = batch.tokens.map { ByteBuffer(bytes: $0.rawRepresentation) }
        let withdrawing = batch.withdrawing.map { ByteBuffer(bytes: $0.rawRepresentation) }
        let epoch = Int64(batch.epoch)
        for _ in 0...batch.withdrawing.count {
            var pending: Set<InterestToken> = []
            var locked: Set<InterestToken> = []
            var ownMatches: Set<InterestToken> = []
            var othersMatches: Set<InterestToken> = []
            var matchCount: Int64 = 0
            // The withdrawn marks are compared by an expression of the token, as `withdrawOwn` deletes them.
            for row in try await self.rows(
                """
                WITH withdrawn AS (
                    SELECT token FROM mark
                    WHERE member_id = \(memberID) AND epoch = \(epoch) AND program_id = \(programID)
                      AND (token || ''::bytea) = ANY(\(withdrawing))
                    FOR UPDATE
                )
                SELECT 0 AS kind, token, 0::bigint AS a, 0::bigint AS b FROM mark
                WHERE member_id = \(memberID) AND epoch = \(epoch) AND program_id = \(programID)
                UNION ALL
                SELECT 1, token, a_member_id, b_member_id FROM "match"
                WHERE program_id = \(programID) AND epoch = \(epoch) AND token = ANY(\(tokens))
                UNION ALL
                SELECT 2, NULL,
                       (SELECT COUNT(*) FROM "match" WHERE a_member_id = \(memberID) AND epoch = \(epoch)
                                                        AND program_id = \(programID))
                     + (SELECT COUNT(*) FROM "match" WHERE b_member_id = \(memberID) AND epoch = \(epoch)
                                                        AND program_id = \(programID)), 0
                UNION ALL
                SELECT 3, token, 0, 0 FROM withdrawn
                """, on: connection)
            {
                let kind = try row["kind"].decode(Int32.self)
                guard kind != 2 else {
                    matchCount = try row["a"].decode(Int64.self)
                    continue
                }
                let token = try InterestToken(rawRepresentation: try row["token"].decode(Data.self))
                switch kind {
                case 0: pending.insert(token)
                case 1:
                    if try row["a"].decode(Int64.self) == memberID || row["b"].decode(Int64.self) == memberID {
                        ownMatches.insert(token)
                    } else {
                        othersMatches.insert(token)
                    }
                default: locked.insert(token)
                }
            }
            guard pending.intersection(batch.withdrawing) == locked else { continue }
            return MarkBatch.Facts(
                pending: pending, used: pending.count + Int(matchCount), ownMatches: ownMatches,
                othersMatches: othersMatches)
        }
        throw StoreError(.corruptData, "the withdrawn marks kept changing while they were locked")
    }

    /// `apply` for a whole batch in one statement: it takes over every other member's pending mark of the
    /// batch's tokens (deleted in primary-key order, as every batch locks them), makes a match of each, and
    /// inserts the rest as the caller's pending marks. A token another transaction claimed meanwhile (the
    /// insert's conflict) goes through `apply`.
    private func applyAll(
        _ marks: [Mark], memberID: Int64, programID: Int64, epoch: Int64, now: Date, on connection: PostgresConnection
    ) async throws -> [InterestToken: MarkOutcome] {
        guard !marks.isEmpty else { return [:] }
        let tokens = marks.map { ByteBuffer(bytes: $0.token.rawRepresentation) }
        let nowMillis = Self.millis(now)
        // The match row names its members in id order (`theirs`: the other member's id is the smaller), so it
        // does not record who marked first. A missing note travels as an empty value (a note is never empty)
        // and is stored as NULL.
        let rows: [PostgresRandomAccessRow]
        do {
            rows = try await self.rows(
                """
                WITH mine AS (
                    SELECT t.token, t.tag, NULLIF(t.note, ''::bytea) AS note
                    FROM unnest(\(tokens)::bytea[], \(marks.map { ByteBuffer(bytes: $0.tag.rawRepresentation) })::bytea[],
                                \(marks.map { ByteBuffer(bytes: $0.note?.rawRepresentation ?? Data()) })::bytea[])
                         AS t(token, tag, note)
                ), taken AS (
                    DELETE FROM mark WHERE program_id = \(programID) AND epoch = \(epoch) AND token = ANY(\(tokens))
                    RETURNING token, member_id, tag, note
                ), pairs AS (
                    SELECT t.token, t.member_id < \(memberID) AS theirs, t.member_id, t.tag AS their_tag,
                           t.note AS their_note, m.tag AS my_tag, m.note AS my_note
                    FROM taken t JOIN mine m USING (token)
                ), matched AS (
                    INSERT INTO "match" (program_id, epoch, token, a_member_id, a_tag, a_note,
                                         b_member_id, b_tag, b_note, matched_at)
                    SELECT \(programID), \(epoch), token,
                           CASE WHEN theirs THEN member_id ELSE \(memberID) END,
                           CASE WHEN theirs THEN their_tag ELSE my_tag END,
                           CASE WHEN theirs THEN their_note ELSE my_note END,
                           CASE WHEN theirs THEN \(memberID) ELSE member_id END,
                           CASE WHEN theirs THEN my_tag ELSE their_tag END,
                           CASE WHEN theirs THEN my_note ELSE their_note END,
                           \(nowMillis)
                    FROM pairs
                    RETURNING token
                ), inserted AS (
                    INSERT INTO mark (program_id, epoch, token, member_id, tag, note, created_at)
                    SELECT \(programID), \(epoch), m.token, \(memberID), m.tag, m.note, \(nowMillis)
                    FROM mine m WHERE NOT EXISTS (SELECT 1 FROM taken t WHERE t.token = m.token)
                    ORDER BY m.token
                    ON CONFLICT DO NOTHING RETURNING token
                )
                SELECT true AS matched, token FROM matched UNION ALL SELECT false, token FROM inserted
                """, on: connection)
        } catch  where Self.isUniqueViolation(error) {
            // Matched between two others after this batch's checks: as if it had been before.
            throw StoreError(.tokenUnavailable, "a submitted token cannot be accepted")
        }
        var outcomes: [InterestToken: MarkOutcome] = [:]
        for row in rows {
            outcomes[try InterestToken(rawRepresentation: try row["token"].decode(Data.self))] =
                try row["matched"].decode(Bool.self) ? .matched : .pending
        }
        for mark in marks where outcomes[mark.token] == nil {
            outcomes[mark.token] = try await apply(
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
        } catch  where Self.isUniqueViolation(error) {
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
                    mark, memberID: memberID, other: other, programID: programID, epoch: epoch, now: now, on: connection
                )
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
                Self.withdrawOwn(memberID: memberID, tokens: [ByteBuffer(bytes: token.rawRepresentation)], scope: nil),
                on: connection) == 1
        }
    }

    /// Deletes the member's own pending marks among `tokens` (in `scope`'s program and epoch, or any), through
    /// the member's index only. The token is compared as an expression, which no index serves: the primary key
    /// leads with the token, and a plan through it would read another member's pending row with the same
    /// token, so the delete would cost more when someone holds a one-sided mark on the caller.
    static func withdrawOwn(memberID: Int64, tokens: [ByteBuffer], scope: (programID: Int64, epoch: Int64)?)
        -> PostgresQuery
    {
        guard let scope else {
            return
                "DELETE FROM mark WHERE member_id = \(memberID) AND (token || ''::bytea) = ANY(\(tokens)) RETURNING token"
        }
        return """
            DELETE FROM mark WHERE member_id = \(memberID) AND epoch = \(scope.epoch) AND program_id = \(scope.programID)
              AND (token || ''::bytea) = ANY(\(tokens)) RETURNING token
            """
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
