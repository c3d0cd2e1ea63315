public import ReciprocityCore

/// The rule for one submission of marks (`ReciprocityStore.submitMarks`), decided the same way by every
/// backend: which refusal wins, the quota arithmetic, which of the caller's rows are deleted and which marks
/// are new, and each item's answer. A backend gathers the facts under its own locks, asks `admit` and then
/// `plan`, and only then writes: every refusal is decided before the first change, so a refused submission has
/// changed nothing. The facts are the caller's own rows, the program row and the match table: no fact is
/// another member's pending mark, so neither a refusal nor the plan can depend on one (SECURITY.md).
public struct MarkBatch: Sendable {
    /// The epoch the caller derived the batch's tokens for.
    public let epoch: UInt32
    /// Each submitted token once, with the first mark that named it: a token repeated within the batch is the
    /// same mark submitted twice, so the first tag wins.
    public let marks: [Mark]
    /// The caller's own pending marks to delete first, in the same transaction, so that one request replaces
    /// marks without the count moving. Tokens the caller does not hold are ignored.
    public let withdrawing: Set<InterestToken>
    /// Every submitted token in order, repeats included: one answer each.
    private let submitted: [InterestToken]

    public init(epoch: UInt32, marks: [Mark], withdrawing: [InterestToken]) {
        var seen: Set<InterestToken> = []
        self.epoch = epoch
        self.marks = marks.filter { seen.insert($0.token).inserted }
        self.withdrawing = Set(withdrawing)
        self.submitted = marks.map(\.token)
    }

    /// The batch's tokens, each once.
    public var tokens: [InterestToken] { marks.map(\.token) }

    /// The refusals that need only the program and member rows, in the order every backend answers them: no
    /// such program, then a suspended member (the credential was checked before the backend's transaction; a
    /// suspension may have come in between), then another epoch. Returns the program.
    public func admit(program: ProgramRecord?, memberActive: Bool) throws -> ProgramRecord {
        guard let program else { throw StoreError(.programNotFound, "no such program") }
        guard memberActive else { throw StoreError(.memberSuspended, "this member is suspended") }
        guard program.epoch == epoch else {
            throw StoreError(.wrongEpoch, "the program is in epoch \(program.epoch), not \(epoch)")
        }
        return program
    }

    /// What a backend reads about the caller in the program and epoch, before any write.
    public struct Facts: Sendable, Equatable {
        /// The caller's pending tokens: at least those among the batch's tokens and the withdrawn ones. The
        /// backend must make sure that the withdrawn ones it reports are still there when it deletes them.
        public var pending: Set<InterestToken>
        /// The caller's pending marks plus the matches they made in the epoch: what the quota limits.
        public var used: Int
        /// The batch's tokens already matched with the caller.
        public var ownMatches: Set<InterestToken>
        /// The batch's tokens matched between two other members.
        public var othersMatches: Set<InterestToken>

        public init(
            pending: Set<InterestToken>, used: Int, ownMatches: Set<InterestToken>, othersMatches: Set<InterestToken>
        ) {
            self.pending = pending
            self.used = used
            self.ownMatches = ownMatches
            self.othersMatches = othersMatches
        }
    }

    /// What a submission writes, once nothing refused it.
    public struct Plan: Sendable, Equatable {
        /// The caller's pending marks to delete, before the claims, in token order.
        public let withdraw: [InterestToken]
        /// The new marks, in token order (the order in which a backend locks them, so that two batches sharing
        /// tokens do not deadlock): each completes another member's pending mark with the same token, making a
        /// match, or is stored as the caller's own pending mark. Only now may a backend read other members'
        /// pending marks, and only these tokens.
        public let claims: [Mark]
        /// The answers known without a claim: a token the caller holds pending, or one of their matches.
        let known: [InterestToken: MarkOutcome]
        let submitted: [InterestToken]

        /// Each submitted item's answer, in the order submitted, and the matches this submission made, given the
        /// outcome of every claim. Only a claim can make a match: a token already matched with the caller is
        /// answered `matched` again but is not new.
        public func submission(claimed: [InterestToken: MarkOutcome]) -> MarkSubmission {
            let outcomes = submitted.map { token in
                guard let outcome = claimed[token] ?? known[token] else {
                    preconditionFailure("a claim of the plan has no outcome")
                }
                return outcome
            }
            return MarkSubmission(outcomes: outcomes, newMatches: Set(claimed.filter { $0.value == .matched }.keys))
        }
    }

    /// Decides the submission from `facts`, for `program` as `admit` returned it: refuses it if one of its
    /// tokens belongs to a match of two other members (only someone holding one of the pair's keys can know
    /// that token), then if it would take the caller past the quota; otherwise returns what to write.
    ///
    /// Every new token counts against the quota, whether or not someone else holds it, and a pending mark
    /// that matches stays counted (as a match), so the count never moves with others' marks. Withdrawn marks
    /// are counted as gone, and a token both withdrawn and submitted is submitted afresh (a new note). A batch
    /// that adds nothing is not refused for the quota (resubmitting what one holds after the quota was lowered).
    public func plan(_ program: ProgramRecord, _ facts: Facts) throws -> Plan {
        guard tokens.allSatisfy({ !facts.othersMatches.contains($0) }) else {
            throw StoreError(.tokenUnavailable, "a submitted token cannot be accepted")
        }
        let withdrawn = facts.pending.intersection(withdrawing)
        let held = facts.pending.subtracting(withdrawing)
        var known: [InterestToken: MarkOutcome] = [:]
        var claims: [Mark] = []
        for mark in marks {
            if facts.ownMatches.contains(mark.token) {
                known[mark.token] = .matched
            } else if held.contains(mark.token) {
                known[mark.token] = .pending
            } else {
                claims.append(mark)
            }
        }
        guard claims.isEmpty || facts.used - withdrawn.count + claims.count <= program.maxMarks else {
            throw StoreError.quotaExceeded(maxMarks: program.maxMarks)
        }
        return Plan(
            withdraw: withdrawn.sorted(by: Self.tokenOrder),
            claims: claims.sorted { Self.tokenOrder($0.token, $1.token) },
            known: known, submitted: submitted)
    }

    /// Tokens by their bytes: the primary-key order of every backend's `mark` and `match` tables.
    static func tokenOrder(_ a: InterestToken, _ b: InterestToken) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes)
    }
}

/// What a stored submission answers: each item's state in the order submitted, and which of its tokens became
/// matches in this submission (not those the caller had already matched), so that only a new match is told.
public struct MarkSubmission: Sendable, Equatable {
    public let outcomes: [MarkOutcome]
    public let newMatches: Set<InterestToken>

    public init(outcomes: [MarkOutcome], newMatches: Set<InterestToken>) {
        self.outcomes = outcomes
        self.newMatches = newMatches
    }
}
