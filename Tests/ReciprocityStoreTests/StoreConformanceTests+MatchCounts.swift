import Foundation
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// `matchCounts`, on every backend: matches per epoch of one program, and nothing of pending marks or of
/// another program.
extension StoreConformanceTests {
    @Test(arguments: Backend.enabled)
    func matchCountsCountMatchesPerEpochAndNeverPendingMarks(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 4)
        let (other, o) = try await StoreHarness.members(store, count: 2, program: "other")
        #expect(try await store.matchCounts(programID: program.id) == [:])
        func match(_ a: MemberRecord, _ b: MemberRecord, in program: ProgramRecord, epoch: UInt32) async throws {
            let mark = try Mark.dummy()
            for member in [a, b] {
                _ = try await store.submitMarks(
                    memberID: member.id, programID: program.id, epoch: epoch, marks: [mark], now: Date())
            }
        }
        func pending(_ member: MemberRecord, in program: ProgramRecord, epoch: UInt32) async throws {
            _ = try await store.submitMarks(
                memberID: member.id, programID: program.id, epoch: epoch, marks: [try Mark.dummy()], now: Date())
        }
        try await match(m[0], m[1], in: program, epoch: 0)
        try await match(m[2], m[3], in: program, epoch: 0)
        try await pending(m[0], in: program, epoch: 0)
        try await pending(m[2], in: program, epoch: 0)
        // Another program's matches and marks are not this program's.
        try await match(o[0], o[1], in: other, epoch: 0)
        try await pending(o[0], in: other, epoch: 0)
        #expect(try await store.matchCounts(programID: program.id) == [0: 2])
        // A new epoch: its own count, the old one kept until housekeeping's retention passes.
        _ = try await store.setEpoch(program: program.name, epoch: 3)
        try await match(m[1], m[2], in: program, epoch: 3)
        try await pending(m[3], in: program, epoch: 3)
        #expect(try await store.matchCounts(programID: program.id) == [0: 2, 3: 1])
        #expect(try await store.matchCounts(programID: other.id) == [0: 1])
        _ = try await store.purge(now: Date().addingTimeInterval(10), matchRetention: 1)
        #expect(try await store.matchCounts(programID: program.id) == [3: 1])
    }
}

extension StoreConformanceTests {
    /// A submission names only the matches it made: the one that completes a pending mark, never a resubmission
    /// of a token already matched (which is answered `matched` again), so live events fire for new matches only.
    @Test(arguments: Backend.enabled)
    func aSubmissionNamesOnlyTheMatchesItMade(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, m) = try await StoreHarness.members(store, count: 2)
        let (mark, other) = (try Mark.dummy(), try Mark.dummy())
        func submit(_ member: MemberRecord, _ marks: [Mark]) async throws -> MarkSubmission {
            try await store.submitMarks(
                memberID: member.id, programID: program.id, epoch: 0, marks: marks, withdrawing: [], now: Date())
        }
        #expect(try await submit(m[0], [mark]) == MarkSubmission(outcomes: [.pending], newMatches: []))
        #expect(
            try await submit(m[1], [mark, other])
                == MarkSubmission(outcomes: [.matched, .pending], newMatches: [mark.token]))
        for member in m {
            #expect(try await submit(member, [mark]) == MarkSubmission(outcomes: [.matched], newMatches: []))
        }
    }
}
