import Foundation
import ReciprocityCore
import ReciprocityStore
import Testing

/// The mark-batch rule on its own, without a database: the refusals and their order, the quota arithmetic,
/// what a plan deletes and claims, and each item's answer. StoreConformanceTests checks that both backends
/// apply it.
@Suite struct MarkBatchTests {
    /// A program in epoch 4 that allows 3 marks.
    let program: ProgramRecord

    init() throws {
        program = ProgramRecord(id: 1, name: try ProgramID("acme"), maxMarks: 3, epoch: 4, createdAt: Date())
    }

    static let tokenUnavailable = StoreError(.tokenUnavailable, "a submitted token cannot be accepted")

    /// Facts of a caller with nothing pending and no match.
    static func facts(
        pending: [Mark] = [], used: Int? = nil, ownMatches: [Mark] = [], othersMatches: [Mark] = []
    ) -> MarkBatch.Facts {
        MarkBatch.Facts(
            pending: Set(pending.map(\.token)), used: used ?? (pending.count + ownMatches.count),
            ownMatches: Set(ownMatches.map(\.token)), othersMatches: Set(othersMatches.map(\.token)))
    }

    static func marks(_ count: Int) throws -> [Mark] { try (0..<count).map { _ in try Mark.dummy() } }

    @Test func theProgramThenTheMemberThenTheEpochAreCheckedFirst() throws {
        let batch = MarkBatch(epoch: 4, marks: try Self.marks(1), withdrawing: [])
        #expect(throws: StoreError(.programNotFound, "no such program")) {
            _ = try batch.admit(program: nil, memberActive: false)
        }
        #expect(throws: StoreError(.memberSuspended, "this member is suspended")) {
            _ = try batch.admit(program: program, memberActive: false)
        }
        #expect(throws: StoreError(.wrongEpoch, "the program is in epoch 4, not 5")) {
            _ = try MarkBatch(epoch: 5, marks: [], withdrawing: []).admit(program: program, memberActive: true)
        }
        #expect(try batch.admit(program: program, memberActive: true) == program)
    }

    @Test func aRepeatedTokenIsOneMarkWhoseFirstTagWinsAndEveryItemIsAnswered() throws {
        let (a, b) = (try Mark.dummy(), try Mark.dummy())
        let again = Mark(token: a.token, tag: try .random())
        let batch = MarkBatch(epoch: 4, marks: [a, b, again, b], withdrawing: [])
        #expect(batch.marks == [a, b])
        let plan = try batch.plan(program, Self.facts())
        #expect(Set(plan.claims) == [a, b] && plan.withdraw.isEmpty)
        let submission = plan.submission(claimed: [a.token: .matched, b.token: .pending])
        #expect(submission.outcomes == [.matched, .pending, .matched, .pending] && submission.newMatches == [a.token])
    }

    @Test func heldAndMatchedTokensAreAnsweredWithoutAClaimAndCostNothing() throws {
        let (held, matched, fresh) = (try Mark.dummy(), try Mark.dummy(), try Mark.dummy())
        let batch = MarkBatch(epoch: 4, marks: [fresh, held, matched], withdrawing: [])
        // 3 of 3 used: the fresh mark does not fit, whatever the others cost.
        #expect(throws: StoreError.quotaExceeded(maxMarks: 3)) {
            _ = try batch.plan(program, Self.facts(pending: [held, try .dummy()], ownMatches: [matched]))
        }
        let plan = try batch.plan(program, Self.facts(pending: [held], ownMatches: [matched]))
        #expect(plan.claims == [fresh])
        // The match held before is answered `matched` but is not new.
        let submission = plan.submission(claimed: [fresh.token: .pending])
        #expect(submission.outcomes == [.pending, .pending, .matched] && submission.newMatches.isEmpty)
        // Nothing new: not refused even past a quota lowered since.
        let resubmitted = MarkBatch(epoch: 4, marks: [held, matched], withdrawing: [])
        let again = try resubmitted.plan(program, Self.facts(pending: [held], used: 7, ownMatches: [matched]))
        #expect(
            again.claims.isEmpty
                && again.submission(claimed: [:]) == MarkSubmission(outcomes: [.pending, .matched], newMatches: []))
    }

    @Test func withdrawalsFreeTheirPlacesInTheSameRequest() throws {
        let held = try Self.marks(3)
        let new = try Self.marks(2)
        let notHeld = try InterestToken.random()
        let batch = MarkBatch(epoch: 4, marks: new, withdrawing: [held[0].token, held[1].token, notHeld])
        let plan = try batch.plan(program, Self.facts(pending: held))
        // Only the caller's own rows are deleted; a token they do not hold is ignored, and frees nothing.
        #expect(Set(plan.withdraw) == [held[0].token, held[1].token] && plan.claims.count == 2)
        let one = MarkBatch(epoch: 4, marks: new, withdrawing: [held[0].token, notHeld])
        #expect(throws: StoreError.quotaExceeded(maxMarks: 3)) { _ = try one.plan(program, Self.facts(pending: held)) }
        // A mark both withdrawn and submitted is submitted afresh (a new note): deleted, then claimed again.
        let renewed = Mark(token: held[2].token, tag: try .random(), note: try .dummy())
        let replace = try MarkBatch(epoch: 4, marks: [renewed], withdrawing: [held[2].token])
            .plan(program, Self.facts(pending: held))
        #expect(replace.withdraw == [held[2].token] && replace.claims == [renewed])
        // A batch of withdrawals alone is never refused for the quota.
        let only = try MarkBatch(epoch: 4, marks: [], withdrawing: [held[0].token]).plan(
            program, Self.facts(pending: held, used: 9))
        #expect(
            only.withdraw == [held[0].token] && only.claims.isEmpty && only.submission(claimed: [:]).outcomes.isEmpty)
    }

    /// The refusal of a token matched between two others wins over the quota, and a refusal is a thrown error:
    /// there is no plan, so nothing is withdrawn either.
    @Test func aTokenMatchedBetweenTwoOthersRefusesTheWholeBatchFirst() throws {
        let held = try Self.marks(3)
        let taken = try Mark.dummy()
        let batch = MarkBatch(epoch: 4, marks: try Self.marks(5) + [taken], withdrawing: [held[0].token])
        #expect(throws: Self.tokenUnavailable) {
            _ = try batch.plan(program, Self.facts(pending: held, othersMatches: [taken]))
        }
    }

    /// Claims and withdrawals come in token order (the order every backend locks them in), whatever the
    /// order submitted.
    @Test func claimsAndWithdrawalsAreInTokenOrder() throws {
        let program = ProgramRecord(id: 1, name: try ProgramID("acme"), maxMarks: 64, epoch: 4, createdAt: Date())
        let held = try Self.marks(20)
        let marks = try Self.marks(20)
        let plan = try MarkBatch(epoch: 4, marks: marks, withdrawing: held.map(\.token)).plan(
            program, Self.facts(pending: held))
        let bytes = { (tokens: [InterestToken]) in tokens.map(\.bytes) }
        #expect(
            bytes(plan.claims.map(\.token)) == bytes(marks.map(\.token)).sorted { $0.lexicographicallyPrecedes($1) })
        #expect(bytes(plan.withdraw) == bytes(held.map(\.token)).sorted { $0.lexicographicallyPrecedes($1) })
    }
}
