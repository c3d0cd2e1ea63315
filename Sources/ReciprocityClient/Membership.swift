public import Foundation
public import ReciprocityAPI
public import ReciprocityCore

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
            throw ClientError("already-joined", "this device already joined \(program) on \(server) (\(folder.url.path))")
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
        guard try await membership.verifiedKey(of: response.member) == key.publicKey else {
            throw ClientError("log-inclusion", "the server logged a key for you that is not yours")
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
            return ClientError("no-membership", "\(problem) (in \(home.path)); run 'reciprocity join' first")
        }
        return ClientError("no-membership", "\(problem); it has: \(known.prefix(5).joined(separator: "; "))")
    }

    // MARK: Profile and directory

    public func me() async throws -> SelfInfo { try await api.me() }

    public func updateProfile(_ profile: Profile) async throws -> MemberInfo { try await api.updateProfile(profile) }

    public func directory(_ query: [String: String]) async throws -> DirectoryPage { try await api.directory(query) }

    // MARK: Keys

    /// Looks up members and checks each served key against the key pinned at first contact.
    mutating func parties(_ handles: [String]) async throws -> [Party] {
        var served: [String: MemberInfo] = [:]
        if handles.count > 8 {
            for member in try await api.wholeDirectory() { served[member.handle] = member }
        } else {
            for handle in handles {
                do {
                    served[handle] = try await api.member(try Handle(handle))
                } catch let error as ClientError where error.code == "member-not-found" {
                    continue
                }
            }
        }
        var parties: [Party] = []
        for handle in handles {
            guard let member = served[handle] else {
                throw ClientError("unknown-handle", "no active member '\(handle)' in program \(state.program)")
            }
            // The key must be in the log the server has committed to before anything is derived from it.
            let key = try await verifiedKey(of: member)
            if let pinned = state.pinnedKeys[handle], pinned != member.publicKey {
                let old = (try? PublicKey(base64URL: pinned))?.fingerprint ?? "?"
                throw ClientError(
                    "key-changed",
                    "the server now gives a different key for \(handle) (pinned \(old), served \(key.fingerprint)); "
                        + "compare fingerprints with \(handle) out of band, then run 'reciprocity key trust \(handle)'")
            }
            state.pinnedKeys[handle] = member.publicKey
            parties.append(Party(handle: try Handle(handle), publicKey: key))
        }
        return parties
    }

    /// Re-pins `handle` to the key the server serves now, after an out-of-band check, and derives pending
    /// interests in them again from it (the old tokens can no longer match).
    public mutating func trust(_ handle: String) async throws -> String {
        try await rollingBack { try await $0.repin(handle) }
    }

    mutating func repin(_ handle: String) async throws -> String {
        let member = try await api.member(try Handle(handle))
        let key = try await verifiedKey(of: member)
        state.pinnedKeys[handle] = member.publicKey
        try folder.save(state)
        let stale = state.marks.filter { $0.handle == handle && $0.matchedAt == nil }
        if !stale.isEmpty {
            let epoch = try await api.me().program.epoch
            for old in stale { _ = try await api.withdraw(try InterestToken(base64URL: old.token)) }
            state.marks.removeAll { $0.handle == handle && $0.matchedAt == nil }
            try folder.save(state)
            try await resubmit(stale, epoch: epoch)
            try folder.save(state)
        }
        return key.fingerprint
    }

    /// Replaces this member's key pair: a new key is generated here and kept in `private.key.next` until the
    /// server has logged it, then replaces `private.key`; pending interests are derived again with it. Run it
    /// again after an interruption: it finishes the same rotation.
    public mutating func rotateKey() async throws -> String {
        let next: PrivateKey
        if let pending = try folder.loadNextKey() {
            next = pending
        } else {
            next = try PrivateKey()
            try folder.saveNextKey(next)
        }
        let me = try await api.me()
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
        try await moveToEpoch(me.program.epoch)
        try await topUpDummies(epoch: me.program.epoch)
        let mine = try await api.member(try Handle(state.handle))
        guard try await verifiedKey(of: mine) == next.publicKey else {
            throw ClientError("log-inclusion", "the server's key log does not hold your new key")
        }
        try folder.save(state)
        return next.publicKey.fingerprint
    }

    /// The fingerprint of `handle`'s key as the directory serves it (pinning it on first use), or our own.
    public mutating func fingerprint(of handle: String?) async throws -> String {
        guard let handle else { return key.publicKey.fingerprint }
        // A pinned key was checked against the key log when it was pinned: no need to ask the server.
        if let pinned = state.pinnedKeys[handle], let key = try? PublicKey(base64URL: pinned) { return key.fingerprint }
        let party = try await parties([handle])[0]
        try folder.save(state)
        return party.publicKey.fingerprint
    }

    // MARK: Interests

    /// The mark on `handle` derived again from its pinned key (after an epoch change, or to open a note);
    /// nil when no key is pinned for it.
    func rederive(handle: String, wants: Role, epoch: UInt32) throws -> PairwiseMark? {
        guard let pinned = state.pinnedKeys[handle] else { return nil }
        return try derive(Party(handle: Handle(handle), publicKey: PublicKey(base64URL: pinned)), wants: wants, epoch: epoch)
    }

    /// What is sent for a derived mark: token, own tag, and the note sealed for the counterpart (an empty
    /// note when there is none, so that every mark looks alike).
    static func submission(_ derived: PairwiseMark, note: String?) throws -> Mark {
        Mark(token: derived.token, tag: derived.ownTag, note: try derived.sealNote(note ?? ""))
    }

    static func ownRole(wanting wants: Role) -> Role { wants.counterpart }

    func derive(_ party: Party, wants: Role, epoch: UInt32) throws -> PairwiseMark {
        try KeySchedule.derive(
            context: InterestContext(
                program: try ProgramID(state.program), relation: wants == .peer ? .peer : .mentorship, epoch: epoch),
            me: key, handle: try Handle(state.handle), role: Self.ownRole(wanting: wants), other: party)
    }

    /// Marks each of `handles` ("I would like them as my `wants`") in one request, topping up dummies to
    /// `padTo` if set. Already-marked handles are resubmitted idempotently. Every mark carries a sealed note
    /// (an empty one when `note` is nil), so the server cannot tell which marks have one.
    public mutating func addInterest(
        _ handles: [String], wants: Role, padTo: Int? = nil, note: String? = nil
    ) async throws -> [InterestResult] {
        guard !handles.isEmpty else { return [] }
        if let padTo, padTo < 0 { throw ClientError("invalid-argument", "--pad-to must be 0 or more, got \(padTo)") }
        if handles.contains(state.handle) { throw ClientError("self-mark", "you cannot mark yourself") }
        return try await rollingBack { try await $0.submitInterest(handles, wants: wants, padTo: padTo, note: note) }
    }

    mutating func submitInterest(_ handles: [String], wants: Role, padTo: Int?, note: String?) async throws
        -> [InterestResult]
    {
        let program = try await api.me().program
        if let padTo, padTo > program.maxMarks {
            throw ClientError(
                "invalid-argument",
                "--pad-to must be at most \(program.maxMarks), the most marks program \(program.name) allows a member per epoch; got \(padTo)")
        }
        if let padTo { state.padTo = padTo }
        try await moveToEpoch(program.epoch)
        let parties = try await parties(handles)
        var fresh: [LocalMark] = []
        var marks: [Mark] = []
        for party in parties {
            let derived = try derive(party, wants: wants, epoch: program.epoch)
            marks.append(try Self.submission(derived, note: note))
            if !state.marks.contains(where: { $0.token == derived.token.base64URL }) {
                fresh.append(LocalMark(
                    derived, handle: party.handle.rawValue, wants: wants, epoch: program.epoch, createdAt: Date(),
                    note: note))
            }
        }
        // The server counts pending marks and the matches made this epoch alike.
        let made = state.marks.filter { !$0.isDummy && $0.epoch == program.epoch }.count
        if made + fresh.count > program.maxMarks {
            throw Self.quotaExceeded(
                program, "you have made \(made) interests this epoch, and this would add \(fresh.count)")
        }
        let dummies = try await rebalanceDummies(epoch: program.epoch, addingReal: fresh.count)
        let results: [MarkResult]
        do {
            results = try await api.submit(epoch: program.epoch, marks: marks + dummies.map(\.mark))
        } catch let error as ClientError where error.code == "quota-exceeded" {
            throw Self.quotaExceeded(program, "the server holds more marks of yours than this device knows of")
        } catch let error as ClientError where error.code == "unreachable" && !dummies.isEmpty {
            throw unconfirmed(error)
        }
        // A `matched` answer is the server's word only; `matches()` verifies it before anything is shown as one.
        state.marks += fresh
        try folder.save(state)
        return zip(parties, results).map { InterestResult(handle: $0.handle.rawValue, state: $1.status) }
    }

    static func quotaExceeded(_ program: ProgramInfo, _ situation: String) -> ClientError {
        ClientError(
            "quota-exceeded",
            "program \(program.name) allows \(program.maxMarks) interests per epoch, pending or matched; \(situation). "
                + "Withdraw one first with 'reciprocity interest remove HANDLE --as ROLE' (see 'reciprocity interest list')")
    }

    /// A failure after dummy marks were sent without an answer: the server may hold them, so the state that
    /// records them (written before sending) is kept, as a crash at that point would keep it, and the next
    /// command first forgets those the server does not hold.
    struct OutcomeUnknown: Error, CustomStringConvertible {
        let error: ClientError
        var description: String { error.message }
    }

    mutating func unconfirmed(_ error: ClientError) -> OutcomeUnknown {
        state.unconfirmedDummies = true
        try? folder.save(state)
        return OutcomeUnknown(error: error)
    }

    /// Runs one command on this membership. If it fails, the state goes back to what it was, in memory and on
    /// disk, except for marks the server no longer holds (`gone`: dummies it withdrew or the server dropped with
    /// an epoch or key change), which are not brought back. Real marks dropped for an epoch or key change are
    /// brought back: the next command derives and submits them again. After `OutcomeUnknown` the state is kept.
    mutating func rollingBack<T>(
        gone: (LocalMark) -> Bool = { $0.isDummy }, _ body: (inout Membership) async throws -> T
    ) async throws -> T {
        let original = state
        do {
            return try await body(&self)
        } catch let uncertain as OutcomeUnknown {
            throw uncertain.error
        } catch {
            let held = Set(state.marks.map(\.token))
            state = original
            state.marks.removeAll { !held.contains($0.token) && gone($0) }
            try? folder.save(state)
            throw error
        }
    }

    /// Withdraws the mark on `handle` and tops the padding up again.
    public mutating func removeInterest(_ handle: String, wants: Role) async throws {
        guard let mark = state.marks.first(where: { $0.handle == handle && $0.wants == wants && $0.matchedAt == nil })
        else { throw ClientError("no-such-interest", "you have no pending interest in \(handle) as \(wants.rawValue)") }
        try await rollingBack(gone: { $0.isDummy || $0.token == mark.token }) { session in
            let program = try await session.api.me().program
            _ = try await session.api.withdraw(try InterestToken(base64URL: mark.token))
            session.state.marks.removeAll { $0.token == mark.token }
            try session.folder.save(session.state)
            do {
                try await session.topUpDummies(epoch: program.epoch)
            } catch {
                let failure = ClientError(
                    "padding-not-restored",
                    "withdrew your interest in \(handle), but could not top up the padding (the next 'interest add' or "
                        + "'interest remove' does): \(error)")
                if error is OutcomeUnknown { throw OutcomeUnknown(error: failure) }
                throw failure
            }
        }
    }

    /// Real interests on this device, oldest first.
    public var interests: [LocalMark] { state.marks.filter { !$0.isDummy } }

    /// Brings the pending dummies back to the padding, submitting the new ones.
    mutating func topUpDummies(epoch: UInt32) async throws {
        let dummies = try await rebalanceDummies(epoch: epoch, addingReal: 0)
        do {
            if !dummies.isEmpty { _ = try await api.submit(epoch: epoch, marks: dummies.map(\.mark)) }
        } catch let error as ClientError where error.code == "unreachable" {
            throw unconfirmed(error)
        } catch {
            // Refused: forget them, so that the state holds only what the server holds.
            state.marks.removeAll { mark in dummies.contains { $0.local.token == mark.token } }
            try folder.save(state)
            throw error
        }
        try folder.save(state)
    }

    /// Withdraws surplus dummies now and returns new ones (already recorded in local state, so a crash after
    /// the server stores them cannot leave marks this device does not know about).
    mutating func rebalanceDummies(epoch: UInt32, addingReal: Int) async throws -> [(mark: Mark, local: LocalMark)] {
        if state.unconfirmedDummies == true {
            let held = Set(try await api.pendingMarks().map(\.token))
            state.marks.removeAll { $0.isDummy && !held.contains($0.token) }
            state.unconfirmedDummies = nil
        }
        guard let padTo = state.padTo else { return [] }
        // The server's quota counts a member's pending marks plus the matches they made in the epoch, so the
        // padding does too: the total the server sees stays at `padTo` when a real mark matches.
        let real = state.marks.filter { !$0.isDummy && $0.epoch == epoch }.count + addingReal
        let held = state.marks.filter { $0.isDummy && $0.epoch == epoch }
        let needed = max(0, padTo - real)
        for surplus in held.dropFirst(needed) {
            _ = try await api.withdraw(try InterestToken(base64URL: surplus.token))
            state.marks.removeAll { $0.token == surplus.token }
        }
        var added: [(Mark, LocalMark)] = []
        for _ in held.count..<max(held.count, needed) {
            let mark = try Mark.dummy()
            let local = LocalMark(
                handle: nil, wants: nil, epoch: epoch, token: mark.token.base64URL, ownTag: mark.tag.base64URL,
                counterpartTag: nil, createdAt: Date(), matchedAt: nil, note: nil)
            state.marks.append(local)
            added.append((mark, local))
        }
        try folder.save(state)
        return added
    }

    /// After the operator moves the program to a new epoch, or after this member rotated its key, re-derives
    /// and resubmits pending interests (the server has deleted the old marks) and forgets the old dummies.
    mutating func moveToEpoch(_ epoch: UInt32) async throws {
        let all = state.resubmitPending == true
        func isStale(_ mark: LocalMark) -> Bool { mark.matchedAt == nil && (all || mark.epoch != epoch) }
        let stale = state.marks.filter(isStale)
        guard !stale.isEmpty || all else { return }
        state.marks.removeAll(where: isStale)
        try await resubmit(stale, epoch: epoch)
        state.resubmitPending = nil
        try folder.save(state)
    }

    /// Derives the real marks among `stale` again for `epoch` from the pinned keys and this member's current
    /// key, submits them and records them. Dummies are dropped.
    mutating func resubmit(_ stale: [LocalMark], epoch: UInt32) async throws {
        var renewed: [LocalMark] = []
        var marks: [Mark] = []
        for old in stale where !old.isDummy {
            guard let handle = old.handle, let wants = old.wants,
                let derived = try rederive(handle: handle, wants: wants, epoch: epoch)
            else { continue }
            renewed.append(LocalMark(
                derived, handle: handle, wants: wants, epoch: epoch, createdAt: old.createdAt, note: old.note))
            marks.append(try Self.submission(derived, note: old.note))
        }
        if !marks.isEmpty { _ = try await api.submit(epoch: epoch, marks: marks) }
        state.marks += renewed
    }

    // MARK: Matches

    /// Fetches matches and verifies each one locally. Only a verified report is a match.
    public mutating func matches() async throws -> [MatchReport] {
        try await rollingBack { try await $0.verifiedMatches() }
    }

    mutating func verifiedMatches() async throws -> [MatchReport] {
        let program = try await api.me().program
        try await moveToEpoch(program.epoch)
        var reports: [MatchReport] = []
        for match in try await api.matches() {
            guard let index = state.marks.firstIndex(where: { $0.token == match.token }), !state.marks[index].isDummy,
                let expected = state.marks[index].counterpartTag
            else {
                reports.append(MatchReport(
                    handle: match.handle, wants: nil, matchedAt: match.matchedAt, verified: false,
                    problem: "the server reports a match for a token this device never submitted", note: nil,
                    noteProblem: nil))
                continue
            }
            let local = state.marks[index]
            var problem: String?
            if match.handle != local.handle {
                problem = "the server names \(match.handle) as the counterpart of your mark on \(local.handle ?? "?")"
            } else if let pinned = state.pinnedKeys[match.handle], pinned != match.publicKey {
                problem = "the server reports a different key for \(match.handle) than the one you marked"
            } else if let tag = try? ConfirmationTag(base64URL: match.tag),
                tag == (try ConfirmationTag(base64URL: expected))
            {
                problem = nil
            } else {
                problem = "the confirmation tag does not verify: the server may have fabricated this match"
            }
            if problem == nil, state.marks[index].matchedAt == nil { state.marks[index].matchedAt = match.matchedAt }
            // The counterpart's note is opened only for a verified match, and shown only if it opens.
            var note: String?
            var noteProblem: String?
            if problem == nil, let sealed = match.note, let wants = local.wants, let handle = local.handle {
                do {
                    guard let derived = try rederive(handle: handle, wants: wants, epoch: local.epoch) else {
                        throw ClientError("no-pinned-key", "no pinned key for \(handle)")
                    }
                    note = try derived.openCounterpartNote(try SealedNote(base64URL: sealed))
                } catch {
                    noteProblem = "the note from \(handle) could not be opened (tampered or malformed)"
                }
            }
            reports.append(MatchReport(
                handle: match.handle, wants: local.wants, matchedAt: match.matchedAt, verified: problem == nil,
                problem: problem, note: note?.isEmpty == true ? nil : note, noteProblem: noteProblem))
        }
        try folder.save(state)
        return reports
    }
}
