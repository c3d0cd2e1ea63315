import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// The timing half of the differential evidence: refusals, joins and concurrent submissions must take the same
/// time whatever other members hold. `scripts/suites.sh` runs these (`TakeTheSameTime`) on their own, so that no
/// other test competes for the CPU while they sample.
extension DifferentialPrivacyTests {
    /// The refusal paths must also take the same time: a batch over the quota that holds a token someone else
    /// is waiting on must not be slower than one that does not (the old code inserted the match, then rolled
    /// it back: about 100 µs more, enough to tell with a few hundred requests). Thousands of interleaved
    /// samples straight on the store (no HTTP noise, so a difference is easier to see, not harder), compared
    /// with the two-sample Kolmogorov-Smirnov statistic and the difference of medians.
    @Test func refusalsTakeTheSameTimeWhateverOthersHold() async throws {
        let harness = try Harness()
        _ = try await harness.store.createProgram(name: ProgramID("acme"), maxMarks: 4, epoch: 0)
        let invite = BearerSecret(text: "rcpi_timing")
        _ = try await harness.store.createInvite(
            program: ProgramID("acme"), codeDigest: invite.digest, uses: 10, expiresAt: nil)
        func join(_ handle: String) async throws -> MemberRecord {
            try await harness.store.join(
                program: ProgramID("acme"), inviteDigest: invite.digest, handle: Handle(handle),
                publicKey: PrivateKey().publicKey, profile: Profile(displayName: handle),
                credentialDigest: BearerSecret.generate(.memberCredential).digest, now: Date()
            ).0
        }
        let caller = try await join("carol")
        let other = try await join("mallory")
        // Mallory waits on tokens the caller could submit; the caller is at the quota.
        let waiting = try (0..<4).map { _ in try Mark.dummy() }
        _ = try await harness.store.submitMarks(
            memberID: other.id, programID: caller.programID, epoch: 0, marks: waiting, now: Date())
        _ = try await harness.store.submitMarks(
            memberID: caller.id, programID: caller.programID, epoch: 0,
            marks: try (0..<4).map { _ in try Mark.dummy() }, now: Date())
        let padding = try (0..<8).map { _ in try Mark.dummy() }
        let withWaiting = waiting + padding
        let withoutWaiting = try (0..<4).map { _ in try Mark.dummy() } + padding

        func refuse(_ batch: [Mark]) async throws {
            do {
                _ = try await harness.store.submitMarks(
                    memberID: caller.id, programID: caller.programID, epoch: 0, marks: batch, now: Date())
                Issue.record("an over-quota batch was accepted")
            } catch let error as StoreError {
                #expect(error.code == .quotaExceeded)
            }
        }
        try await Self.expectSameTiming("over-quota refusal, with others' waiting tokens vs without") {
            try await refuse(withWaiting)
        } versus: {
            try await refuse(withoutWaiting)
        }
    }

    /// A wrong invite costs the same whether or not the program exists (the join route has no credential, so
    /// a difference would tell anyone which program names exist), also when the program's description and code
    /// of conduct are set at their longest (reading them with the program must not slow its refusals).
    @Test(arguments: [false, true])
    func joinRefusalsTakeTheSameTimeWhetherOrNotTheProgramExists(described: Bool) async throws {
        let harness = try Harness()
        let (program, _) = try await harness.program()
        if described { _ = try await harness.store.setAbout(program: program, about: ProgramAboutAPITests.longest) }
        func refuse(_ name: ProgramID) async throws {
            await #expect(throws: StoreError.self) {
                try await harness.store.join(
                    program: name, inviteDigest: BearerSecret.digest(of: "rcpi_wrong"), handle: Handle("zed"),
                    publicKey: PrivateKey().publicKey, profile: Profile(displayName: "Zed"),
                    credentialDigest: Data(count: 32), now: Date())
            }
        }
        let missing = try ProgramID("no-such-program")
        try await Self.expectSameTiming(
            "join with a wrong invite, existing (described: \(described)) vs missing program"
        ) {
            try await refuse(program)
        } versus: {
            try await refuse(missing)
        }
    }

    /// A submission takes the same time whether or not another member's batch, submitted at the same moment
    /// and so committed in the same group (or the next), completes a match. A match deletes the first
    /// marker's pending row, and a group that deleted once answered only after a WAL scrub (#23): a member
    /// submitting beside others read from their own response time whether someone else's mark had been
    /// waiting (medians 2.0 against 1.2 ms). Each round, untimed, Dora leaves a pending mark; then Alice
    /// submits a fresh mark while Bob submits, at once, Dora's token (a match) or a fresh one; only Alice's
    /// submission is timed. Untimed cleanup keeps the rows each round leaves behind the same.
    ///
    /// Now every group ends with a scrub and a write that deleted nothing is answered at its commit: 1.5 ms
    /// against 0.5 became about 0.75 against 0.63 ms (D 0.2). What is left is Bob's own work in the writer
    /// ahead of Alice: a match writes more rows and pages than a pending mark (the group's apply and commit,
    /// and the scrub a later group waits behind), a known issue until a submission costs the writer the same
    /// whatever its outcome. So the test requires the leak it closed not to come back (D 0.86 and medians
    /// three times apart before; under a 0.45 bound on D and 60 % on the medians now, whatever the machine's
    /// load), and records the strict property (D below 0.1, medians within 10 %) as a known issue, which a
    /// quiet machine may meet by chance: hence intermittent.
    @Test func submissionsTakeTheSameTimeWhetherConcurrentOnesMatch() async throws {
        let harness = try Harness()
        let program = try await harness.store.createProgram(name: ProgramID("acme"), maxMarks: 10_000, epoch: 0)
        let invite = BearerSecret(text: "rcpi_concurrent")
        _ = try await harness.store.createInvite(
            program: program.name, codeDigest: invite.digest, uses: 3, expiresAt: nil)
        var members: [MemberRecord] = []
        for handle in ["alice", "bob", "dora"] {
            members.append(
                try await harness.store.join(
                    program: program.name, inviteDigest: invite.digest, handle: Handle(handle),
                    publicKey: PrivateKey().publicKey, profile: Profile(displayName: handle),
                    credentialDigest: BearerSecret.generate(.memberCredential).digest, now: Date()
                ).0)
        }
        let (alice, bob, dora) = (members[0], members[1], members[2])
        let store = harness.store
        func submit(_ member: MemberRecord, _ mark: Mark) async throws -> MarkOutcome {
            try await store.submitMarks(
                memberID: member.id, programID: program.id, epoch: 0, marks: [mark], now: Date())[0]
        }
        func round(bobMatches: Bool) async throws -> Double {
            let waiting = try Mark.dummy()
            _ = try await submit(dora, waiting)
            let bobs =
                bobMatches ? Mark(token: waiting.token, tag: try .random(), note: try .dummy()) : try Mark.dummy()
            let alices = try Mark.dummy()
            async let bobsOutcome = submit(bob, bobs)
            let start = ContinuousClock.now
            _ = try await submit(alice, alices)
            let elapsed = ContinuousClock.now - start
            #expect(try await bobsOutcome == (bobMatches ? .matched : .pending))
            _ = try await store.withdraw(memberID: alice.id, token: alices.token)
            if !bobMatches {
                _ = try await store.withdraw(memberID: dora.id, token: waiting.token)
                _ = try await store.withdraw(memberID: bob.id, token: bobs.token)
            }
            return Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        }
        let (statistic, matching, pending) = try await Self.durations(
            "a submission beside another member's that matches vs one that does not"
        ) {
            try await round(bobMatches: true)
        } versus: {
            try await round(bobMatches: false)
        }
        #expect(statistic < 0.45, "a concurrent match must not be as visible as before the scrub ran after every burst")
        #expect(abs(matching - pending) < 0.6 * pending, "a concurrent match must not be as visible as before")
        withKnownIssue("the writer's work for a concurrent match, ahead of this submission (#23)", isIntermittent: true)
        {
            #expect(statistic < 0.1)
            #expect(abs(matching - pending) < max(10, 0.1 * pending))
        }
    }

    /// Times `a` and `b` 3,000 times each, interleaved in random order after a warm-up, and requires the two
    /// distributions to be indistinguishable: the two-sample Kolmogorov-Smirnov statistic D below 0.1 and the
    /// medians within 10 % (or 10 µs). For equal distributions, D above 0.05 has a probability under 1e-3 at
    /// this sample size, so 0.1 leaves room for a noisy machine, while a shift of the size the old quota path
    /// had (about 100 µs on a refusal of a few hundred) gives D well above 0.2.
    static func expectSameTiming(
        _ label: String, _ a: () async throws -> Void, versus b: () async throws -> Void
    ) async throws {
        func time(_ body: () async throws -> Void) async throws -> Double {
            let start = ContinuousClock.now
            try await body()
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        }
        try await expectSameDurations(label) {
            try await time(a)
        } versus: {
            try await time(b)
        }
    }

    /// `expectSameTiming` for runs that time only part of themselves: `a` and `b` return their durations in µs.
    static func expectSameDurations(
        _ label: String, _ a: () async throws -> Double, versus b: () async throws -> Double
    ) async throws {
        let (statistic, medianA, medianB) = try await durations(label, a, versus: b)
        #expect(statistic < 0.1, "\(label)")
        #expect(abs(medianA - medianB) < max(10, 0.1 * medianB), "\(label)")
    }

    /// Times `a` and `b` 3,000 times each, interleaved in random order after a warm-up: the two-sample
    /// Kolmogorov-Smirnov statistic and the two medians in microseconds, printed.
    static func durations(
        _ label: String, _ a: () async throws -> Double, versus b: () async throws -> Double
    ) async throws -> (statistic: Double, medianA: Double, medianB: Double) {
        for _ in 0..<200 { _ = try await (a(), b()) }
        var samplesA: [Double] = []
        var samplesB: [Double] = []
        var random = SplitMix64(seed: seed)
        for _ in 0..<3000 {
            if random.next() & 1 == 0 {
                samplesA.append(try await a())
                samplesB.append(try await b())
            } else {
                samplesB.append(try await b())
                samplesA.append(try await a())
            }
        }
        let statistic = kolmogorovSmirnov(samplesA, samplesB)
        let (medianA, medianB) = (median(samplesA), median(samplesB))
        print("timing, \(label): medians \(medianA) µs and \(medianB) µs, KS D = \(statistic)")
        return (statistic, medianA, medianB)
    }
}

/// The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical distributions.
func kolmogorovSmirnov(_ a: [Double], _ b: [Double]) -> Double {
    let left = a.sorted()
    let right = b.sorted()
    var i = 0
    var j = 0
    var largest = 0.0
    while i < left.count && j < right.count {
        let value = min(left[i], right[j])
        while i < left.count && left[i] <= value { i += 1 }
        while j < right.count && right[j] <= value { j += 1 }
        largest = max(largest, abs(Double(i) / Double(left.count) - Double(j) / Double(right.count)))
    }
    return largest
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
