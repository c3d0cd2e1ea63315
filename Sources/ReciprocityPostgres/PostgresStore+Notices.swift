public import Foundation
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore

// Email addresses and the notice queue (the rules are `NoticeStore`'s). Several processes may run notifiers on
// one database: a claim skips rows another transaction holds, and a match's notice is queued once by the
// primary key of `match_notice`.
extension PostgresStore {
    public func email(memberID: Int64) async throws -> String? {
        try await read { connection in
            try await self.row("SELECT email FROM member WHERE id = \(memberID)", on: connection)?["email"]
                .decode(String?.self)
        }
    }

    public func setEmail(memberID: Int64, email: String?) async throws {
        let email = try email.map(EmailAddress.validated)
        try await transaction { connection in
            try await self.execute("UPDATE member SET email = \(email) WHERE id = \(memberID)", on: connection)
            if email == nil {
                try await self.execute(
                    "DELETE FROM notice WHERE member_id = \(memberID) AND state <> 'sent'", on: connection)
            }
        }
    }

    public func queueMatchNotices(since: Date, now: Date, spread: TimeInterval) async throws -> Int {
        let (since, now) = (Self.millis(since), Self.millis(now))
        let spread = Int64(spread * 1000)
        return try await transaction { connection in
            try await self.execute("DELETE FROM match_notice WHERE noticed_at < \(since)", on: connection)
            // Through the members with an address and their own match index entries only: the marking path
            // gains no index and no write.
            let rows = try await self.rows(
                """
                SELECT e.id AS member_id, m.program_id, m.epoch, m.token
                FROM member e JOIN "match" m ON m.a_member_id = e.id
                WHERE e.email IS NOT NULL AND m.matched_at >= \(since)
                UNION ALL
                SELECT e.id AS member_id, m.program_id, m.epoch, m.token
                FROM member e JOIN "match" m ON m.b_member_id = e.id
                WHERE e.email IS NOT NULL AND m.matched_at >= \(since)
                """, on: connection)
            var queued = 0
            for row in rows {
                let (memberID, programID) = (
                    try row["member_id"].decode(Int64.self), try row["program_id"].decode(Int64.self)
                )
                let (epoch, token) = (try row["epoch"].decode(Int64.self), try row["token"].decode(Data.self))
                let inserted = try await self.execute(
                    """
                    INSERT INTO match_notice (program_id, epoch, token, member_id, noticed_at)
                    VALUES (\(programID), \(epoch), \(token), \(memberID), \(now)) ON CONFLICT DO NOTHING RETURNING 1
                    """, on: connection)
                guard inserted == 1 else { continue }
                try await self.insertNotice(
                    connection, memberID: memberID, programID: programID, kind: .match, now: now,
                    due: now + Int64.random(in: 0...spread))
                queued += 1
            }
            return queued
        }
    }

    public func queueMessageNotices(since: Date, now: Date, spread: TimeInterval) async throws -> Int {
        let (since, now) = (Self.millis(since), Self.millis(now))
        let interval = Int64(NoticeLimits.messageNoticeInterval * 1000)
        let spread = Int64(spread * 1000)
        return try await transaction { connection in
            try await self.execute(
                "DELETE FROM conversation_notice WHERE noticed_at < \(since - interval)", on: connection)
            // As for matches: the members with an address, their own match index entries, their conversations.
            let rows = try await self.rows(
                """
                SELECT e.id AS member_id, c.program_id, c.epoch, c.token, c.last_seq,
                       n.noticed_at, n.last_seq AS noticed_seq
                FROM member e JOIN "match" m ON m.a_member_id = e.id
                JOIN conversation c ON c.program_id = m.program_id AND c.epoch = m.epoch AND c.token = m.token
                LEFT JOIN conversation_notice n ON n.program_id = c.program_id AND n.epoch = c.epoch
                    AND n.token = c.token AND n.member_id = e.id
                WHERE e.email IS NOT NULL AND c.ended_at IS NULL AND c.last_sent_at >= \(since)
                UNION ALL
                SELECT e.id AS member_id, c.program_id, c.epoch, c.token, c.last_seq,
                       n.noticed_at, n.last_seq AS noticed_seq
                FROM member e JOIN "match" m ON m.b_member_id = e.id
                JOIN conversation c ON c.program_id = m.program_id AND c.epoch = m.epoch AND c.token = m.token
                LEFT JOIN conversation_notice n ON n.program_id = c.program_id AND n.epoch = c.epoch
                    AND n.token = c.token AND n.member_id = e.id
                WHERE e.email IS NOT NULL AND c.ended_at IS NULL AND c.last_sent_at >= \(since)
                """, on: connection)
            var queued = 0
            for row in rows {
                if let noticedAt = try row["noticed_at"].decode(Int64?.self), noticedAt > now - interval { continue }
                let memberID = try row["member_id"].decode(Int64.self)
                let programID = try row["program_id"].decode(Int64.self)
                let (epoch, token) = (try row["epoch"].decode(Int64.self), try row["token"].decode(Data.self))
                let noticedSeq = try row["noticed_seq"].decode(Int64?.self) ?? 0
                guard
                    try await self.row(
                        """
                        SELECT 1 FROM message WHERE program_id = \(programID) AND epoch = \(epoch) AND token = \(token)
                            AND seq > \(noticedSeq) AND sender_id <> \(memberID) AND sent_at >= \(since) LIMIT 1
                        """, on: connection) != nil
                else { continue }
                try await self.execute(
                    """
                    INSERT INTO conversation_notice (program_id, epoch, token, member_id, noticed_at, last_seq)
                    VALUES (\(programID), \(epoch), \(token), \(memberID), \(now), \(try row["last_seq"].decode(Int64.self)))
                    ON CONFLICT (program_id, epoch, token, member_id)
                    DO UPDATE SET noticed_at = excluded.noticed_at, last_seq = excluded.last_seq
                    """, on: connection)
                try await self.insertNotice(
                    connection, memberID: memberID, programID: programID, kind: .message, now: now,
                    due: now + Int64.random(in: 0...spread))
                queued += 1
            }
            return queued
        }
    }

    public func queueReminder(programID: Int64, memberIDs: [Int64], kind: NoticeKind, actor: AuditActor, now: Date)
        async throws -> Int
    {
        try await transaction { connection in
            // The program's row orders two reminders at once (the audit entry's counter lives on it too).
            try await self.execute("SELECT 1 FROM program WHERE id = \(programID) FOR UPDATE", on: connection)
            let since = Self.millis(now) - Int64(NoticeLimits.reminderInterval * 1000)
            if let last = try await self.row(
                """
                SELECT MAX(at) AS last FROM audit_entry
                WHERE program_id = \(programID) AND action = \(AuditAction.reminderSent.rawValue)
                    AND subject = \(kind.rawValue) AND at > \(since)
                """, on: connection)?["last"].decode(Int64?.self)
            {
                throw StoreError.reminderLimited(kind, last: last, now: now)
            }
            var queued = 0
            for memberID in Set(memberIDs) {
                guard
                    try await self.row(
                        """
                        SELECT 1 FROM member WHERE id = \(memberID) AND program_id = \(programID) AND email IS NOT NULL
                        """, on: connection) != nil
                else { continue }
                try await self.insertNotice(
                    connection, memberID: memberID, programID: programID, kind: kind, now: Self.millis(now),
                    due: Self.millis(now))
                queued += 1
            }
            try await self.insertAudit(
                connection, programID: programID,
                AuditEvent(actor: actor, action: .reminderSent, subject: kind.rawValue, detail: "\(queued)", at: now))
            return queued
        }
    }

    public func queueRoundClosingNotices(now: Date, lead: TimeInterval) async throws -> Int {
        let (now, until) = (Self.millis(now), Self.millis(now + lead))
        return try await transaction { connection in
            // Conditional: a second process's update waits for the first's row locks, then finds the time
            // epoch noticed and changes nothing.
            var queued = 0
            for row in try await self.rows(
                """
                UPDATE program SET round_noticed_epoch = epoch
                WHERE next_round_at > \(now) AND next_round_at <= \(until)
                    AND round_noticed_epoch IS DISTINCT FROM epoch
                RETURNING id
                """, on: connection)
            {
                queued += try await self.execute(
                    """
                    INSERT INTO notice (member_id, program_id, kind, due_at, created_at)
                    SELECT id, program_id, \(NoticeKind.roundClosing.rawValue), \(now), \(now) FROM member
                    WHERE program_id = \(try row["id"].decode(Int64.self)) AND email IS NOT NULL
                        AND status = \(MemberStatus.active.rawValue)
                    RETURNING 1
                    """, on: connection)
            }
            return queued
        }
    }

    func insertNotice(
        _ connection: PostgresConnection, memberID: Int64, programID: Int64, kind: NoticeKind, now: Int64, due: Int64
    ) async throws {
        try await execute(
            """
            INSERT INTO notice (member_id, program_id, kind, due_at, created_at)
            VALUES (\(memberID), \(programID), \(kind.rawValue), \(due), \(now))
            """, on: connection)
    }

    public func claimNotice(now: Date, lease: TimeInterval) async throws -> NoticeDelivery? {
        let now = Self.millis(now)
        let leaseStart = now - Int64(lease * 1000)
        return try await transaction { connection in
            try await self.execute(
                """
                DELETE FROM notice WHERE state = 'sent' AND sent_at < \(now - Int64(NoticeLimits.sentRetention * 1000))
                """, on: connection)
            while let row = try await self.row(
                """
                SELECT n.id, n.kind, n.attempts, n.message_id, p.name, p.next_round_at, e.email, e.status
                FROM notice n JOIN member e ON e.id = n.member_id JOIN program p ON p.id = n.program_id
                WHERE (n.state = 'queued' AND n.due_at <= \(now))
                    OR (n.state = 'sending' AND n.claimed_at <= \(leaseStart))
                ORDER BY n.due_at, n.id LIMIT 1
                FOR UPDATE OF n SKIP LOCKED
                """, on: connection)
            {
                let id = try row["id"].decode(Int64.self)
                let closesAt = try row["next_round_at"].decode(Int64?.self)
                guard let email = try row["email"].decode(String?.self),
                    try row["status"].decode(String.self) == MemberStatus.active.rawValue,
                    let kind = NoticeKind(rawValue: try row["kind"].decode(String.self)),
                    kind != .roundClosing || closesAt.map({ $0 > now }) == true
                else {
                    try await self.execute("DELETE FROM notice WHERE id = \(id)", on: connection)
                    continue
                }
                let messageID = try row["message_id"].decode(String?.self) ?? NoticeDelivery.newMessageID()
                try await self.execute(
                    """
                    UPDATE notice SET state = 'sending', claimed_at = \(now), message_id = \(messageID) WHERE id = \(id)
                    """, on: connection)
                return NoticeDelivery(
                    id: id, messageID: messageID, kind: kind,
                    program: try ProgramID(try row["name"].decode(String.self)),
                    email: email, attempts: Int(try row["attempts"].decode(Int32.self)),
                    roundClosesAt: kind == .roundClosing ? closesAt.map(Self.date) : nil)
            }
            return nil
        }
    }

    public func noticeSent(id: Int64, now: Date) async throws {
        try await transaction { connection in
            try await self.execute(
                "UPDATE notice SET state = 'sent', sent_at = \(Self.millis(now)) WHERE id = \(id)", on: connection)
        }
    }

    public func noticeFailed(id: Int64, retryAt: Date) async throws {
        try await transaction { connection in
            try await self.execute(
                """
                UPDATE notice SET state = 'queued', due_at = \(Self.millis(retryAt)), attempts = attempts + 1
                WHERE id = \(id)
                """, on: connection)
        }
    }

    public func dropNotice(id: Int64) async throws {
        try await transaction { connection in
            try await self.execute("DELETE FROM notice WHERE id = \(id)", on: connection)
        }
    }

    public func noticeCounts() async throws -> [String: Int] {
        try await read { connection in
            Dictionary(
                uniqueKeysWithValues: try await self.rows(
                    "SELECT state, count(*) AS n FROM notice GROUP BY state", on: connection
                ).map { (try $0["state"].decode(String.self), Int(try $0["n"].decode(Int64.self))) })
        }
    }
}
