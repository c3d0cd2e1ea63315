import Foundation
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// Scheduled rounds and their closing notices (#27), on every backend.
extension StoreConformanceTests {
    @Test(arguments: Backend.enabled)
    func aScheduledRoundStartsOnceWhenDueAsANewRoundByHandWould(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 3)
        _ = try await Self.match(store, m[0], m[1], in: program)
        _ = try await store.submitMarks(
            memberID: m[2].id, programID: program.id, epoch: 0, marks: [try Mark.dummy()], now: Date())
        let now = Date()
        let at = now + 3600
        let organizer = AuditEvent(actor: .organizer("olga"), action: .roundScheduled, detail: "epoch 1")
        let scheduled = try await store.scheduleRound(program: program.name, at: at, audit: organizer)
        #expect(scheduled.epoch == 0 && scheduled.nextRoundBy == "organizer:olga")
        #expect(abs(try #require(scheduled.nextRoundAt).timeIntervalSince(at)) < 0.001)
        #expect(try await store.program(named: program.name)?.nextRoundAt == scheduled.nextRoundAt)

        // Not due yet: nothing moves.
        #expect(try await store.startDueRounds(now: now + 3599).isEmpty)
        #expect(try await store.pendingMarks(memberID: m[2].id).count == 1)
        // Due: the program moves to epoch 1, its pending marks go, its matches stay, the schedule is cleared.
        let started = try await store.startDueRounds(now: now + 3600)
        #expect(started.map(\.name) == [program.name] && started[0].epoch == 1 && started[0].nextRoundAt == nil)
        #expect(try await store.pendingMarks(memberID: m[2].id).isEmpty)
        #expect(try await store.matchCounts(programID: program.id) == [0: 1])
        #expect(try await store.startDueRounds(now: now + 7200).isEmpty, "a round starts once")
        #expect(try await store.program(named: program.name)?.epoch == 1)
        // Audited as the scheduler's epoch change, after their scheduling.
        let audit = try await store.auditLog(programID: program.id, before: nil, limit: 10)
        #expect(audit.map(\.action) == ["epoch-changed", "round-scheduled"])
        #expect(audit.map(\.actor) == ["organizer:olga", "organizer:olga"])
        #expect(audit[0].detail?.hasPrefix("epoch 1, the round scheduled for ") == true)

        // A change of the epoch by hand clears a schedule, as does a cancellation.
        _ = try await store.scheduleRound(program: program.name, at: now + 60, audit: nil)
        #expect(try await store.setEpoch(program: program.name, epoch: 5).nextRoundAt == nil)
        #expect(try await store.startDueRounds(now: now + 120).isEmpty)
        _ = try await store.scheduleRound(program: program.name, at: now + 60, audit: nil)
        #expect(try await store.scheduleRound(program: program.name, at: nil, audit: nil).nextRoundAt == nil)
        #expect(try await store.startDueRounds(now: now + 120).isEmpty)
        #expect(try await store.program(named: program.name)?.epoch == 5)
        // The last epoch has no next round.
        _ = try await store.setEpoch(program: program.name, epoch: UInt32.max)
        await #expect(throws: StoreError.self) {
            try await store.scheduleRound(program: program.name, at: now + 60, audit: nil)
        }
        await #expect(throws: StoreError.self) {
            try await store.scheduleRound(program: ProgramID("nowhere"), at: now + 60, audit: nil)
        }
    }

    @Test(arguments: Backend.enabled)
    func concurrentStartsOfOneRoundMoveItOnce(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let (program, _) = try await StoreHarness.members(harness.store, count: 1)
        let now = Date()
        _ = try await harness.store.scheduleRound(program: program.name, at: now + 1, audit: nil)
        // Several stores on one database, as several processes are.
        var stores: [any ReciprocityStore] = [harness.store]
        for _ in 0..<3 { stores.append(try await harness.reopen()) }
        let started = try await withThrowingTaskGroup(of: Int.self) { group in
            for store in stores { group.addTask { try await store.startDueRounds(now: now + 2).count } }
            return try await group.reduce(0, +)
        }
        #expect(started == 1)
        #expect(try await harness.store.program(named: program.name)?.epoch == 1)
        let audit = try await harness.store.auditLog(programID: program.id, before: nil, limit: 10)
        #expect(audit.map(\.action) == ["epoch-changed"])
        for store in stores.dropFirst() { try await StoreHarness.close(store) }
    }

    @Test(arguments: Backend.enabled)
    func aRoundClosingNoticeIsQueuedOncePerRoundForActiveMembersWithAnAddress(_ backend: Backend)
        async throws
    {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 4)
        try await store.setEmail(memberID: m[0].id, email: "a@example.test")
        try await store.setEmail(memberID: m[1].id, email: "b@example.test")
        try await store.setEmail(memberID: m[3].id, email: "d@example.test")
        _ = try await store.setStatus(program: program.name, handle: m[3].handle, status: .suspended)
        let now = Date()
        let lead: TimeInterval = 86_400
        #expect(try await store.queueRoundClosingNotices(now: now, lead: lead) == 0, "no round scheduled")
        _ = try await store.scheduleRound(program: program.name, at: now + 2 * lead, audit: nil)
        #expect(try await store.queueRoundClosingNotices(now: now, lead: lead) == 0, "not yet within the lead")
        #expect(try await store.queueRoundClosingNotices(now: now + lead + 1, lead: lead) == 2)
        #expect(try await store.queueRoundClosingNotices(now: now + lead + 2, lead: lead) == 0, "once")
        let other = try await harness.reopen()
        #expect(try await other.queueRoundClosingNotices(now: now + lead + 3, lead: lead) == 0, "once per database")
        try await StoreHarness.close(other)
        var claimed: [NoticeDelivery] = []
        while let delivery = try await store.claimNotice(now: now + lead + 4, lease: 60) { claimed.append(delivery) }
        #expect(claimed.map(\.email).sorted() == ["a@example.test", "b@example.test"])
        #expect(claimed.allSatisfy { $0.kind == .roundClosing && $0.program == program.name })
        #expect(
            claimed.allSatisfy { abs(($0.roundClosesAt ?? .distantPast).timeIntervalSince(now + 2 * lead)) < 0.001 })
        for delivery in claimed { try await store.noticeSent(id: delivery.id, now: now + lead + 5) }

        // One notice per round (epoch): a new time in the same round is not told again (members see it in the
        // app), however often it changes.
        for hours in [3.0, 2.5, 3.5] {
            _ = try await store.scheduleRound(program: program.name, at: now + hours * lead, audit: nil)
            #expect(try await store.queueRoundClosingNotices(now: now + 2 * lead + 1, lead: lead) == 0, "\(hours)")
        }
        #expect(try await store.noticeCounts() == ["sent": 2])

        // The next round's notice, not yet sent, is held while the round is cancelled and sent once it is
        // scheduled again, with the new time; it is not queued twice.
        _ = try await store.setEpoch(program: program.name, epoch: 1)
        _ = try await store.scheduleRound(program: program.name, at: now + 5 * lead, audit: nil)
        #expect(try await store.queueRoundClosingNotices(now: now + 4 * lead + 1, lead: lead) == 2)
        _ = try await store.scheduleRound(program: program.name, at: nil, audit: nil)
        #expect(try await store.claimNotice(now: now + 4 * lead + 2, lease: 60) == nil, "held")
        #expect(try await store.noticeCounts() == ["sent": 2, "queued": 2])
        _ = try await store.scheduleRound(program: program.name, at: now + 4.5 * lead, audit: nil)
        #expect(try await store.queueRoundClosingNotices(now: now + 4 * lead + 3, lead: lead) == 0)
        var released: [NoticeDelivery] = []
        while let delivery = try await store.claimNotice(now: now + 4 * lead + 4, lease: 60) {
            released.append(delivery)
        }
        #expect(released.map(\.email).sorted() == ["a@example.test", "b@example.test"])
        #expect(
            released.allSatisfy { abs(($0.roundClosesAt ?? .distantPast).timeIntervalSince(now + 4.5 * lead)) < 0.001 })
        for delivery in released { try await store.noticeSent(id: delivery.id, now: now + 4 * lead + 5) }

        // A round's notices not sent when the epoch changes (here by hand) are never sent.
        _ = try await store.setEpoch(program: program.name, epoch: 2)
        _ = try await store.scheduleRound(program: program.name, at: now + 6 * lead, audit: nil)
        #expect(try await store.queueRoundClosingNotices(now: now + 5 * lead + 1, lead: lead) == 2)
        _ = try await store.setEpoch(program: program.name, epoch: 3)
        #expect(try await store.claimNotice(now: now + 5 * lead + 2, lease: 60) == nil)
        #expect(try await store.noticeCounts() == ["sent": 4])
    }
}
