import Foundation
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// Email addresses and the notice queue (#27), on every backend.
extension StoreConformanceTests {
    @Test(arguments: Backend.enabled)
    func addressesAreCheckedKeptOnTheMembersRowAndNeverInTheirRecord(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 2)
        #expect(try await store.email(memberID: m[0].id) == nil)
        for bad in [
            "", "no-at", "a@b@c", "a b@c", "@c", "a@", "a\u{7}@c", "<a@c>",
            String(repeating: "a", count: 250) + "@c.de",
        ] {
            await #expect(throws: StoreError.self, "\(bad)") { try await store.setEmail(memberID: m[0].id, email: bad) }
            #expect(try await store.email(memberID: m[0].id) == nil)
        }
        try await store.setEmail(memberID: m[0].id, email: " alice@example.test ")
        #expect(try await store.email(memberID: m[0].id) == "alice@example.test")
        #expect(try await store.email(memberID: m[1].id) == nil)
        // The member's record, which the directory and other members' answers are made from, is unchanged.
        let listed = try await store.directory(programID: program.id, query: DirectoryQuery())
        #expect(listed.first { $0.id == m[0].id } == m[0])
        try await store.setEmail(memberID: m[0].id, email: nil)
        #expect(try await store.email(memberID: m[0].id) == nil)
    }

    @Test(arguments: Backend.enabled)
    func aMatchQueuesOneNoticePerMemberWithAnAddressOnceAndTheQueueRunsToSent(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 4)
        try await store.setEmail(memberID: m[0].id, email: "a@example.test")
        try await store.setEmail(memberID: m[1].id, email: "b@example.test")
        try await store.setEmail(memberID: m[3].id, email: "d@example.test")
        _ = try await Self.match(store, m[0], m[1], in: program)
        _ = try await Self.match(store, m[0], m[2], in: program)
        // m[3]'s unreciprocated mark of m[0] queues nothing.
        _ = try await store.submitMarks(
            memberID: m[3].id, programID: program.id, epoch: 0, marks: [try Mark.dummy()], now: Date())
        let now = Date()
        #expect(try await store.queueMatchNotices(since: now - 3600, now: now, spread: 0) == 3)
        #expect(try await store.queueMatchNotices(since: now - 3600, now: now, spread: 0) == 0, "once per match")
        // A match older than `since` is never noticed.
        #expect(try await store.queueMatchNotices(since: now + 60, now: now + 120, spread: 0) == 0)
        #expect(try await store.noticeCounts() == ["queued": 3])

        var claimed: [NoticeDelivery] = []
        while let delivery = try await store.claimNotice(now: now + 1, lease: 60) { claimed.append(delivery) }
        #expect(claimed.count == 3 && Set(claimed.map(\.id)).count == 3)
        #expect(claimed.map(\.email).sorted() == ["a@example.test", "a@example.test", "b@example.test"])
        #expect(claimed.allSatisfy { $0.kind == .match && $0.program == program.name && $0.attempts == 0 })
        #expect(try await store.noticeCounts() == ["sending": 3])
        // A claim is held for its lease, then claimable again (the sender died): same row, same id.
        #expect(try await store.claimNotice(now: now + 30, lease: 60) == nil)
        let again = try #require(try await store.claimNotice(now: now + 62, lease: 60))
        #expect(again.id == claimed[0].id && again.messageID == claimed[0].messageID)
        // Each Message-ID part is random (a UUID), not the row id that counts every notice queued.
        #expect(Set(claimed.map(\.messageID)).count == 3)
        #expect(claimed.allSatisfy { UUID(uuidString: $0.messageID) != nil })
        // A failure puts it back with the delay; a success marks it sent; a bounce deletes it.
        try await store.noticeFailed(id: again.id, retryAt: now + 100)
        #expect(try await store.claimNotice(now: now + 70, lease: 600) == nil)
        let retried = try #require(try await store.claimNotice(now: now + 100, lease: 600))
        #expect(retried.id == again.id && retried.attempts == 1)
        try await store.noticeSent(id: retried.id, now: now + 101)
        try await store.noticeSent(id: claimed[1].id, now: now + 101)
        try await store.dropNotice(id: claimed[2].id)
        #expect(try await store.noticeCounts() == ["sent": 2])
        #expect(try await store.claimNotice(now: now + 10_000, lease: 1) == nil, "sent notices are never claimed")
    }

    @Test(arguments: Backend.enabled)
    func removingAnAddressDeletesItsQueuedNoticesAndRemindersAreCountedOnly(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 3)
        try await store.setEmail(memberID: m[0].id, email: "a@example.test")
        try await store.setEmail(memberID: m[1].id, email: "b@example.test")
        let queued = try await store.queueReminder(
            programID: program.id, memberIDs: [m[0].id, m[1].id, m[2].id, m[0].id], kind: .completeProfile,
            actor: .organizer("lead"), now: Date())
        #expect(queued == 2)
        let entry = try #require(try await store.auditLog(programID: program.id, before: nil, limit: 1).first)
        #expect(
            (entry.actor, entry.action, entry.subject, entry.detail)
                == ("organizer:lead", "reminder-sent", "complete-profile", "2"))
        try await store.setEmail(memberID: m[1].id, email: nil)
        #expect(try await store.noticeCounts() == ["queued": 1])
        let delivery = try #require(try await store.claimNotice(now: Date() + 1, lease: 60))
        #expect(delivery.email == "a@example.test" && delivery.kind == .completeProfile)
        // A member suspended after the notice was queued gets nothing: the claim deletes it.
        try await store.noticeFailed(id: delivery.id, retryAt: Date())
        _ = try await store.setStatus(program: program.name, handle: m[0].handle, status: .suspended)
        #expect(try await store.claimNotice(now: Date() + 1, lease: 60) == nil)
        #expect(try await store.noticeCounts() == [:])
    }
}

extension StoreConformanceTests {
    @Test(arguments: Backend.enabled)
    func aMessageQueuesOneNoticeToItsRecipientAtMostHourly(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 3)
        try await store.setEmail(memberID: m[0].id, email: "a@example.test")
        try await store.setEmail(memberID: m[1].id, email: "b@example.test")
        let token = try await Self.match(store, m[0], m[1], in: program)
        let quiet = try await Self.match(store, m[0], m[2], in: program)
        #expect(try await store.queueMatchNotices(since: Date() - 3600, now: Date(), spread: 0) == 3)
        let start = Date()
        func post(_ sender: MemberRecord, _ conversation: InterestToken, at seconds: TimeInterval) async throws {
            _ = try await store.postMessage(
                memberID: sender.id, programID: program.id, token: conversation, envelope: Self.envelope(),
                limits: ConversationLimits(), now: start + seconds)
        }
        func queue(at seconds: TimeInterval) async throws -> Int {
            try await store.queueMessageNotices(since: start - 3600, now: start + seconds, spread: 0)
        }
        #expect(try await queue(at: 0) == 0, "no message yet")
        try await post(m[0], token, at: 1)
        try await post(m[0], token, at: 2)
        try await post(m[2], quiet, at: 3)  // to m[0], who hears of it; m[2] has no address
        #expect(try await queue(at: 5) == 2, "one to m[1] for two messages, one to m[0]; none to a sender")
        try await post(m[0], token, at: 10)
        #expect(try await queue(at: 20) == 0, "at most one an hour")
        #expect(try await queue(at: 3700) == 1, "an hour on, the message not yet noticed is")
        #expect(try await queue(at: 7400) == 0, "nothing new since")
        var kinds: [String: [NoticeKind]] = [:]
        while let delivery = try await store.claimNotice(now: start + 8000, lease: 60) {
            kinds[delivery.email, default: []].append(delivery.kind)
        }
        #expect(kinds["a@example.test"]?.sorted { $0.rawValue < $1.rawValue } == [.match, .match, .message])
        #expect(kinds["b@example.test"]?.sorted { $0.rawValue < $1.rawValue } == [.match, .message, .message])
    }
}

extension StoreConformanceTests {
    /// One reminder of a kind per program per 24 hours, decided in the reminder's transaction from the audit
    /// log: a second is refused with the seconds until the next may go, nothing queued or audited; another
    /// program's reminder is its own; a day later it goes again.
    @Test(arguments: Backend.enabled)
    func aProgramGetsOneReminderOfAKindADay(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 1)
        let (other, o) = try await StoreHarness.members(store, count: 1, program: "other")
        try await store.setEmail(memberID: m[0].id, email: "a@example.test")
        try await store.setEmail(memberID: o[0].id, email: "o@example.test")
        let start = Date()
        func remind(_ program: ProgramRecord, _ member: MemberRecord, at seconds: TimeInterval) async throws -> Int {
            try await store.queueReminder(
                programID: program.id, memberIDs: [member.id], kind: .completeProfile, actor: .operator,
                now: start + seconds)
        }
        #expect(try await remind(program, m[0], at: 0) == 1)
        do {
            _ = try await remind(program, m[0], at: 3600)
            Issue.record("a second reminder within a day was sent")
        } catch let error as StoreError {
            #expect(error.code == .reminderLimited && (82_799...82_801).contains(error.retryAfter ?? 0), "\(error)")
        }
        #expect(try await store.noticeCounts() == ["queued": 1])
        #expect(try await store.auditLog(programID: program.id, before: nil, limit: 10).count == 1)
        #expect(try await remind(other, o[0], at: 3600) == 1, "another program's limit is its own")
        #expect(try await remind(program, m[0], at: 86_401) == 1)
        let log = try await store.auditLog(programID: program.id, before: nil, limit: 10)
        #expect(log.map(\.action) == ["reminder-sent", "reminder-sent"] && log.map(\.id) == [2, 1])
    }
}
