public import Foundation
import GRDB
public import ReciprocityCore
public import ReciprocityStore

// Email addresses and the notice queue (the rules are `NoticeStore`'s).
extension SQLiteStore {
    public func email(memberID: Int64) async throws -> String? {
        try await read { db in
            try db.cachedValue(String.self, sql: "SELECT email FROM member WHERE id = ?", arguments: [memberID])
        }
    }

    public func setEmail(memberID: Int64, email: String?) async throws {
        let email = try email.map(EmailAddress.validated)
        try await write { db in
            try db.cachedExecute(sql: "UPDATE member SET email = ? WHERE id = ?", arguments: [email, memberID])
            if email == nil {
                try db.cachedExecute(
                    sql: "DELETE FROM notice WHERE member_id = ? AND state <> 'sent'", arguments: [memberID])
            }
        }
    }

    public func queueMatchNotices(since: Date, now: Date, spread: TimeInterval) async throws -> Int {
        try await write { db in
            let (since, now) = (Self.millis(since), Self.millis(now))
            try db.cachedExecute(sql: "DELETE FROM match_notice WHERE noticed_at < ?", arguments: [since])
            // Through the members with an address and their own match index entries only: the marking path
            // gains no index and no write.
            let rows = try db.cachedRows(
                sql: """
                    SELECT e.id AS member_id, m.program_id, m.epoch, m.token
                    FROM member e JOIN "match" m INDEXED BY match_by_a ON m.a_member_id = e.id
                    WHERE e.email IS NOT NULL AND m.matched_at >= ?1
                    UNION ALL
                    SELECT e.id AS member_id, m.program_id, m.epoch, m.token
                    FROM member e JOIN "match" m INDEXED BY match_by_b ON m.b_member_id = e.id
                    WHERE e.email IS NOT NULL AND m.matched_at >= ?1
                    """, arguments: [since])
            var queued = 0
            for row in rows {
                let key: [any DatabaseValueConvertible] = [
                    row["program_id"] as Int64, row["epoch"] as Int64, row["token"] as Data, row["member_id"] as Int64,
                ]
                try db.cachedExecute(
                    sql: """
                        INSERT INTO match_notice (program_id, epoch, token, member_id, noticed_at)
                        VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                        """, arguments: StatementArguments(key + [now]))
                guard db.changesCount == 1 else { continue }
                try Self.insertNotice(
                    db, memberID: row["member_id"], programID: row["program_id"], kind: .match, now: now,
                    due: now + Int64.random(in: 0...Int64(spread * 1000)))
                queued += 1
            }
            return queued
        }
    }

    public func queueMessageNotices(since: Date, now: Date, spread: TimeInterval) async throws -> Int {
        try await write { db in
            let (since, now) = (Self.millis(since), Self.millis(now))
            let interval = Int64(NoticeLimits.messageNoticeInterval * 1000)
            try db.cachedExecute(
                sql: "DELETE FROM conversation_notice WHERE noticed_at < ?", arguments: [since - interval])
            // As for matches: the members with an address, their own match index entries, their conversations.
            let rows = try db.cachedRows(
                sql: """
                    SELECT e.id AS member_id, c.program_id, c.epoch, c.token, c.last_seq,
                           n.noticed_at, n.last_seq AS noticed_seq
                    FROM member e JOIN "match" m INDEXED BY match_by_a ON m.a_member_id = e.id
                    JOIN conversation c ON c.program_id = m.program_id AND c.epoch = m.epoch AND c.token = m.token
                    LEFT JOIN conversation_notice n ON n.program_id = c.program_id AND n.epoch = c.epoch
                        AND n.token = c.token AND n.member_id = e.id
                    WHERE e.email IS NOT NULL AND c.ended_at IS NULL AND c.last_sent_at >= ?1
                    UNION ALL
                    SELECT e.id AS member_id, c.program_id, c.epoch, c.token, c.last_seq,
                           n.noticed_at, n.last_seq AS noticed_seq
                    FROM member e JOIN "match" m INDEXED BY match_by_b ON m.b_member_id = e.id
                    JOIN conversation c ON c.program_id = m.program_id AND c.epoch = m.epoch AND c.token = m.token
                    LEFT JOIN conversation_notice n ON n.program_id = c.program_id AND n.epoch = c.epoch
                        AND n.token = c.token AND n.member_id = e.id
                    WHERE e.email IS NOT NULL AND c.ended_at IS NULL AND c.last_sent_at >= ?1
                    """, arguments: [since])
            var queued = 0
            for row in rows {
                if let noticedAt = row["noticed_at"] as Int64?, noticedAt > now - interval { continue }
                let memberID: Int64 = row["member_id"]
                let key: [any DatabaseValueConvertible] = [
                    row["program_id"] as Int64, row["epoch"] as Int64, row["token"] as Data,
                ]
                guard
                    try db.cachedValue(
                        Bool.self,
                        sql: """
                            SELECT 1 FROM message WHERE program_id = ? AND epoch = ? AND token = ?
                                AND seq > ? AND sender_id <> ? AND sent_at >= ? LIMIT 1
                            """,
                        arguments: StatementArguments(key + [row["noticed_seq"] as Int64? ?? 0, memberID, since]))
                        != nil
                else { continue }
                try db.cachedExecute(
                    sql: """
                        INSERT INTO conversation_notice (program_id, epoch, token, member_id, noticed_at, last_seq)
                        VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (program_id, epoch, token, member_id) DO UPDATE SET noticed_at = excluded.noticed_at, last_seq = excluded.last_seq
                        """, arguments: StatementArguments(key + [memberID, now, row["last_seq"] as Int64]))
                try Self.insertNotice(
                    db, memberID: memberID, programID: row["program_id"], kind: .message, now: now,
                    due: now + Int64.random(in: 0...Int64(spread * 1000)))
                queued += 1
            }
            return queued
        }
    }

    public func queueReminder(programID: Int64, memberIDs: [Int64], kind: NoticeKind, actor: AuditActor, now: Date)
        async throws -> Int
    {
        try await write { db in
            if let last = try db.cachedValue(
                Int64?.self,
                sql: """
                    SELECT MAX(at) FROM audit_entry
                    WHERE program_id = ? AND action = ? AND subject = ? AND at > ?
                    """,
                arguments: [
                    programID, AuditAction.reminderSent.rawValue, kind.rawValue,
                    Self.millis(now) - Int64(NoticeLimits.reminderInterval * 1000),
                ]) ?? nil
            {
                throw StoreError.reminderLimited(kind, last: last, now: now)
            }
            var queued = 0
            for memberID in Set(memberIDs) {
                guard
                    try db.cachedValue(
                        Bool.self,
                        sql: "SELECT 1 FROM member WHERE id = ? AND program_id = ? AND email IS NOT NULL",
                        arguments: [memberID, programID]) != nil
                else { continue }
                try Self.insertNotice(
                    db, memberID: memberID, programID: programID, kind: kind, now: Self.millis(now),
                    due: Self.millis(now))
                queued += 1
            }
            try Self.insertAudit(
                db, programID: programID,
                AuditEvent(actor: actor, action: .reminderSent, subject: kind.rawValue, detail: "\(queued)", at: now))
            return queued
        }
    }

    public func queueRoundClosingNotices(now: Date, lead: TimeInterval) async throws -> Int {
        let (now, until) = (Self.millis(now), Self.millis(now + lead))
        let due = try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id FROM program WHERE next_round_at > ? AND next_round_at <= ?
                        AND round_noticed_epoch IS NOT epoch
                    """, arguments: [now, until]
            ).map { $0["id"] as Int64 }
        }
        var queued = 0
        for id in due {
            queued += try await write { db in
                try db.cachedExecute(
                    sql: """
                        UPDATE program SET round_noticed_epoch = epoch
                        WHERE id = ? AND next_round_at > ? AND next_round_at <= ? AND round_noticed_epoch IS NOT epoch
                        """, arguments: [id, now, until])
                guard db.changesCount == 1 else { return 0 }
                try db.cachedExecute(
                    sql: """
                        INSERT INTO notice (member_id, program_id, kind, due_at, created_at)
                        SELECT id, program_id, ?, ?, ? FROM member
                        WHERE program_id = ? AND email IS NOT NULL AND status = ?
                        """,
                    arguments: [NoticeKind.roundClosing.rawValue, now, now, id, MemberStatus.active.rawValue])
                return db.changesCount
            }
        }
        return queued
    }

    static func insertNotice(
        _ db: Database, memberID: Int64, programID: Int64, kind: NoticeKind, now: Int64, due: Int64
    )
        throws
    {
        try db.cachedExecute(
            sql: "INSERT INTO notice (member_id, program_id, kind, due_at, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [memberID, programID, kind.rawValue, due, now])
    }

    public func claimNotice(now: Date, lease: TimeInterval) async throws -> NoticeDelivery? {
        try await write { db in
            let now = Self.millis(now)
            try db.cachedExecute(
                sql: "DELETE FROM notice WHERE state = 'sent' AND sent_at < ?",
                arguments: [now - Int64(NoticeLimits.sentRetention * 1000)])
            while let row = try db.cachedRow(
                sql: """
                    SELECT n.id, n.kind, n.attempts, n.message_id, p.name, p.next_round_at, e.email, e.status
                    FROM notice n JOIN member e ON e.id = n.member_id JOIN program p ON p.id = n.program_id
                    WHERE (n.state = 'queued' AND n.due_at <= ?1) OR (n.state = 'sending' AND n.claimed_at <= ?2)
                    ORDER BY n.due_at, n.id LIMIT 1
                    """, arguments: [now, now - Int64(lease * 1000)])
            {
                let id: Int64 = row["id"]
                let closesAt = (row["next_round_at"] as Int64?).map(Self.date)
                guard let email = row["email"] as String?, row["status"] == MemberStatus.active.rawValue,
                    let kind = NoticeKind(rawValue: row["kind"]),
                    kind != .roundClosing || closesAt.map({ $0 > Self.date(now) }) == true
                else {
                    try db.cachedExecute(sql: "DELETE FROM notice WHERE id = ?", arguments: [id])
                    continue
                }
                let messageID = row["message_id"] as String? ?? NoticeDelivery.newMessageID()
                try db.cachedExecute(
                    sql: "UPDATE notice SET state = 'sending', claimed_at = ?, message_id = ? WHERE id = ?",
                    arguments: [now, messageID, id])
                return NoticeDelivery(
                    id: id, messageID: messageID, kind: kind, program: try ProgramID(row["name"]), email: email,
                    attempts: row["attempts"], roundClosesAt: kind == .roundClosing ? closesAt : nil)
            }
            return nil
        }
    }

    public func noticeSent(id: Int64, now: Date) async throws {
        try await write { db in
            try db.cachedExecute(
                sql: "UPDATE notice SET state = 'sent', sent_at = ? WHERE id = ?", arguments: [Self.millis(now), id])
        }
    }

    public func noticeFailed(id: Int64, retryAt: Date) async throws {
        try await write { db in
            try db.cachedExecute(
                sql: "UPDATE notice SET state = 'queued', due_at = ?, attempts = attempts + 1 WHERE id = ?",
                arguments: [Self.millis(retryAt), id])
        }
    }

    public func dropNotice(id: Int64) async throws {
        try await write { db in try db.cachedExecute(sql: "DELETE FROM notice WHERE id = ?", arguments: [id]) }
    }

    public func noticeCounts() async throws -> [String: Int] {
        try await read { db in
            Dictionary(
                uniqueKeysWithValues: try db.cachedRows(sql: "SELECT state, count(*) AS n FROM notice GROUP BY state")
                    .map { ($0["state"] as String, $0["n"] as Int) })
        }
    }
}
