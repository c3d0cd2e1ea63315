public import Foundation
import NIOCore
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

// Conversations (the rules are `ConversationStore`'s). Every method first finds the match through the caller's
// own rows (`ownMatch`): a token that is not a match of the caller's costs one look-up, whoever else holds it.
// A message takes the conversation's row lock (FOR UPDATE), so that sequence numbers and the bounds hold with
// any number of server processes.
extension PostgresStore {
    /// The epoch and two members of the caller's match `token`, through the caller's own index entries
    /// (`match_by_a`, `match_by_b`): the token is compared as an expression, which no index serves, so no plan
    /// reads another pair's match through the token-first primary key (as `withdrawOwn` does for marks).
    func ownMatch(memberID: Int64, programID: Int64, token: InterestToken, on connection: PostgresConnection)
        async throws -> (epoch: Int64, a: Int64, b: Int64, matchedAt: Int64)
    {
        guard
            let row = try await self.row(
                Self.ownMatchQuery(memberID: memberID, programID: programID, token: token), on: connection)
        else { throw StoreError.conversationNotFound }
        return (
            try row["epoch"].decode(Int64.self), try row["a_member_id"].decode(Int64.self),
            try row["b_member_id"].decode(Int64.self), try row["matched_at"].decode(Int64.self)
        )
    }

    /// The statement of `ownMatch` (its plan is checked by a test).
    static func ownMatchQuery(memberID: Int64, programID: Int64, token: InterestToken) -> PostgresQuery {
        let bytes = ByteBuffer(bytes: token.rawRepresentation)
        return """
            SELECT epoch, a_member_id, b_member_id, matched_at FROM "match"
            WHERE a_member_id = \(memberID) AND program_id = \(programID) AND (token || ''::bytea) = \(bytes)
            UNION ALL
            SELECT epoch, a_member_id, b_member_id, matched_at FROM "match"
            WHERE b_member_id = \(memberID) AND program_id = \(programID) AND (token || ''::bytea) = \(bytes)
            """
    }

    public func conversations(memberID: Int64, after: InterestToken?, limit: Int) async throws
        -> [ConversationRecord]
    {
        try await read { connection in
            var cursor: (Int64, Data)?
            if let after {
                // The program is the caller's: their match rows carry it.
                let programID = try await self.row(
                    "SELECT program_id FROM member WHERE id = \(memberID)", on: connection
                )?["program_id"].decode(Int64.self)
                let own = try await self.ownMatch(
                    memberID: memberID, programID: programID ?? -1, token: after, on: connection)
                cursor = (own.matchedAt, after.rawRepresentation)
            }
            return try await self.rows(
                """
                SELECT m.token, m.epoch, c.handle, v.last_seq, v.message_count, v.last_sent_at, v.ended_at
                FROM "match" m
                JOIN member c ON c.id = CASE WHEN m.a_member_id = \(memberID) THEN m.b_member_id ELSE m.a_member_id END
                LEFT JOIN conversation v ON v.program_id = m.program_id AND v.epoch = m.epoch AND v.token = m.token
                WHERE (m.a_member_id = \(memberID) OR m.b_member_id = \(memberID))
                  AND (m.matched_at, m.token) > (\(cursor?.0 ?? Int64.min), \(cursor?.1 ?? Data()))
                ORDER BY m.matched_at, m.token
                LIMIT \(Int64(max(1, limit)))
                """, on: connection
            ).map { row in
                ConversationRecord(
                    token: try InterestToken(rawRepresentation: try row["token"].decode(Data.self)),
                    epoch: UInt32(try row["epoch"].decode(Int64.self)),
                    counterpartHandle: try Handle(try row["handle"].decode(String.self)),
                    messageCount: Int(try row["message_count"].decode(Int64?.self) ?? 0),
                    lastSeq: try row["last_seq"].decode(Int64?.self) ?? 0,
                    lastSentAt: try row["last_sent_at"].decode(Int64?.self).map(Self.date),
                    ended: try row["ended_at"].decode(Int64?.self) != nil)
            }
        }
    }

    public func messages(memberID: Int64, programID: Int64, token: InterestToken, after: Int64, limit: Int)
        async throws -> MessagePage
    {
        // One transaction, so that the end state and the messages are one snapshot.
        try await transaction { connection in
            let match = try await self.ownMatch(
                memberID: memberID, programID: programID, token: token, on: connection)
            let bytes = token.rawRepresentation
            let ended = try await self.row(
                """
                SELECT ended_at FROM conversation
                WHERE program_id = \(programID) AND epoch = \(match.epoch) AND token = \(bytes)
                """, on: connection
            ).map { try $0["ended_at"].decode(Int64?.self) != nil }
            let messages = try await self.rows(
                """
                SELECT seq, sender_id, envelope, sent_at FROM message
                WHERE program_id = \(programID) AND epoch = \(match.epoch) AND token = \(bytes) AND seq > \(after)
                ORDER BY seq LIMIT \(Int64(max(1, limit)))
                """, on: connection
            ).map { row in
                MessageRecord(
                    seq: try row["seq"].decode(Int64.self), fromMe: try row["sender_id"].decode(Int64.self) == memberID,
                    envelope: try row["envelope"].decode(Data.self),
                    sentAt: Self.date(try row["sent_at"].decode(Int64.self)))
            }
            return MessagePage(messages: messages, ended: ended ?? false)
        }
    }

    public func postMessage(
        memberID: Int64, programID: Int64, token: InterestToken, envelope: Data, limits: ConversationLimits,
        now: Date
    ) async throws -> PostedMessage {
        try await transaction { connection in
            let (epoch, counterpart) = try await self.openConversation(
                memberID: memberID, programID: programID, token: token, on: connection)
            let bytes = token.rawRepresentation
            let conversation = try await self.row(
                """
                SELECT last_seq, stored_bytes, ended_at FROM conversation
                WHERE program_id = \(programID) AND epoch = \(epoch) AND token = \(bytes) FOR UPDATE
                """, on: connection)!
            guard try conversation["ended_at"].decode(Int64?.self) == nil else { throw StoreError.conversationEnded }
            let nowMillis = Self.millis(now)
            let window = try await self.row(
                """
                SELECT COUNT(*) AS sent, MIN(sent_at) AS oldest FROM message
                WHERE program_id = \(programID) AND epoch = \(epoch) AND token = \(bytes) AND sender_id = \(memberID)
                  AND sent_at > \(nowMillis - Int64(ConversationLimits.window * 1000))
                """, on: connection)!
            guard try window["sent"].decode(Int64.self) < Int64(limits.messagesPerDay) else {
                throw StoreError.messagesLimited(
                    limits, oldest: try window["oldest"].decode(Int64?.self) ?? nowMillis, now: now)
            }
            guard
                try conversation["stored_bytes"].decode(Int64.self) + Int64(envelope.count) <= Int64(limits.storedBytes)
            else { throw StoreError.conversationFull(limits) }
            let seq = try conversation["last_seq"].decode(Int64.self) + 1
            try await self.execute(
                """
                INSERT INTO message (program_id, epoch, token, seq, sender_id, envelope, sent_at)
                VALUES (\(programID), \(epoch), \(bytes), \(seq), \(memberID), \(envelope), \(nowMillis))
                """, on: connection)
            try await self.execute(
                """
                UPDATE conversation SET last_seq = \(seq), message_count = message_count + 1,
                                        stored_bytes = stored_bytes + \(Int64(envelope.count)), last_sent_at = \(nowMillis)
                WHERE program_id = \(programID) AND epoch = \(epoch) AND token = \(bytes)
                """, on: connection)
            return PostedMessage(seq: seq, sentAt: Self.date(nowMillis), counterpartID: counterpart)
        }
    }

    /// Deletes the envelopes. PostgreSQL keeps the deleted row versions in the table's pages (and its WAL) until
    /// vacuum reuses the space and later writes overwrite it: SECURITY.md says what that means.
    public func endConversation(memberID: Int64, programID: Int64, token: InterestToken, now: Date) async throws
        -> Int64
    {
        try await transaction { connection in
            let (epoch, counterpart) = try await self.openConversation(
                memberID: memberID, programID: programID, token: token, on: connection)
            let bytes = token.rawRepresentation
            try await self.execute(
                """
                UPDATE conversation SET ended_at = COALESCE(ended_at, \(Self.millis(now))), message_count = 0,
                                        stored_bytes = 0
                WHERE program_id = \(programID) AND epoch = \(epoch) AND token = \(bytes)
                """, on: connection)
            try await self.execute(
                "DELETE FROM message WHERE program_id = \(programID) AND epoch = \(epoch) AND token = \(bytes)",
                on: connection)
            return counterpart
        }
    }

    public func report(
        memberID: Int64, programID: Int64, token: InterestToken, reason: String, messages: String, now: Date
    ) async throws {
        try await transaction { connection in
            let match = try await self.ownMatch(
                memberID: memberID, programID: programID, token: token, on: connection)
            let reported = match.a == memberID ? match.b : match.a
            try await self.execute(
                """
                INSERT INTO report (program_id, epoch, token, reporter_id, reported_id, reason, messages, created_at)
                VALUES (\(programID), \(match.epoch), \(token.rawRepresentation), \(memberID), \(reported), \(reason),
                        \(messages), \(Self.millis(now)))
                ON CONFLICT (program_id, epoch, token, reporter_id) DO UPDATE
                SET reason = excluded.reason, messages = excluded.messages, created_at = excluded.created_at
                """, on: connection)
        }
    }

    public func reports(programID: Int64) async throws -> [ReportRecord] {
        try await read { connection in
            try await self.rows(
                """
                SELECT r.epoch, r.reason, r.messages, r.created_at, a.handle AS reporter, b.handle AS reported
                FROM report r JOIN member a ON a.id = r.reporter_id JOIN member b ON b.id = r.reported_id
                WHERE r.program_id = \(programID) ORDER BY r.created_at, a.handle
                """, on: connection
            ).map { row in
                ReportRecord(
                    reporterHandle: try Handle(try row["reporter"].decode(String.self)),
                    reportedHandle: try Handle(try row["reported"].decode(String.self)),
                    epoch: UInt32(try row["epoch"].decode(Int64.self)), reason: try row["reason"].decode(String.self),
                    messages: try row["messages"].decode(String.self),
                    createdAt: Self.date(try row["created_at"].decode(Int64.self)))
            }
        }
    }

    /// The epoch of the caller's conversation `token` and the other member's id, its row created if this is its
    /// first message or its end.
    private func openConversation(
        memberID: Int64, programID: Int64, token: InterestToken, on connection: PostgresConnection
    ) async throws -> (Int64, Int64) {
        let match = try await ownMatch(memberID: memberID, programID: programID, token: token, on: connection)
        try await execute(
            """
            INSERT INTO conversation (program_id, epoch, token, a_member_id, b_member_id)
            VALUES (\(programID), \(match.epoch), \(token.rawRepresentation), \(match.a), \(match.b))
            ON CONFLICT DO NOTHING
            """, on: connection)
        return (match.epoch, match.a == memberID ? match.b : match.a)
    }
}
