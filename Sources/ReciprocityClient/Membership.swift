public import Foundation
public import ReciprocityAPI
public import ReciprocityCore
import Synchronization

/// A member's view of one match after local verification.
public struct MatchReport: Sendable, Equatable {
    public let handle: String
    /// What this member wanted the counterpart as, from local state; nil if the token is unknown here.
    public let wants: Role?
    public let matchedAt: Date
    /// True only when the token is one of ours, the counterpart is who we marked, and their confirmation tag
    /// is the one only they could have computed.
    public let verified: Bool
    /// Why a match is not verified.
    public let problem: String?
    /// The counterpart's note, opened here; only for a verified match.
    public let note: String?
    /// Why the counterpart's note could not be opened (it is then never shown as text).
    public let noteProblem: String?
}

/// The outcome of adding one interest.
public struct InterestResult: Sendable, Equatable {
    public let handle: String
    public let state: MarkState
}

/// One membership on this device: local state, the private key, and the server. Every mark is derived here;
/// the server only ever sees tokens and tags.
public struct Membership: Sendable {
    public let folder: MembershipFolder
    public internal(set) var state: MemberState
    var key: PrivateKey
    /// The server's answer to the last replacement request, per submitted token (its word only).
    var lastAnswer: [String: MarkState] = [:]
    /// The program as the join answered it (its description and code of conduct); nil for an opened membership.
    public internal(set) var joinedProgram: ProgramInfo?

    var api: ServerAPI { ServerAPI(baseURL: state.server, credential: state.credential) }
    public var publicKey: PublicKey { key.publicKey }

    // MARK: Opening

    /// Generates a key pair on this device, joins, and stores key and credential (mode 0600).
    public static func join(
        home: URL, server: String, program: String, invite: String, handle: String, profile: Profile
    ) async throws -> Membership {
        let server = try ServerURL.normalize(server)
        let programID = try ProgramID(program)
        _ = try Handle(handle)
        let folder = MembershipFolder(home: home, server: server, program: program)
        guard !folder.exists else {
            throw ClientError(.alreadyJoined, "this device already joined \(program) on \(server) (\(folder.url.path))")
        }
        let key = try PrivateKey()
        let response = try await ServerAPI(baseURL: server).join(
            program: programID,
            request: JoinRequest(invite: invite, handle: handle, publicKey: key.publicKey.base64URL, profile: profile))
        let state = MemberState(
            server: server, program: program, handle: response.member.handle, credential: response.credential,
            pinnedKeys: [:], marks: [], padTo: nil, logKey: response.logPublicKey, treeHead: nil)
        try folder.create(state: state, key: key)
        try MembershipFolder.writeAtomically(Data(folder.url.path.utf8), to: home.appendingPathComponent("current"))
        // The credential is saved first: a failed check below must not lose the membership.
        var membership = Membership(folder: folder, state: state, key: key)
        membership.joinedProgram = response.program
        let directory = try await membership.syncedDirectory()
        guard directory.live[membership.state.handle] == key.publicKey.base64URL else {
            throw ClientError(.logMissingKey, "the server's key log does not hold your key as live under \(handle)")
        }
        try folder.save(membership.state)
        return membership
    }

    /// Opens the membership for `server` and `program`, or the one last joined when both are nil. When there is
    /// none, the `no-membership` error names the memberships this device has.
    public static func open(home: URL, server: String?, program: String?) throws -> Membership {
        let folder: MembershipFolder
        if let server, let program {
            let server = try ServerURL.normalize(server)
            let named = MembershipFolder(home: home, server: server, program: program)
            // A membership joined before server URLs were normalised has its folder under the URL as typed.
            guard
                let found = named.exists
                    ? named
                    : MembershipFolder.all(home: home).first(where: {
                        $0.program == program && (try? ServerURL.normalize($0.server)) == server
                    })?.folder
            else {
                throw noMembership(home: home, "this device has no membership of program '\(program)' on \(server)")
            }
            folder = found
        } else {
            let pointer = home.appendingPathComponent("current")
            guard let path = try? String(contentsOf: pointer, encoding: .utf8) else {
                throw noMembership(home: home, "this device has no membership yet")
            }
            folder = MembershipFolder(url: URL(fileURLWithPath: path))
        }
        return Membership(folder: folder, state: try folder.loadState(), key: try folder.loadKey())
    }

    static func noMembership(home: URL, _ problem: String) -> ClientError {
        let known = MembershipFolder.all(home: home).map {
            "--server \((try? ServerURL.normalize($0.server)) ?? $0.server) --program \($0.program)"
        }
        guard !known.isEmpty else {
            return ClientError(.noMembership, "\(problem) (in \(home.path)); run 'reciprocity join' first")
        }
        return ClientError(.noMembership, "\(problem); it has: \(known.prefix(5).joined(separator: "; "))")
    }

    // MARK: Profile and directory

    public func me() async throws -> SelfInfo { try await api.me() }

    public func updateProfile(_ profile: Profile) async throws -> MemberInfo { try await api.updateProfile(profile) }
    public func setEmail(_ email: String) async throws -> EmailSetting { try await api.setEmail(email) }
    public func removeEmail() async throws { try await api.removeEmail() }

    // The directory is the local replica's: DirectoryReplica.swift.

    // MARK: Keys

    /// The party behind `handle`, with the key the verified replica holds live for it now (never a key the
    /// server serves on request, and never a retired one). A key other than the one pinned at first use is
    /// refused until the member checks it and runs `key trust`.
    mutating func party(_ handle: String, in directory: KeyDirectory) throws -> Party {
        let name = try Handle(handle)
        guard let live = directory.live[handle] else {
            throw ClientError(
                .unknownHandle,
                "no member '\(handle)' is live in program \(state.program)'s key log (checked locally, up to entry \(directory.size))"
            )
        }
        let key = try PublicKey(base64URL: live)
        if let pinned = state.pinnedKeys[handle], pinned != live {
            let old = (try? PublicKey(base64URL: pinned))?.fingerprint ?? "?"
            throw ClientError(
                .keyChanged,
                "\(handle)'s key changed in the key log (pinned \(old), now \(key.fingerprint)); "
                    + "compare fingerprints with \(handle) out of band, then run 'reciprocity key trust \(handle)'")
        }
        state.pinnedKeys[handle] = live
        return Party(handle: name, publicKey: key)
    }

    /// Re-pins `handle` to its live key in the key log, after an out-of-band check, and derives pending
    /// interests in them again from it, replacing the old marks in one request. It replaces `trustChange`
    /// marks whether there were 0, 1, 2 or 3 (dummies make up the number): a trust follows a rotation anyone
    /// sees in the key log, so its size must not say whether or how the member marked that person.
    public mutating func trust(_ handle: String) async throws -> String {
        try await changingMarks(minimumChange: Self.trustChange) { session, program, directory, _ in
            guard let live = directory.live[handle] else {
                throw ClientError(
                    .unknownHandle, "no member '\(handle)' is live in program \(session.state.program)'s key log")
            }
            session.state.pinnedKeys[handle] = live
            // The old marks can no longer match: derive them again with the live key, for the current epoch
            // (marks that waited for this trust across an epoch change or a key rotation included). One
            // derivation per kind of interest, real or throwaway, as the web app does: the time taken does not
            // show how many pending marks on `handle` there are.
            for wants in Role.allCases {
                let indices = session.state.marks.indices.filter {
                    session.state.marks[$0].handle == handle && session.state.marks[$0].wants == wants
                        && session.state.marks[$0].isPending
                }
                guard !indices.isEmpty,
                    let derived = try session.rederive(handle: handle, wants: wants, epoch: program.epoch)
                else {
                    _ = try session.throwawayDerivation(epoch: program.epoch)
                    continue
                }
                for index in indices {
                    let old = session.state.marks[index]
                    session.state.marks[index] = LocalMark(
                        derived, handle: handle, wants: wants, epoch: program.epoch, createdAt: old.createdAt,
                        note: old.note)
                }
            }
            return try PublicKey(base64URL: live).fingerprint
        }
    }

    /// The marks a trust replaces, whatever it finds: its most, one per kind of interest (client.md section 3).
    static let trustChange = Role.allCases.count

    /// Replaces this member's key pair and then its credential: a new key is generated here and kept in
    /// `private.key.next` until the server has logged it, then replaces `private.key`; pending interests are
    /// derived again with it and sent with fresh dummies in one shuffled batch. Run it again after an
    /// interruption: it finishes the same rotation.
    public mutating func rotateKey() async throws -> String {
        let next: PrivateKey
        if let pending = try folder.loadNextKey() {
            next = pending
        } else {
            next = try PrivateKey()
            try folder.saveNextKey(next)
        }
        let me = try await api.me()
        let program = try checkedProgram(me.program)
        if me.member.publicKey != next.publicKey.base64URL {
            _ = try await api.rotateKey(next.publicKey)
        }
        // The state learns of the rotation before the key file changes, so that no crash leaves a key file
        // whose predecessor is unknown to the monitor.
        let old = key.publicKey.base64URL
        if old != next.publicKey.base64URL, !(state.retiredKeys ?? []).contains(old) {
            state.retiredKeys = (state.retiredKeys ?? []) + [old]
        }
        state.resubmitPending = true
        try folder.save(state)
        try folder.promoteNextKey()
        key = next
        let directory = try await syncedDirectory()
        guard directory.live[state.handle] == next.publicKey.base64URL else {
            throw ClientError(.logMissingKey, "the server's key log does not hold your new key as live")
        }
        try await movingToEpoch(program.epoch, directory: directory)
        try pad(program)
        try await converge(program)
        do {
            try await rotateCredential()
        } catch let error as ClientError {
            throw ClientError(
                .credentialNotRotated,
                "your key was replaced (new fingerprint \(next.publicKey.fingerprint)) but not your credential: "
                    + "run 'reciprocity credential rotate' (\(error.message))")
        }
        return next.publicKey.fingerprint
    }

    /// Replaces this device's credential with a new one from the server. The old one stops working at once: a
    /// thief of an old device (or of its backup) is locked out.
    public mutating func rotateCredential() async throws {
        let response: CredentialResponse
        do {
            response = try await api.rotateCredential()
        } catch let error as ClientError where error.code == .unreachable {
            throw ClientError(
                .unreachable,
                "\(error.message); the server may have replaced your credential without this device hearing the new "
                    + "one: if the next command is refused as unauthorized, ask the operator to reinstate you")
        }
        state.credential = response.credential
        try folder.save(state)
    }

    /// The fingerprint of `handle`'s live key in the verified replica (pinning it on first use), or our own.
    /// A pinned key is shown without the server when it cannot be reached (it was checked when pinned).
    public mutating func fingerprint(of handle: String?) async throws -> String {
        guard let handle else { return key.publicKey.fingerprint }
        let directory: KeyDirectory
        do {
            directory = try await syncedDirectory()
        } catch let error as ClientError where error.code == .unreachable {
            guard let pinned = state.pinnedKeys[handle], let key = try? PublicKey(base64URL: pinned) else {
                throw error
            }
            return
                "\(key.fingerprint) (pinned when you first marked or looked up \(handle); not checked now: the server is unreachable)"
        }
        let party = try party(handle, in: directory)
        try folder.save(state)
        return party.publicKey.fingerprint
    }

    // MARK: Interests

    /// The mark on `handle` derived again from its pinned key (after an epoch change, or to open a note);
    /// nil when no key is pinned for it.
    func rederive(handle: String, wants: Role, epoch: UInt32) throws -> PairwiseMark? {
        guard let pinned = state.pinnedKeys[handle] else { return nil }
        return try derive(
            Party(handle: Handle(handle), publicKey: PublicKey(base64URL: pinned)), wants: wants, epoch: epoch)
    }

    /// What is sent for a derived mark: token, own tag, and the note sealed for the counterpart (an empty
    /// note when there is none, so that every mark looks alike).
    static func submission(_ derived: PairwiseMark, note: String?) throws -> Mark {
        Mark(token: derived.token, tag: derived.ownTag, note: try derived.sealNote(note ?? ""))
    }

    static func ownRole(wanting wants: Role) -> Role { wants.counterpart }

    /// A new dummy mark for `epoch`. It costs what a real mark costs (one derivation, here against a throwaway
    /// key under a random name), so that the time a command takes does not tell how many of its marks are
    /// real; its token and tag are as uniformly random as any derivation's.
    func newDummy(epoch: UInt32) throws -> LocalMark {
        let derived = try throwawayDerivation(epoch: epoch)
        return LocalMark(
            handle: nil, wants: nil, epoch: epoch, token: derived.token.base64URL, ownTag: derived.ownTag.base64URL,
            counterpartTag: nil, createdAt: Date(), matchedAt: nil, note: nil)
    }

    func throwawayDerivation(epoch: UInt32) throws -> PairwiseMark {
        let name = try Handle("dummy-" + String(UInt64.random(in: .min ... .max), radix: 36))
        return try derive(Party(handle: name, publicKey: try Self.throwawayPeer.get()), wants: .mentor, epoch: epoch)
    }

    /// For tests: when set (`$derivations.withValue`), counts every derivation the task makes, real or
    /// throwaway, as it is made (TrafficPrivacyTests counts those between two requests).
    @TaskLocal static var derivations: DerivationCount?

    final class DerivationCount: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
    }

    /// One throwaway public key per process: the random name makes every dummy's derivation different.
    static let throwawayPeer = Result { try PrivateKey().publicKey }

    func derive(_ party: Party, wants: Role, epoch: UInt32) throws -> PairwiseMark {
        Self.derivations?.count.add(1, ordering: .relaxed)
        return try KeySchedule.derive(
            context: InterestContext(
                program: try ProgramID(state.program), relation: wants == .peer ? .peer : .mentorship, epoch: epoch),
            me: key, handle: try Handle(state.handle), role: Self.ownRole(wanting: wants), other: party)
    }

    /// Marks each of `handles` ("I would like them as my `wants`") in one request that replaces as many dummy
    /// marks, so that the server sees the same request whomever is marked (and whether a mark is added or
    /// withdrawn). Keys come from the verified replica of the key log only. A handle already marked keeps its
    /// mark; a new `note` on it replaces the old one (SECURITY.md: the server then sees that token again).
    public mutating func addInterest(
        _ handles: [String], wants: Role, padTo: Int? = nil, note: String? = nil
    ) async throws -> [InterestResult] {
        guard !handles.isEmpty else { return [] }
        if let padTo, padTo < 0 { throw ClientError(.invalidArgument, "--pad-to must be 0 or more, got \(padTo)") }
        if handles.contains(state.handle) { throw ClientError(.selfMark, "you cannot mark yourself") }
        return try await submitInterest(handles, wants: wants, padTo: padTo, note: note)
    }

    mutating func submitInterest(_ handles: [String], wants: Role, padTo: Int?, note: String?) async throws
        -> [InterestResult]
    {
        let tokens = try await changingMarks(minimumChange: handles.count, padTo: padTo) {
            session, program, directory, renoted in
            var tokens: [String] = []
            var fresh = 0
            for handle in handles {
                let derived = try session.derive(
                    try session.party(handle, in: directory), wants: wants, epoch: program.epoch)
                let token = derived.token.base64URL
                tokens.append(token)
                // A mark that waited for a trust is replaced by this one.
                session.state.marks.removeAll { $0.handle == handle && $0.wants == wants && $0.waitingForTrust == true }
                if let index = session.state.marks.firstIndex(where: { $0.token == token }) {
                    if session.state.marks[index].isPending, session.state.marks[index].note != note {
                        session.state.marks[index].note = note
                        renoted.insert(token)
                    }
                } else if !tokens.dropLast().contains(token) {
                    fresh += 1
                    session.state.marks.append(
                        LocalMark(
                            derived, handle: handle, wants: wants, epoch: program.epoch, createdAt: Date(), note: note))
                }
            }
            // The server counts pending marks and the matches made this epoch alike.
            let made = session.realMarks(epoch: program.epoch).count
            if made > program.maxMarks {
                throw Self.quotaExceeded(
                    program, "you have made \(made - fresh) interests this epoch, and this would add \(fresh)")
            }
            return tokens
        }
        return zip(handles, tokens).map { handle, token in
            // What the server answered (its word, shown as such), else what this device verified.
            let matched = state.marks.first { $0.token == token }?.matchedAt != nil
            return InterestResult(handle: handle, state: lastAnswer[token] ?? (matched ? .matched : .pending))
        }
    }

    static func quotaExceeded(_ program: ProgramInfo, _ situation: String) -> ClientError {
        ClientError(
            .quotaExceeded,
            "program \(program.name) allows \(program.maxMarks) interests per epoch, pending or matched; \(situation). "
                + "Withdraw one first with 'reciprocity interest remove HANDLE --as ROLE' (see 'reciprocity interest list')"
        )
    }

    /// Runs one command on this membership. If it fails before anything was submitted, the state goes back to
    /// what it was, in memory and on disk. Once a replacement request has gone out (`AfterSending`), the state
    /// it recorded is kept whatever happens, so that the next command sends exactly the same marks again or
    /// finds them held: a client that drew new dummies for a retry would show the server, by which tokens
    /// came back, which of its marks are real.
    mutating func rollingBack<T>(_ body: (inout Membership) async throws -> T) async throws -> T {
        let original = state
        do {
            return try await body(&self)
        } catch let sent as AfterSending {
            throw sent.error
        } catch {
            state = original
            try? folder.save(state)
            throw error
        }
    }

    /// A failure after the replacement request was sent: the state is kept.
    struct AfterSending: Error {
        let error: any Error
    }

    /// The program as the server describes it, refused when it goes back to an earlier epoch (the client would
    /// derive its real marks again for an epoch it already left, and draw new dummies: the tokens that came
    /// back would be the real ones) or when its quota fell below this device's padding (shedding dummies
    /// because the server says so would show which marks they are). The padding is fixed at first use.
    mutating func checkedProgram(_ program: ProgramInfo, padTo: Int? = nil) throws -> ProgramInfo {
        if let seen = state.epoch, program.epoch < seen {
            throw ClientError(
                .epochRollback,
                "the server says program \(program.name) is in epoch \(program.epoch), but this device already saw epoch \(seen); refusing to go back"
            )
        }
        state.epoch = program.epoch
        if let padTo { state.padTo = padTo }
        if state.padTo == nil { state.padTo = program.maxMarks }
        if let padding = state.padTo, padding > program.maxMarks {
            throw ClientError(
                .quotaLowered,
                "program \(program.name) now allows \(program.maxMarks) marks per epoch, fewer than the \(padding) this device keeps pending; "
                    + "lower the padding with 'reciprocity interest add HANDLE --as ROLE --pad-to \(program.maxMarks)' "
                    + "(the server then sees that the marks withdrawn are dummies)")
        }
        return program
    }

    /// The frame of every command that changes marks: the program (never an earlier epoch), the replica of the
    /// key log brought up to date, the move to a new epoch; then `body` changes the local set (and names marks
    /// to send again with a new note); then the padding and one replacement request (`converge`). When `body`
    /// refuses (an unknown handle, a changed key, the quota), the same replacement request is still sent, a
    /// dummy for a new one, before the refusal is reported: the server sees the same requests whether a command
    /// goes through or stops.
    mutating func changingMarks<T>(
        minimumChange: Int, padTo: Int? = nil,
        _ body: (inout Membership, ProgramInfo, KeyDirectory, inout Set<String>) throws -> T
    ) async throws -> T {
        try await rollingBack { session in
            let served = try await session.api.me().program
            if let padTo, padTo > served.maxMarks {
                throw ClientError(
                    .invalidArgument,
                    "--pad-to must be at most \(served.maxMarks), the most marks program \(served.name) allows a member per epoch; got \(padTo)"
                )
            }
            let program = try session.checkedProgram(served, padTo: padTo)
            let directory = try await session.syncedDirectory()
            try await session.movingToEpoch(program.epoch, directory: directory)
            let before = session.state
            var renoted: Set<String> = []
            let result: T
            do {
                result = try body(&session, program, directory, &renoted)
            } catch let refusal as ClientError {
                session.state = before
                try session.pad(program)
                do {
                    try await session.converge(program, minimumChange: minimumChange)
                } catch is AfterSending {}
                throw AfterSending(error: refusal)
            }
            try session.pad(program)
            do {
                try await session.converge(program, renoted: renoted, minimumChange: minimumChange)
            } catch let sent as AfterSending {
                guard let error = sent.error as? ClientError, error.code == .quotaExceeded else { throw sent }
                throw AfterSending(
                    error: Self.quotaExceeded(program, "the server holds more marks of yours than this device knows of")
                )
            }
            return result
        }
    }

    /// Withdraws the mark on `handle`, replacing it by a dummy in the same request when padding is on, so that
    /// the server sees the same request as for adding one.
    public mutating func removeInterest(_ handle: String, wants: Role) async throws {
        guard state.marks.contains(where: { $0.handle == handle && $0.wants == wants && $0.isPending })
        else { throw ClientError(.noSuchInterest, "you have no pending interest in \(handle) as \(wants.rawValue)") }
        try await changingMarks(minimumChange: 1) { session, _, _, _ in
            session.state.marks.removeAll { $0.handle == handle && $0.wants == wants && $0.isPending }
        }
    }

    /// Real interests on this device, oldest first.
    public var interests: [LocalMark] { state.marks.filter { !$0.isDummy } }

    /// Whether the key log, as this device last replayed it, holds a key for the mark's person other than the
    /// one the mark was derived from (it cannot match until the member trusts the new key).
    public func keyChanged(_ mark: LocalMark) -> Bool {
        guard let handle = mark.handle, let replica = state.replica else { return false }
        return replica.live[handle] != state.pinnedKeys[handle]
    }

    /// Real marks of `epoch`, pending or matched: what the server's quota counts besides dummies. (A match is
    /// only what `matches` verified: the server's word in a submission's answer changes nothing here.)
    func realMarks(epoch: UInt32) -> [LocalMark] {
        state.marks.filter { $0.epoch == epoch && !$0.isDummy && ($0.waitingForTrust != true || $0.matchedAt != nil) }
    }

    /// The padding in force: the member's `--pad-to`, else the program's whole quota as it was at first use,
    /// so that every member holds the same number of marks whatever they marked.
    func padding(_ program: ProgramInfo) -> Int { min(state.padTo ?? program.maxMarks, program.maxMarks) }

    /// Brings the dummies of the current epoch to the padding: surplus ones chosen at random leave the local
    /// set, new ones join it. `converge` then sends the difference.
    mutating func pad(_ program: ProgramInfo) throws {
        let needed = max(0, padding(program) - realMarks(epoch: program.epoch).count)
        let dummies = state.marks.filter { $0.isDummy && $0.isWanted(epoch: program.epoch) }.shuffled()
        let surplus = Set(dummies.dropFirst(needed).map(\.token))
        state.marks.removeAll { surplus.contains($0.token) }
        for _ in dummies.count..<max(dummies.count, needed) { state.marks.append(try newDummy(epoch: program.epoch)) }
    }

    /// Records the matches made meanwhile, then `moveToEpoch`, when a move is due: a matched mark derived again
    /// would count twice against the quota (the match already counts), and an old epoch's match would no
    /// longer verify. Whether the matches are fetched depends on the epoch and on a rotation, not on whom the
    /// member marked (padding gives every member marks of the old epoch).
    mutating func movingToEpoch(_ epoch: UInt32, directory: KeyDirectory) async throws {
        if moveIsDue(epoch) { _ = try await recordVerifiedMatches() }
        try moveToEpoch(epoch, directory: directory)
    }

    /// A mark to derive or draw again for `epoch`: every pending one after a rotation (`all`), else those of an
    /// older epoch. A mark waiting for a trust stays as it is: deriving it again when its person's key comes
    /// back (a reinstatement) would send a request because of whom it is about.
    static func isStale(_ mark: LocalMark, epoch: UInt32, all: Bool) -> Bool {
        mark.isPending && mark.waitingForTrust != true && (all || mark.epoch != epoch)
    }

    func moveIsDue(_ epoch: UInt32) -> Bool {
        let all = state.resubmitPending == true
        return all || state.marks.contains { Self.isStale($0, epoch: epoch, all: all) }
    }

    /// After the operator moves the program to a new epoch, or after this member rotated its key, derives the
    /// pending interests again (the server has deleted the old marks) and replaces every dummy by a new one, so
    /// that the batch `converge` sends holds real and dummy marks alike, all new. A mark on a handle whose live
    /// key is no longer the pinned one is not derived again (never with a retired key): it is kept, unsent,
    /// until `key trust`.
    mutating func moveToEpoch(_ epoch: UInt32, directory: KeyDirectory) throws {
        guard moveIsDue(epoch) else { return }
        let all = state.resubmitPending == true
        let stale = state.marks.filter { Self.isStale($0, epoch: epoch, all: all) }
        state.marks.removeAll { Self.isStale($0, epoch: epoch, all: all) }
        for old in stale where !old.isDummy {
            guard let handle = old.handle, let wants = old.wants else { continue }
            guard let pinned = state.pinnedKeys[handle], directory.live[handle] == pinned,
                let derived = try rederive(handle: handle, wants: wants, epoch: epoch)
            else {
                var waiting = old
                waiting.waitingForTrust = true
                state.marks.append(waiting)
                continue
            }
            state.marks.append(
                LocalMark(
                    derived, handle: handle, wants: wants, epoch: epoch, createdAt: old.createdAt, note: old.note))
        }
        state.resubmitPending = nil
    }

    /// Makes the server's pending marks of the current epoch equal to this device's set in one request: the
    /// marks the server lacks are submitted in random order, those it holds that the device no longer wants
    /// are withdrawn in the same transaction. When fewer than `minimumChange` marks would be replaced, random
    /// dummies are replaced by new ones to make up the number, so that a command that changes nothing sends
    /// the same request as one that changes one mark. The server's answer per submitted token is left in
    /// `lastAnswer` (empty when nothing was sent).
    mutating func converge(_ program: ProgramInfo, renoted: Set<String> = [], minimumChange: Int = 0) async throws {
        lastAnswer = [:]
        // The replacement dummies are drawn before the request, used or not (as the web app does): between GET
        // and POST the work is then one derivation per submitted mark, whichever marks change.
        var replacements = try (0..<minimumChange).map { _ in try newDummy(epoch: program.epoch) }
        let held = Set(try await api.pendingMarks().filter { $0.epoch == program.epoch }.map(\.token))
        let wanted = state.marks.filter { $0.isWanted(epoch: program.epoch) }
        let wantedTokens = Set(wanted.map(\.token))
        var withdraw = held.subtracting(wantedTokens).union(renoted)
        var submit = wanted.filter { !held.contains($0.token) || renoted.contains($0.token) }
        var spare = wanted.filter { $0.isDummy && held.contains($0.token) }.shuffled()
        while submit.count < minimumChange, let old = spare.popLast(), let dummy = replacements.popLast() {
            state.marks.removeAll { $0.token == old.token }
            state.marks.append(dummy)
            withdraw.insert(old.token)
            submit.append(dummy)
        }
        // Recorded before sending: a crash after the server stores the marks cannot leave marks this device
        // does not know about (a failed command restores the state before, and the next one withdraws them).
        try folder.save(state)
        guard !submit.isEmpty || !withdraw.isEmpty else { return }
        let marks = try submit.shuffled().map { try mark(for: $0) }
        let results: [MarkResult]
        do {
            if marks.isEmpty {
                // Only without padding: nothing to submit in the same request.
                for token in withdraw.shuffled() { _ = try await api.withdraw(try InterestToken(base64URL: token)) }
                results = []
            } else {
                results = try await api.submit(epoch: program.epoch, marks: marks, withdraw: Array(withdraw).shuffled())
            }
        } catch let error as ClientError where error.code == .unreachable {
            throw AfterSending(
                error: ClientError(
                    .unreachable,
                    "\(error.message); the change is recorded on this device and the next command completes it"))
        } catch {
            throw AfterSending(error: error)
        }
        // Only the tokens just submitted; and `matched` is the server's word: `matches` verifies it.
        let sent = Set(marks.map(\.token.base64URL))
        lastAnswer = Dictionary(results.filter { sent.contains($0.token) }.map { ($0.token, $0.status) }) { first, _ in
            first
        }
    }

    /// What is sent for a local mark: a real one is derived again from its pinned key to seal its note; a dummy
    /// seals an empty note under a throwaway derivation, which costs the same. So does a real mark whose person's
    /// key changed since (it can no longer match; nothing is derived with a retired key, client.md section 3).
    func mark(for local: LocalMark) throws -> Mark {
        guard let handle = local.handle, let wants = local.wants, !keyChanged(local) else {
            return Mark(
                token: try InterestToken(base64URL: local.token), tag: try ConfirmationTag(base64URL: local.ownTag),
                note: try throwawayDerivation(epoch: local.epoch).sealNote(""))
        }
        guard let derived = try rederive(handle: handle, wants: wants, epoch: local.epoch),
            derived.token.base64URL == local.token
        else { throw ClientError(.corruptState, "the local record of your mark on \(handle) does not derive again") }
        return try Self.submission(derived, note: local.note)
    }

    // MARK: Matches

    /// Fetches matches and verifies each one locally. Only a verified report is a match.
    public mutating func matches() async throws -> [MatchReport] {
        try await rollingBack { try await $0.verifiedMatches() }
    }

    /// Fetches the matches and checks each against this device's records: a match is verified only when its
    /// token is one of this device's real marks and the counterpart's confirmation tag is the one derived for
    /// it (the tag, derived from the key that was marked, is the proof; the key the server reports now may be
    /// a newer one). A verified match stops being pending here. Whatever fails, the problem is one sentence
    /// that says nothing of whom this device marked, nor whether the token was a real mark or a dummy.
    mutating func recordVerifiedMatches() async throws -> [MatchReport] {
        var reports: [MatchReport] = []
        for match in try await api.matches() {
            guard let index = state.marks.firstIndex(where: { $0.token == match.token }), !state.marks[index].isDummy,
                let expected = state.marks[index].counterpartTag, match.handle == state.marks[index].handle,
                let tag = try? ConfirmationTag(base64URL: match.tag), tag == (try ConfirmationTag(base64URL: expected))
            else {
                reports.append(
                    MatchReport(
                        handle: match.handle, wants: nil, matchedAt: match.matchedAt, verified: false,
                        problem: Self.unverifiedMatch, note: nil, noteProblem: nil))
                continue
            }
            let local = state.marks[index]
            if local.matchedAt == nil { state.marks[index].matchedAt = match.matchedAt }
            // The counterpart's note is opened only for a verified match, and shown only if it opens.
            var note: String?
            var noteProblem: String?
            if let sealed = match.note, let wants = local.wants, let handle = local.handle {
                do {
                    guard let derived = try rederive(handle: handle, wants: wants, epoch: local.epoch) else {
                        throw ClientError(.noPinnedKey, "no pinned key for \(handle)")
                    }
                    note = try derived.openCounterpartNote(try SealedNote(base64URL: sealed))
                } catch {
                    noteProblem = "the note from \(handle) could not be opened (tampered or malformed)"
                }
            }
            reports.append(
                MatchReport(
                    handle: match.handle, wants: local.wants, matchedAt: match.matchedAt, verified: true,
                    problem: nil, note: note?.isEmpty == true ? nil : note, noteProblem: noteProblem))
        }
        return reports
    }

    static let unverifiedMatch =
        "the server reports a match this device cannot verify: it may have fabricated it"

    mutating func verifiedMatches() async throws -> [MatchReport] {
        let program = try checkedProgram(try await api.me().program)
        let directory = try await syncedDirectory()
        let reports = try await recordVerifiedMatches()
        // Verified matches are no longer pending; then the epoch move or the completion of an interrupted
        // command, if any.
        try moveToEpoch(program.epoch, directory: directory)
        try pad(program)
        try await converge(program)
        try folder.save(state)
        return reports
    }
}
