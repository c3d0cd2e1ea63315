public import Foundation
import GRDB
public import ReciprocityCore
public import ReciprocityStore

// Marks and matches. The rule of a submission is `MarkBatch` (ReciprocityStore); here are the reads that give
// it its facts and the writes of its plan, one submission at a time (the single writer). Privacy rule
// (SECURITY.md): every fact is read from the caller's own rows, the program row and the match table, and
// every refusal is decided before the first write and before anything touches another member's pending
// mark, so neither the answer nor its timing says whether anyone else holds a token of the batch, and a
// refused submission has changed nothing (GroupCommit then needs no rollback). Marks and matches are keyed by
// (program, epoch, token): a token held in another program or epoch is unknown here.
extension SQLiteStore {
    public func submitMarks(
        memberID: Int64, programID: Int64, epoch: UInt32, marks: [Mark], withdrawing: [InterestToken], now: Date
    ) async throws -> MarkSubmission {
        let batch = MarkBatch(epoch: epoch, marks: marks, withdrawing: withdrawing)
        typealias Applied = (submission: MarkSubmission, deleted: Bool)
        // A match deletes the counterpart's pending row (its member and time: who marked first), a withdrawal
        // the caller's own: either makes the answer wait for the WAL scrub that ends every group.
        let applied: Applied = try await submissions.write(
            { db in
                try Self.storedData { () -> Applied in
                    let program = try batch.admit(
                        program: try db.cachedRow(sql: "SELECT * FROM program WHERE id = ?", arguments: [programID])
                            .map(Self.programRecord),
                        memberActive: try db.cachedValue(
                            String.self, sql: "SELECT status FROM member WHERE id = ?", arguments: [memberID])
                            == MemberStatus.active.rawValue)
                    let scope: StatementArguments = [programID, Int64(epoch)]
                    let plan = try batch.plan(
                        program, try Self.facts(db, batch, memberID: memberID, programID: programID))

                    // Only now is anything written. The withdrawals first: own rows only, through the member's index.
                    if !plan.withdraw.isEmpty {
                        try db.cachedExecute(
                            sql:
                                "DELETE FROM mark INDEXED BY mark_by_member WHERE member_id = ? AND epoch = ? AND token IN (\(databaseQuestionMarks(count: plan.withdraw.count)))",
                            arguments: [memberID, Int64(epoch)]
                                + StatementArguments(plan.withdraw.map(\.rawRepresentation)))
                    }
                    // Only now are other members' pending marks looked at: each claim either completes the pending mark
                    // of the same program and epoch, or is stored as the caller's own.
                    let claimed = plan.claims.map(\.token.rawRepresentation)
                    let nowMillis = Self.millis(now)
                    let waiting =
                        claimed.isEmpty
                        ? [:]
                        : try Dictionary(
                            db.cachedRows(
                                sql:
                                    "SELECT token, member_id, tag, note FROM mark WHERE program_id = ? AND epoch = ? AND token IN (\(databaseQuestionMarks(count: claimed.count)))",
                                arguments: scope + StatementArguments(claimed)
                            ).map { ($0["token"] as Data, $0) }, uniquingKeysWith: { first, _ in first })
                    let insert = try db.cachedStatement(
                        sql:
                            "INSERT INTO mark (program_id, epoch, token, member_id, tag, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    )
                    var outcomes: [InterestToken: MarkOutcome] = [:]
                    for (mark, token) in zip(plan.claims, claimed) {
                        if let other = waiting[token] {
                            // The row names its members in id order, so it does not record who marked first.
                            let theirs: StatementArguments = [
                                other["member_id"] as Int64, other["tag"] as Data, other["note"] as Data?,
                            ]
                            let mine: StatementArguments = [
                                memberID, mark.tag.rawRepresentation, mark.note?.rawRepresentation,
                            ]
                            let theirsFirst = (other["member_id"] as Int64) < memberID
                            try db.cachedExecute(
                                sql: """
                                    INSERT INTO "match" (program_id, epoch, token, a_member_id, a_tag, a_note,
                                                         b_member_id, b_tag, b_note, matched_at)
                                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                                    """,
                                arguments: scope + [token] + (theirsFirst ? theirs + mine : mine + theirs) + [nowMillis]
                            )
                            try db.cachedExecute(
                                sql: "DELETE FROM mark WHERE program_id = ? AND epoch = ? AND token = ?",
                                arguments: scope + [token])
                            outcomes[mark.token] = .matched
                        } else {
                            try insert.execute(
                                arguments: scope + [
                                    token, memberID, mark.tag.rawRepresentation, mark.note?.rawRepresentation,
                                    nowMillis,
                                ])
                            outcomes[mark.token] = .pending
                        }
                    }
                    return (
                        plan.submission(claimed: outcomes), !plan.withdraw.isEmpty || outcomes.values.contains(.matched)
                    )
                }
            }, deleted: { $0.deleted })
        return applied.submission
    }

    /// The facts of `batch`: the caller's own pending marks among its tokens and the withdrawn ones, read
    /// through the member's index only (so another member's row with the same token is never visited), the
    /// batch's tokens already matched, and the quota's count.
    private static func facts(_ db: Database, _ batch: MarkBatch, memberID: Int64, programID: Int64) throws
        -> MarkBatch.Facts
    {
        let tokens = batch.tokens.map(\.rawRepresentation)
        let mentioned = tokens + batch.withdrawing.map(\.rawRepresentation)
        let pending =
            mentioned.isEmpty
            ? []
            : try db.cachedValues(
                Data.self,
                sql:
                    "SELECT token FROM mark INDEXED BY mark_by_member WHERE member_id = ? AND epoch = ? AND token IN (\(databaseQuestionMarks(count: mentioned.count)))",
                arguments: [memberID, Int64(batch.epoch)] + StatementArguments(mentioned))
        let matches =
            tokens.isEmpty
            ? []
            : try db.cachedRows(
                sql: """
                    SELECT token, a_member_id, b_member_id FROM "match"
                    WHERE program_id = ? AND epoch = ? AND token IN (\(databaseQuestionMarks(count: tokens.count)))
                    """,
                arguments: [programID, Int64(batch.epoch)] + StatementArguments(tokens))
        let isOwn = { (row: Row) in row["a_member_id"] == memberID || row["b_member_id"] == memberID }
        return MarkBatch.Facts(
            pending: Set(try pending.map(InterestToken.init(rawRepresentation:))),
            used: try marksUsed(db, memberID: memberID, programID: programID, epoch: batch.epoch),
            ownMatches: Set(
                try matches.filter(isOwn).map { try InterestToken(rawRepresentation: $0["token"] as Data) }),
            othersMatches: Set(
                try matches.filter { !isOwn($0) }.map { try InterestToken(rawRepresentation: $0["token"] as Data) }))
    }

    /// The member's pending marks plus the matches they made in `epoch`: what the quota limits.
    static func marksUsed(_ db: Database, memberID: Int64, programID: Int64, epoch: UInt32) throws -> Int {
        try db.cachedValue(
            Int.self,
            sql: """
                SELECT (SELECT COUNT(*) FROM mark INDEXED BY mark_by_member WHERE member_id = ?1 AND epoch = ?3)
                     + (SELECT COUNT(*) FROM "match" WHERE a_member_id = ?1 AND epoch = ?3 AND program_id = ?2)
                     + (SELECT COUNT(*) FROM "match" WHERE b_member_id = ?1 AND epoch = ?3 AND program_id = ?2)
                """,
            arguments: [memberID, programID, Int64(epoch)])!
    }

    public func pendingMarks(memberID: Int64) async throws -> [PendingMarkRecord] {
        try await read { db in
            try db.cachedRows(
                sql:
                    "SELECT token, epoch, created_at FROM mark INDEXED BY mark_by_member WHERE member_id = ? ORDER BY created_at, token",
                arguments: [memberID]
            ).map { row in
                PendingMarkRecord(
                    token: try InterestToken(rawRepresentation: row["token"] as Data),
                    epoch: UInt32(row["epoch"] as Int64), createdAt: Self.date(row["created_at"]))
            }
        }
    }

    public func withdraw(memberID: Int64, token: InterestToken) async throws -> Bool {
        // Through the member's index: a token someone else holds costs the same as one nobody holds.
        try await writeAndScrub(
            { db in
                try db.cachedExecute(
                    sql: "DELETE FROM mark INDEXED BY mark_by_member WHERE member_id = ? AND token = ?",
                    arguments: [memberID, token.rawRepresentation])
                return db.changesCount == 1
            }, scrubs: { $0 })
    }

    public func matches(memberID: Int64, after: InterestToken?, limit: Int) async throws -> [MatchRecord] {
        try await read { db in
            var arguments: StatementArguments = [memberID, max(1, limit)]
            var cursor = ""
            if let after {
                guard
                    let row = try db.cachedRow(
                        sql:
                            "SELECT matched_at, token FROM \"match\" WHERE token = ? AND (a_member_id = ? OR b_member_id = ?)",
                        arguments: [after.rawRepresentation, memberID, memberID])
                else { throw StoreError(.markNotFound, "'after' is not the token of one of your matches") }
                cursor = "AND (m.matched_at, m.token) > (?3, ?4)"
                arguments += [row["matched_at"] as Int64, row["token"] as Data]
            }
            return try db.cachedRows(
                sql: """
                    SELECT m.token, m.epoch, m.matched_at,
                           CASE WHEN m.a_member_id = ?1 THEN m.b_tag ELSE m.a_tag END AS tag,
                           CASE WHEN m.a_member_id = ?1 THEN m.b_note ELSE m.a_note END AS note,
                           c.handle, c.public_key
                    FROM "match" m
                    JOIN member c ON c.id = CASE WHEN m.a_member_id = ?1 THEN m.b_member_id ELSE m.a_member_id END
                    WHERE (m.a_member_id = ?1 OR m.b_member_id = ?1) \(cursor)
                    ORDER BY m.matched_at, m.token
                    LIMIT ?2
                    """,
                arguments: arguments
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

    /// Moves every committed page into the database file and truncates the WAL, so that tokens a delete just
    /// overwrote (`secure_delete`) do not stay readable in older WAL frames. It waits at most 200 ms for
    /// readers (it holds the writer meanwhile); if they keep the WAL busy longer, housekeeping's scrub, which
    /// runs every interval, finishes the job.
    func scrubWAL() async {
        _ = try? await pool.writeWithoutTransaction { [checkpoint] in Self.scrubWAL($0, checkpoint) }
    }

    /// `scrubWAL` on the writer connection, from inside the writer's queue. SQLite refuses a checkpoint at
    /// once, without its busy handler, while another one runs: this process's background checkpoint is waited
    /// for, and one in another process (an admin command's scrub) is retried until the 200 ms are spent.
    static func scrubWAL(_ db: Database, _ checkpoint: BackgroundCheckpoint) {
        checkpoint.exclusively {
            _ = try? db.execute(sql: "PRAGMA busy_timeout = 200")
            defer { try? db.execute(sql: "PRAGMA busy_timeout = 10000") }
            let deadline = ContinuousClock.now + .milliseconds(200)
            while true {
                do {
                    _ = try db.checkpoint(.truncate)
                    return
                } catch let error as DatabaseError
                    where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline
                {
                    usleep(1000)
                } catch {
                    return
                }
            }
        }
    }
}
