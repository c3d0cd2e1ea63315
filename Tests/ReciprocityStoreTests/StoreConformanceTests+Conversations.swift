import Foundation
import NIOCore
import PostgresNIO
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

@testable import ReciprocityPostgres

/// Conversations, on every backend: one per match, its two members only, messages in order, the end, the
/// bounds, and housekeeping.
extension StoreConformanceTests {
    /// A random envelope of the smallest size class (the store never looks inside).
    static func envelope(size: Int = MessageEnvelope.lengths[0]) -> Data {
        Data([MessageEnvelope.version] + (1..<size).map { _ in UInt8.random(in: 0...255) })
    }

    /// Two members of `program` matched with a fresh token, in `epoch`.
    static func match(
        _ store: any ReciprocityStore, _ a: MemberRecord, _ b: MemberRecord, in program: ProgramRecord,
        epoch: UInt32 = 0
    ) async throws -> InterestToken {
        let mark = try Mark.dummy()
        for member in [a, b] {
            _ = try await store.submitMarks(
                memberID: member.id, programID: program.id, epoch: epoch, marks: [mark], now: Date())
        }
        return mark.token
    }

    static func expectNotFound(_ body: () async throws -> Void, _ comment: Comment) async {
        await #expect(throws: StoreError.conversationNotFound, comment) { try await body() }
    }

    @Test(arguments: Backend.enabled)
    func aConversationCarriesMessagesBothWaysInOrder(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 3)
        let token = try await Self.match(store, m[0], m[1], in: program)
        let other = try await Self.match(store, m[0], m[2], in: program)
        let before = try await store.conversations(memberID: m[0].id, after: nil, limit: 10)
        #expect(before.map(\.token) == [token, other])
        #expect(before.map(\.counterpartHandle) == [m[1].handle, m[2].handle])
        #expect(before.allSatisfy { $0.messageCount == 0 && $0.lastSeq == 0 && $0.lastSentAt == nil && !$0.ended })
        #expect(
            try await store.messages(memberID: m[1].id, programID: program.id, token: token, after: 0, limit: 10)
                == MessagePage(messages: [], ended: false))

        var sent: [(Int64, Data)] = []
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        for index in 0..<5 {
            let sender = index % 2 == 0 ? m[0] : m[1]
            let envelope = Self.envelope(size: MessageEnvelope.lengths[index % 3])
            let posted = try await store.postMessage(
                memberID: sender.id, programID: program.id, token: token, envelope: envelope,
                limits: ConversationLimits(), now: start.addingTimeInterval(Double(index)))
            #expect(posted.seq == Int64(index + 1))
            #expect(posted.sentAt == start.addingTimeInterval(Double(index)))
            #expect(posted.counterpartID == (sender == m[0] ? m[1].id : m[0].id))
            sent.append((sender.id, envelope))
        }
        for reader in [m[0], m[1]] {
            let page = try await store.messages(
                memberID: reader.id, programID: program.id, token: token, after: 0, limit: 100)
            #expect(page.messages.map(\.seq) == [1, 2, 3, 4, 5])
            #expect(page.messages.map(\.envelope) == sent.map(\.1))
            #expect(page.messages.map(\.fromMe) == sent.map { $0.0 == reader.id })
            #expect(!page.ended)
            let after = try await store.messages(
                memberID: reader.id, programID: program.id, token: token, after: 2, limit: 2)
            #expect(after.messages.map(\.seq) == [3, 4])
        }
        let listed = try await store.conversations(memberID: m[1].id, after: nil, limit: 10)
        #expect(listed.count == 1 && listed[0].token == token && listed[0].counterpartHandle == m[0].handle)
        #expect(listed[0].messageCount == 5 && listed[0].lastSeq == 5)
        #expect(listed[0].lastSentAt == start.addingTimeInterval(4))
        // The other conversation of m[0] is untouched, and the page cursor continues after the first.
        #expect(try await store.conversations(memberID: m[0].id, after: token, limit: 10).map(\.token) == [other])
        #expect(try await store.conversations(memberID: m[2].id, after: nil, limit: 10)[0].messageCount == 0)
    }

    /// A third member of the program, a member of another program, and anyone with the token of a pending mark
    /// or of no mark: the same refusal, and nothing is created or changed.
    @Test(arguments: Backend.enabled)
    func onlyTheTwoMembersReachAConversation(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 4)
        let (otherProgram, o) = try await StoreHarness.members(store, count: 2, program: "other")
        let token = try await Self.match(store, m[0], m[1], in: program)
        _ = try await store.postMessage(
            memberID: m[0].id, programID: program.id, token: token, envelope: Self.envelope(),
            limits: ConversationLimits(), now: Date())
        let pending = try Mark.dummy()
        _ = try await store.submitMarks(
            memberID: m[2].id, programID: program.id, epoch: 0, marks: [pending], now: Date())
        // The same token held by a pair of another program is another program's match.
        let otherToken = try await Self.match(store, o[0], o[1], in: otherProgram)
        let probes: [(MemberRecord, Int64, InterestToken, String)] = [
            (m[2], program.id, token, "a third member of the program"),
            (m[3], program.id, token, "a member with no marks"),
            (o[0], otherProgram.id, token, "a member of another program"),
            (m[0], program.id, otherToken, "a member, with another program's match token"),
            (m[3], program.id, pending.token, "a member, with another member's pending token"),
            (m[2], program.id, pending.token, "the holder of the pending mark"),
            (m[0], program.id, try InterestToken.random(), "a member, with a token of nothing"),
        ]
        for (member, programID, probe, who) in probes {
            await Self.expectNotFound(
                {
                    _ = try await store.messages(
                        memberID: member.id, programID: programID, token: probe, after: 0, limit: 10)
                }, "messages: \(who)")
            await Self.expectNotFound(
                {
                    _ = try await store.postMessage(
                        memberID: member.id, programID: programID, token: probe, envelope: Self.envelope(),
                        limits: ConversationLimits(), now: Date())
                }, "post: \(who)")
            await Self.expectNotFound(
                {
                    _ = try await store.endConversation(
                        memberID: member.id, programID: programID, token: probe, now: Date())
                }, "end: \(who)")
        }
        let page = try await store.messages(memberID: m[1].id, programID: program.id, token: token, after: 0, limit: 9)
        #expect(page.messages.count == 1 && !page.ended)
        for member in m[2...] + o {
            #expect(
                try await store.conversations(memberID: member.id, after: nil, limit: 10).allSatisfy {
                    $0.messageCount == 0 && !$0.ended
                })
        }
        #expect(try await store.pendingMarks(memberID: m[2].id).map(\.token) == [pending.token])
    }

    @Test(arguments: Backend.enabled)
    func endingDeletesTheMessagesAndRefusesNewOnes(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 2)
        let token = try await Self.match(store, m[0], m[1], in: program)
        for sender in [m[0], m[1], m[0]] {
            _ = try await store.postMessage(
                memberID: sender.id, programID: program.id, token: token, envelope: Self.envelope(),
                limits: ConversationLimits(), now: Date())
        }
        #expect(
            try await store.endConversation(memberID: m[1].id, programID: program.id, token: token, now: Date())
                == m[0].id)
        for member in [m[0], m[1]] {
            #expect(
                try await store.messages(memberID: member.id, programID: program.id, token: token, after: 0, limit: 9)
                    == MessagePage(messages: [], ended: true))
            let listed = try await store.conversations(memberID: member.id, after: nil, limit: 10)
            #expect(listed.count == 1 && listed[0].ended && listed[0].messageCount == 0 && listed[0].lastSeq == 3)
            await #expect(throws: StoreError.conversationEnded) {
                _ = try await store.postMessage(
                    memberID: member.id, programID: program.id, token: token, envelope: Self.envelope(),
                    limits: ConversationLimits(), now: Date())
            }
        }
        // Ending again changes nothing; ending a conversation with no message yet ends it too.
        try await store.endConversation(memberID: m[0].id, programID: program.id, token: token, now: Date())
        let (_, n) = try await StoreHarness.members(store, count: 2, program: "quiet")
        let quiet = try await store.program(named: ProgramID("quiet"))!
        let silent = try await Self.match(store, n[0], n[1], in: quiet)
        try await store.endConversation(memberID: n[0].id, programID: quiet.id, token: silent, now: Date())
        #expect(try await store.conversations(memberID: n[1].id, after: nil, limit: 10).map(\.ended) == [true])
    }

    @Test(arguments: Backend.enabled)
    func theBoundsHoldPerMemberPerDayAndPerConversation(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 2)
        let token = try await Self.match(store, m[0], m[1], in: program)
        let small = MessageEnvelope.lengths[0]
        let limits = ConversationLimits(messagesPerDay: 3, storedBytes: 5 * small)
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        func post(_ member: MemberRecord, at seconds: Double, size: Int = small) async throws -> PostedMessage {
            try await store.postMessage(
                memberID: member.id, programID: program.id, token: token, envelope: Self.envelope(size: size),
                limits: limits, now: start.addingTimeInterval(seconds))
        }
        for second in 0..<3 { _ = try await post(m[0], at: Double(second) * 60) }
        do {
            _ = try await post(m[0], at: 3600)
            Issue.record("a fourth message in a day was stored")
        } catch let error as StoreError {
            #expect(error.code == .messagesLimited)
            // The first message leaves the window 23 hours later.
            #expect(error.retryAfter == 23 * 3600 + 1)
        }
        // The other member's own allowance is untouched.
        _ = try await post(m[1], at: 3600)
        // A day after the first message, one more fits.
        _ = try await post(m[0], at: 24 * 3600 + 1)
        // Five small envelopes are stored: the conversation is full, for both.
        await #expect(throws: StoreError.conversationFull(limits)) { _ = try await post(m[1], at: 24 * 3600 + 2) }
        #expect(try await store.conversations(memberID: m[0].id, after: nil, limit: 9)[0].lastSeq == 5)
    }

    /// A report reaches the operator from either member of the match and from no one else; a second report of
    /// the same member on the same conversation replaces the first; reports outlive the match.
    @Test(arguments: Backend.enabled)
    func reportsComeFromTheTwoMembersOnlyAndOutliveTheMatch(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 3)
        let token = try await Self.match(store, m[0], m[1], in: program)
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        try await store.report(
            memberID: m[0].id, programID: program.id, token: token, reason: "first", messages: "[]", now: start)
        try await store.report(
            memberID: m[1].id, programID: program.id, token: token, reason: "theirs", messages: "[]",
            now: start.addingTimeInterval(1))
        try await store.report(
            memberID: m[0].id, programID: program.id, token: token, reason: "replaced",
            messages: #"[{"seq":1,"fromMe":false,"text":"hi"}]"#, now: start.addingTimeInterval(2))
        await Self.expectNotFound(
            {
                try await store.report(
                    memberID: m[2].id, programID: program.id, token: token, reason: "probe", messages: "[]", now: start)
            }, "a third member's report")
        let reports = try await store.reports(programID: program.id)
        #expect(
            reports.map { "\($0.reporterHandle) \($0.reportedHandle) \($0.reason)" } == [
                "\(m[1].handle) \(m[0].handle) theirs", "\(m[0].handle) \(m[1].handle) replaced",
            ])
        #expect(
            reports[1].messages == #"[{"seq":1,"fromMe":false,"text":"hi"}]"#
                && reports[1].createdAt == start.addingTimeInterval(2))
        _ = try await store.setEpoch(program: program.name, epoch: 1)
        #expect(try await store.purge(now: Date().addingTimeInterval(10), matchRetention: 1).matches == 1)
        #expect(try await store.reports(programID: program.id).count == 2)
    }

    /// Housekeeping deletes a report once it is older than the audit retention, counted from its last
    /// replacement, match or no match; a younger one stays.
    @Test(arguments: Backend.enabled)
    func reportsAreKeptForTheAuditRetention(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 4)
        let old = try await Self.match(store, m[0], m[1], in: program)
        let young = try await Self.match(store, m[2], m[3], in: program)
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        let day: TimeInterval = 86_400
        try await store.report(
            memberID: m[0].id, programID: program.id, token: old, reason: "old", messages: "[]", now: start)
        try await store.report(
            memberID: m[1].id, programID: program.id, token: old, reason: "replaced later", messages: "[]",
            now: start)
        try await store.report(
            memberID: m[1].id, programID: program.id, token: old, reason: "replacement", messages: "[]",
            now: start + 5 * day)
        try await store.report(
            memberID: m[3].id, programID: program.id, token: young, reason: "young", messages: "[]",
            now: start + 8 * day)
        let before = try await store.purge(now: start + 10 * day - 1, matchRetention: day, auditRetention: 10 * day)
        #expect(before.reports == 0)
        let purged = try await store.purge(now: start + 10 * day, matchRetention: day, auditRetention: 10 * day)
        #expect(purged.reports == 1 && purged.matches == 0)
        #expect(try await store.reports(programID: program.id).map(\.reason) == ["replacement", "young"])
        let later = try await store.purge(now: start + 18 * day, matchRetention: day, auditRetention: 10 * day)
        #expect(later.reports == 2)
        #expect(try await store.reports(programID: program.id).isEmpty)
    }

    /// On PostgreSQL the conversation look-up goes through the caller's own index entries (`match_by_a`,
    /// `match_by_b`), never the token-first primary key, which would visit another pair's match with the token,
    /// among 100,000 matches of 40 members, planned with statistics.
    @Test(arguments: Backend.postgresOnly)
    func theConversationLookUpReadsTheCallersOwnMatchesOnly(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = try #require(harness.store as? PostgresStore)
        let (program, members) = try await StoreHarness.members(harness.store, count: 40)
        let ids = members.map { String($0.id) }.sorted { Int($0)! < Int($1)! }.joined(separator: ",")
        let location = try #require(harness.postgres?.location)
        try await PostgresStore.administer(
            location,
            [
                """
                INSERT INTO "match" (program_id, epoch, token, a_member_id, a_tag, b_member_id, b_tag, matched_at)
                SELECT \(program.id), 0, decode(md5(random()::text) || md5(random()::text), 'hex'),
                       (ARRAY[\(ids)])[1 + i % 20], decode(repeat('00', 32), 'hex'),
                       (ARRAY[\(ids)])[21 + i % 20], decode(repeat('00', 32), 'hex'), 0
                FROM generate_series(1, 100000) AS i
                """,
                #"ANALYZE "match""#,
            ])
        let caller = members[0].id
        // A match of two others.
        let others = try await store.read { connection in
            try await store.row(
                #"SELECT token FROM "match" WHERE a_member_id <> \#(caller) AND b_member_id <> \#(caller) LIMIT 1"#,
                on: connection)!["token"].decode(Data.self)
        }
        func plan(_ query: PostgresQuery) async throws -> String {
            var explaining = query
            explaining.sql = "EXPLAIN " + query.sql
            let explain = explaining
            return try await store.read { connection in
                try await store.rows(explain, on: connection).map { try $0["QUERY PLAN"].decode(String.self) }
            }.joined(separator: "\n")
        }
        let plain = try await plan(#"SELECT 1 FROM "match" WHERE token = \#(others)"#)
        #expect(plain.contains("_pkey"), "the check could not fail: \(plain)")
        let chosen = try await plan(
            PostgresStore.ownMatchQuery(
                memberID: caller, programID: program.id, token: try InterestToken(rawRepresentation: others)))
        let conditions = chosen.split(separator: "\n").filter { $0.contains("Cond:") }
        #expect(!chosen.contains("_pkey"), "\(chosen)")
        #expect(
            conditions.contains { $0.contains("a_member_id = ") }
                && conditions.contains { $0.contains("b_member_id = ") },
            "\(chosen)")
        await Self.expectNotFound(
            {
                _ = try await harness.store.messages(
                    memberID: caller, programID: program.id, token: try InterestToken(rawRepresentation: others),
                    after: 0,
                    limit: 1)
            }, "two others' match")
    }

    /// Housekeeping deletes a conversation and its messages with its match, and nothing else.
    @Test(arguments: Backend.enabled)
    func aConversationGoesWithItsMatch(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 4)
        let old = try await Self.match(store, m[0], m[1], in: program)
        for token in [old] {
            _ = try await store.postMessage(
                memberID: m[0].id, programID: program.id, token: token, envelope: Self.envelope(),
                limits: ConversationLimits(), now: Date())
        }
        _ = try await store.setEpoch(program: program.name, epoch: 1)
        let current = try await Self.match(store, m[2], m[3], in: program, epoch: 1)
        _ = try await store.postMessage(
            memberID: m[3].id, programID: program.id, token: current, envelope: Self.envelope(),
            limits: ConversationLimits(), now: Date())
        let kept = try await store.purge(now: Date(), matchRetention: 3600)
        #expect(kept.matches == 0 && kept.conversations == 0)
        let purged = try await store.purge(now: Date().addingTimeInterval(10), matchRetention: 1)
        #expect(purged.matches == 1 && purged.conversations == 1)
        #expect(try await store.conversations(memberID: m[0].id, after: nil, limit: 9).isEmpty)
        await Self.expectNotFound(
            {
                _ = try await store.messages(memberID: m[0].id, programID: program.id, token: old, after: 0, limit: 9)
            }, "a purged match's conversation")
        #expect(
            try await store.messages(memberID: m[2].id, programID: program.id, token: current, after: 0, limit: 9)
                .messages.count == 1)
    }
}
