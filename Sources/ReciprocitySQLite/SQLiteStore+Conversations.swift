public import Foundation
import GRDB
public import ReciprocityCore
public import ReciprocityStore

// Conversations (the rules are `ConversationStore`'s). Every method first finds the match through the caller's
// own rows (`ownMatch`): a token that is not a match of the caller's costs one look-up, whoever else holds it.
extension SQLiteStore {
    /// The epoch and two members of the caller's match `token`, read through the caller's own index entries
    /// (`match_by_a`, `match_by_b`) only, so another pair's match with that token is never visited.
    static func ownMatch(_ db: Database, memberID: Int64, programID: Int64, token: InterestToken) throws
        -> (epoch: Int64, a: Int64, b: Int64, matchedAt: Int64)
    {
        guard
            let row = try db.cachedRow(
                sql: """
                    SELECT epoch, a_member_id, b_member_id, matched_at FROM "match" INDEXED BY match_by_a
                    WHERE a_member_id = ?1 AND program_id = ?2 AND token = ?3
                    UNION ALL
                    SELECT epoch, a_member_id, b_member_id, matched_at FROM "match" INDEXED BY match_by_b
                    WHERE b_member_id = ?1 AND program_id = ?2 AND token = ?3
                    """, arguments: [memberID, programID, token.rawRepresentation])
        else { throw StoreError.conversationNotFound }
        return (row["epoch"], row["a_member_id"], row["b_member_id"], row["matched_at"])
    }

    public func conversations(memberID: Int64, after: InterestToken?, limit: Int) async throws
        -> [ConversationRecord]
    {
        try await read { db in
            var arguments: StatementArguments = [memberID, max(1, limit)]
            var cursor = ""
            if let after {
                // The program is the caller's: their match rows carry it.
                let programID = try db.cachedValue(
                    Int64.self, sql: "SELECT program_id FROM member WHERE id = ?", arguments: [memberID])
                let own = try Self.ownMatch(db, memberID: memberID, programID: programID ?? -1, token: after)
                cursor = "AND (m.matched_at, m.token) > (?3, ?4)"
                arguments += [own.matchedAt, after.rawRepresentation]
            }
            return try db.cachedRows(
                sql: """
                    SELECT m.token, m.epoch, c.handle, v.last_seq, v.message_count, v.last_sent_at, v.ended_at
                    FROM "match" m
                    JOIN member c ON c.id = CASE WHEN m.a_member_id = ?1 THEN m.b_member_id ELSE m.a_member_id END
                    LEFT JOIN conversation v
                        ON v.program_id = m.program_id AND v.epoch = m.epoch AND v.token = m.token
                    WHERE (m.a_member_id = ?1 OR m.b_member_id = ?1) \(cursor)
                    ORDER BY m.matched_at, m.token
                    LIMIT ?2
                    """,
                arguments: arguments
            ).map { row in
                ConversationRecord(
                    token: try InterestToken(rawRepresentation: row["token"] as Data),
                    epoch: UInt32(row["epoch"] as Int64), counterpartHandle: try Handle(row["handle"]),
                    messageCount: row["message_count"] ?? 0, lastSeq: row["last_seq"] ?? 0,
                    lastSentAt: (row["last_sent_at"] as Int64?).map(Self.date),
                    ended: (row["ended_at"] as Int64?) != nil)
            }
        }
    }

    public func messages(memberID: Int64, programID: Int64, token: InterestToken, after: Int64, limit: Int)
        async throws -> MessagePage
    {
        try await read { db in
            let match = try Self.ownMatch(db, memberID: memberID, programID: programID, token: token)
            let key: StatementArguments = [programID, match.epoch, token.rawRepresentation]
            let ended = try db.cachedRow(
                sql: "SELECT ended_at FROM conversation WHERE program_id = ? AND epoch = ? AND token = ?",
                arguments: key
            ).map { ($0["ended_at"] as Int64?) != nil }
            let messages = try db.cachedRows(
                sql: """
                    SELECT seq, sender_id, envelope, sent_at FROM message
                    WHERE program_id = ? AND epoch = ? AND token = ? AND seq > ? ORDER BY seq LIMIT ?
                    """, arguments: key + [after, max(1, limit)]
            ).map { row in
                MessageRecord(
                    seq: row["seq"], fromMe: row["sender_id"] == memberID, envelope: row["envelope"],
                    sentAt: Self.date(row["sent_at"]))
            }
            return MessagePage(messages: messages, ended: ended ?? false)
        }
    }

    public func postMessage(
        memberID: Int64, programID: Int64, token: InterestToken, envelope: Data, limits: ConversationLimits,
        now: Date
    ) async throws -> PostedMessage {
        try await write { db in
            let (key, counterpart) = try Self.openConversation(
                db, memberID: memberID, programID: programID, token: token)
            let conversation = try db.cachedRow(
                sql:
                    "SELECT last_seq, stored_bytes, ended_at FROM conversation WHERE program_id = ? AND epoch = ? AND token = ?",
                arguments: key)!
            guard (conversation["ended_at"] as Int64?) == nil else { throw StoreError.conversationEnded }
            let nowMillis = Self.millis(now)
            let window = try db.cachedRow(
                sql: """
                    SELECT COUNT(*) AS sent, MIN(sent_at) AS oldest FROM message
                    WHERE program_id = ? AND epoch = ? AND token = ? AND sender_id = ? AND sent_at > ?
                    """,
                arguments: key + [memberID, nowMillis - Int64(ConversationLimits.window * 1000)])!
            guard (window["sent"] as Int) < limits.messagesPerDay else {
                throw StoreError.messagesLimited(limits, oldest: window["oldest"] ?? nowMillis, now: now)
            }
            guard (conversation["stored_bytes"] as Int) + envelope.count <= limits.storedBytes else {
                throw StoreError.conversationFull(limits)
            }
            let seq = (conversation["last_seq"] as Int64) + 1
            try db.cachedExecute(
                sql: """
                    INSERT INTO message (program_id, epoch, token, seq, sender_id, envelope, sent_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: key + [seq, memberID, envelope, nowMillis])
            try db.cachedExecute(
                sql: """
                    UPDATE conversation SET last_seq = ?, message_count = message_count + 1,
                                            stored_bytes = stored_bytes + ?, last_sent_at = ?
                    WHERE program_id = ? AND epoch = ? AND token = ?
                    """, arguments: [seq, envelope.count, nowMillis] + key)
            return PostedMessage(seq: seq, sentAt: Self.date(nowMillis), counterpartID: counterpart)
        }
    }

    public func endConversation(memberID: Int64, programID: Int64, token: InterestToken, now: Date) async throws
        -> Int64
    {
        // The deleted envelopes are overwritten in place (`secure_delete`) and the WAL scrubbed before the answer.
        try await writeAndScrub(
            { db in
                let (key, counterpart) = try Self.openConversation(
                    db, memberID: memberID, programID: programID, token: token)
                try db.cachedExecute(
                    sql: "DELETE FROM message WHERE program_id = ? AND epoch = ? AND token = ?", arguments: key)
                let deleted = db.changesCount > 0
                try db.cachedExecute(
                    sql: """
                        UPDATE conversation SET ended_at = COALESCE(ended_at, ?), message_count = 0, stored_bytes = 0
                        WHERE program_id = ? AND epoch = ? AND token = ?
                        """, arguments: [Self.millis(now)] + key)
                return (deleted, counterpart)
            }, scrubs: { $0.0 }
        ).1
    }

    public func report(
        memberID: Int64, programID: Int64, token: InterestToken, reason: String, messages: String, now: Date
    ) async throws {
        // A replaced report's texts are overwritten in place (`secure_delete`) and the WAL scrubbed, as a purge's.
        try await writeAndScrub { db in
            let match = try Self.ownMatch(db, memberID: memberID, programID: programID, token: token)
            try db.cachedExecute(
                sql: """
                    INSERT INTO report (program_id, epoch, token, reporter_id, reported_id, reason, messages, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (program_id, epoch, token, reporter_id) DO UPDATE
                    SET reason = excluded.reason, messages = excluded.messages, created_at = excluded.created_at
                    """,
                arguments: [
                    programID, match.epoch, token.rawRepresentation, memberID, match.a == memberID ? match.b : match.a,
                    reason, messages, Self.millis(now),
                ])
        }
    }

    public func reports(programID: Int64) async throws -> [ReportRecord] {
        try await read { db in
            try db.cachedRows(
                sql: """
                    SELECT r.epoch, r.reason, r.messages, r.created_at, a.handle AS reporter, b.handle AS reported
                    FROM report r JOIN member a ON a.id = r.reporter_id JOIN member b ON b.id = r.reported_id
                    WHERE r.program_id = ? ORDER BY r.created_at, a.handle
                    """, arguments: [programID]
            ).map { row in
                ReportRecord(
                    reporterHandle: try Handle(row["reporter"]), reportedHandle: try Handle(row["reported"]),
                    epoch: UInt32(row["epoch"] as Int64), reason: row["reason"], messages: row["messages"],
                    createdAt: Self.date(row["created_at"]))
            }
        }
    }

    /// The key of the caller's conversation `token` and the other member's id, its row created if this is its
    /// first message or its end.
    private static func openConversation(_ db: Database, memberID: Int64, programID: Int64, token: InterestToken)
        throws -> (StatementArguments, Int64)
    {
        let match = try ownMatch(db, memberID: memberID, programID: programID, token: token)
        let key: StatementArguments = [programID, match.epoch, token.rawRepresentation]
        try db.cachedExecute(
            sql: """
                INSERT INTO conversation (program_id, epoch, token, a_member_id, b_member_id) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """, arguments: key + [match.a, match.b])
        return (key, match.a == memberID ? match.b : match.a)
    }
}
