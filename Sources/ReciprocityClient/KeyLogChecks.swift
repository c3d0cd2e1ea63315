import Foundation
import ReciprocityAPI
public import ReciprocityCore

/// The client's side of key transparency (Specs/transparency.md). Every failure here is a `ClientError` with a
/// `log-` code and is never retried: a server that serves inconsistent log views is either broken or lying.
enum KeyLogChecks {
    /// A head older than this is refused: the server signs again at least hourly, so an old head means the
    /// client is being shown a frozen view.
    static let maxHeadAge: TimeInterval = 24 * 3600
    /// A head dated further ahead than this is refused: a server holding the log key could otherwise sign a
    /// head dated a year ahead and keep a frozen view "fresh" all year.
    static let maxClockSkew: TimeInterval = 300

    static func decode(_ info: TreeHeadInfo) throws -> SignedTreeHead {
        do {
            return try info.signedTreeHead()
        } catch {
            throw ClientError(.logInvalidHead, "the server sent a malformed tree head")
        }
    }

    /// Checks `head` against the pinned log key and the last verified head, fetching a consistency proof when
    /// the log grew. Returns the head to remember next (the newer of the two).
    static func check(
        _ head: SignedTreeHead, program: String, logKey: LogPublicKey, previous: SignedTreeHead?, api: ServerAPI,
        now: Date = Date()
    ) async throws -> SignedTreeHead {
        guard head.program.rawValue == program else {
            throw ClientError(
                .logInvalidHead, "the server sent a tree head for program \(head.program), not \(program)")
        }
        guard head.verify(with: logKey) else {
            throw ClientError(
                .logSignature,
                "the tree head is not signed by the pinned log key \(logKey.base64URL); refusing it: \(head.text)")
        }
        try checkTime(head, now: now)
        guard let previous else { return head }
        if head.size < previous.size {
            throw ClientError(
                .logRollback,
                "the server's log has \(head.size) entries but this device already verified \(previous.size) "
                    + "(a rolled-back log); evidence: seen [\(previous.text)] served [\(head.text)]")
        }
        try await checkConsistent(previous, head, api: api)
        return head.size == previous.size && head.timestamp < previous.timestamp ? previous : head
    }

    /// Two signed heads of one log must agree: equal roots at equal sizes, else a valid consistency proof from
    /// the smaller to the larger. A proof the server says it cannot give is a fork too.
    static func checkConsistent(_ seen: SignedTreeHead, _ served: SignedTreeHead, api: ServerAPI) async throws {
        let (small, large) = served.size <= seen.size ? (served, seen) : (seen, served)
        if small.size == large.size {
            guard small.root == large.root else { throw forked(seen, served) }
            return
        }
        guard small.size > 0 else { return }
        let proof: [[UInt8]]
        do {
            proof = try await api.consistencyProof(from: small.size, to: large.size)
        } catch let error as ClientError where error.code == .proofNotFound {
            throw forked(seen, served)
        }
        guard
            MerkleTree.verifyConsistency(
                oldSize: Int(small.size), newSize: Int(large.size), oldRoot: small.root, newRoot: large.root,
                proof: proof)
        else { throw forked(seen, served) }
    }

    /// Specs/transparency.md: a head served as the log's current state must be at most a day old and at most
    /// five minutes ahead of this clock; a gossiped head (`maxAge` infinite) only the latter.
    static func checkTime(_ head: SignedTreeHead, now: Date = Date(), maxAge: TimeInterval = maxHeadAge) throws {
        do {
            try head.checkTime(now: now, maxAge: maxAge, maxFutureSkew: maxClockSkew)
        } catch let error as ReciprocityError {
            let future = error.code == .futureHead
            throw ClientError(
                future ? .logFutureHead : .logStaleHead,
                "\(error.reason)\(future ? " (is this computer's clock right?)" : "; the server may be showing a frozen view"): \(head.text)"
            )
        }
    }

    static func forked(_ seen: SignedTreeHead, _ served: SignedTreeHead) -> ClientError {
        ClientError(
            .logFork,
            "the server's log is not an extension of the one verified before (a forked or rewritten log); "
                + "evidence: seen [\(seen.text)] served [\(served.text)]")
    }

    /// Replays the log from `directory` (the state after its first `directory.size` entries) up to `head`,
    /// checking every entry against the directory rules, and that the entries hash to the signed root.
    /// `inspect` sees each entry before it is applied.
    static func replay(
        from directory: KeyDirectory, to head: SignedTreeHead, api: ServerAPI,
        inspect: (Int, KeyLogEntry) throws -> Void = { _, _ in }
    ) async throws -> KeyDirectory {
        var directory = directory
        let target = Int(head.size)
        while directory.size < target {
            let page = try await api.logEntries(start: directory.size, limit: min(1000, target - directory.size))
            guard !page.isEmpty else {
                throw ClientError(
                    .logMissingEntries,
                    "the server stops serving entries at \(directory.size) but its head has \(target)")
            }
            for info in page where directory.size < target {
                guard info.index == directory.size else {
                    throw ClientError(
                        .logMissingEntries, "the server sent entry \(info.index) where \(directory.size) belongs")
                }
                let entry: KeyLogEntry
                do {
                    entry = KeyLogEntry(
                        program: directory.program, event: info.event, handle: try Handle(info.handle),
                        publicKey: try PublicKey(base64URL: info.publicKey))
                } catch let error as ReciprocityError {
                    throw ClientError(.logInvalidEntry, "entry \(info.index) of the log is malformed: \(error.reason)")
                }
                try inspect(info.index, entry)
                do {
                    try directory.apply(entry)
                } catch let error as ReciprocityError {
                    throw ClientError(.logInvalidEntry, error.reason)
                }
            }
        }
        guard directory.root == head.root else {
            throw ClientError(
                .logFork,
                "the \(target) entries the server serves do not hash to its signed root: \(head.text)")
        }
        return directory
    }
}

/// What `reciprocity key monitor` verified.
public struct MonitorReport: Sendable, Equatable {
    public let treeHead: String
    public let entriesChecked: Int
    /// Entries for this member's handle, all with its own key.
    public let ownEntries: Int
}

extension Membership {
    var programID: ProgramID { get throws { try ProgramID(state.program) } }

    /// The pinned log key; a membership from before the key log pins the server's key on first use.
    mutating func pinnedLogKey() async throws -> LogPublicKey {
        if state.logKey == nil { state.logKey = try await api.logHead().logPublicKey }
        do {
            return try LogPublicKey(base64URL: state.logKey!)
        } catch {
            throw ClientError(.logInvalidKey, "the pinned log key is malformed")
        }
    }

    /// Verifies a served head (every time, even one this device already holds: a frozen head goes stale) and
    /// remembers it as the latest.
    mutating func accept(_ info: TreeHeadInfo) async throws -> SignedTreeHead {
        let head = try KeyLogChecks.decode(info)
        let previous = try state.treeHead.map { try SignedTreeHead(text: $0) }
        let latest = try await KeyLogChecks.check(
            head, program: state.program, logKey: try await pinnedLogKey(), previous: previous, api: api)
        state.treeHead = latest.text
        return head
    }

    /// The latest tree head this device verified, after fetching and checking the server's current one.
    public mutating func currentTreeHead() async throws -> String {
        _ = try await syncedDirectory()
        try folder.save(state)
        return state.treeHead!
    }

    /// The server's current head, after checking the key it names against the pinned one and the head itself
    /// against the latest one verified.
    mutating func servedTreeHead() async throws -> SignedTreeHead {
        let served = try await api.logHead()
        if let pinned = state.logKey, pinned != served.logPublicKey {
            throw ClientError(
                .logKeyChanged,
                "the server now signs its log with \(served.logPublicKey), not the key pinned at join (\(pinned))")
        }
        return try await accept(served.treeHead)
    }

    /// Brings this device's replica of the program's key log up to the server's current head: the head is
    /// checked (signature, freshness, no rollback, consistency with the last one), the new entries are
    /// replayed under the directory rules and must hash to its root, and every entry for this member's own
    /// handle must be one this device made. The requests depend only on the log, never on whom the member is
    /// about to mark; marks are then derived from the replica's live keys alone.
    mutating func syncedDirectory() async throws -> KeyDirectory {
        let head = try await servedTreeHead()
        var replica = try state.replica ?? KeyDirectory(program: programID)
        guard replica.size <= Int(head.size) else {
            throw ClientError(
                .logRollback,
                "the server's log has \(head.size) entries but this device already replayed \(replica.size): \(head.text)"
            )
        }
        var own = state.ownLogKey
        let history = try ownKeyHistory()
        replica = try await KeyLogChecks.replay(from: replica, to: head, api: api) { index, entry in
            try Self.checkOwnEntry(index, entry, handle: state.handle, history: history, last: &own)
        }
        state.replica = replica
        state.ownLogKey = own
        return replica
    }

    /// The keys this device gave its handle, oldest first: retired ones in the order it rotated away from
    /// them, the current one, and the key of an unfinished rotation.
    func ownKeyHistory() throws -> [String] {
        (state.retiredKeys ?? []) + [key.publicKey.base64URL]
            + [try folder.loadNextKey()?.publicKey.base64URL].compactMap { $0 }
    }

    /// An entry for this member's handle must follow the device's own history: the first key joins, each later
    /// key only by rotating from its predecessor, never a retired key again; a leave and a reinstatement
    /// carry the key last logged. Anything else is a key change this device did not make.
    static func checkOwnEntry(
        _ index: Int, _ entry: KeyLogEntry, handle: String, history: [String], last: inout String?
    ) throws {
        guard entry.handle.rawValue == handle else { return }
        let key = entry.publicKey.base64URL
        let position = history.firstIndex(of: key)
        let fits: Bool
        switch entry.event {
        case .join: fits = last == nil ? position == 0 : key == last
        case .rotate: fits = position != nil && last.flatMap(history.firstIndex(of:)).map { $0 + 1 } == position
        case .leave: fits = key == last
        }
        guard fits else {
            throw ClientError(
                .logForeignKey,
                "entry \(index) of the key log (\(entry.event.rawValue), key \(entry.publicKey.fingerprint)) is a change "
                    + "to your handle \(handle) that this device did not make; it also dropped your pending marks. Someone "
                    + "with your credential may be replacing your key: run 'reciprocity credential rotate' and "
                    + "'reciprocity key rotate' now, and tell the operator (SECURITY.md, device loss)")
        }
        last = key
    }

    /// Replays the whole log from its start and checks that it holds exactly this member's keys under its
    /// handle, in the order this device made them, with the current key live now; then checks heads gossiped
    /// by others against the served one.
    public mutating func monitor(gossip: [String] = []) async throws -> MonitorReport {
        let head = try await servedTreeHead()
        let history = try ownKeyHistory()
        var own = 0
        var last: String?
        let directory = try await KeyLogChecks.replay(from: KeyDirectory(program: try programID), to: head, api: api) {
            index, entry in
            if entry.handle.rawValue == state.handle { own += 1 }
            try Self.checkOwnEntry(index, entry, handle: state.handle, history: history, last: &last)
        }
        guard directory.live[state.handle] == key.publicKey.base64URL else {
            let hint =
                (try? folder.loadNextKey()) != nil
                ? " (a key rotation is unfinished: run 'reciprocity key rotate')" : ""
            throw ClientError(.logMissingKey, "the log does not hold your key as live under \(state.handle)\(hint)")
        }
        try await KeyLogChecks.checkGossip(
            gossip, against: head, program: try programID, logKey: try await pinnedLogKey(), api: api)
        state.replica = directory
        state.ownLogKey = last
        try folder.save(state)
        return MonitorReport(treeHead: head.text, entriesChecked: Int(head.size), ownEntries: own)
    }
}

extension KeyLogChecks {
    /// Checks heads others saw (one line each) against `head`, the one the server serves this device now. A
    /// gossiped head larger than it is evidence on its own: the server showed someone a log it does not show
    /// here (a fork that only extends the honest log, or a rollback), so it is refused, never "proved"
    /// consistent by the same server.
    static func checkGossip(
        _ lines: [String], against head: SignedTreeHead, program: ProgramID, logKey: LogPublicKey, api: ServerAPI
    ) async throws {
        for line in lines {
            let other: SignedTreeHead
            do {
                other = try SignedTreeHead(text: line)
            } catch {
                throw ClientError(.logInvalidHead, "not a tree head line: \(line.prefix(80))")
            }
            guard other.program == program, other.verify(with: logKey) else {
                throw ClientError(.logSignature, "a gossiped head is not signed by the log key for \(program): \(line)")
            }
            try checkTime(other, maxAge: .infinity)
            guard other.size <= head.size else {
                throw ClientError(
                    .logFork,
                    "someone saw a log of \(other.size) entries but the server shows this device \(head.size) "
                        + "(a fork or a rollback); evidence: seen [\(other.text)] served [\(head.text)]")
            }
            try await checkConsistent(head, other, api: api)
        }
    }
}

/// What an auditor remembers between runs (`reciprocity audit --state FILE`).
public struct AuditState: Codable, Sendable {
    public var logKey: String
    public var treeHead: String
    public var directory: KeyDirectory
}

/// What `reciprocity audit` verified.
public struct AuditReport: Sendable {
    public let treeHead: String
    public let previousSize: Int
    public let replayed: Int
    public let liveHandles: Int
    public let gossipChecked: Int
    public let state: AuditState
}

/// An auditor of one program's key log: replays it from the last verified head, checking signatures,
/// consistency and the directory rules, and checks heads other parties have seen against it.
enum KeyLogAuditor {
    /// - Parameters:
    ///   - logKey: the expected log key (base64url); taken from `state` when nil, else from the server with
    ///     a warning (trust on first use).
    ///   - gossip: heads in their one-line form, from other members or auditors.
    static func audit(
        api: ServerAPI, program: String, logKey: String?, state: AuditState?, gossip: [String]
    ) async throws -> AuditReport {
        let programID = try ProgramID(program)
        let served = try await api.logHead()
        let pinnedText = logKey ?? state?.logKey ?? served.logPublicKey
        guard pinnedText == served.logPublicKey else {
            throw ClientError(
                .logKeyChanged, "the server signs with \(served.logPublicKey), not the expected key \(pinnedText)")
        }
        let pinned = try LogPublicKey(base64URL: pinnedText)
        let previous = try state.map { try SignedTreeHead(text: $0.treeHead) }
        let head = try KeyLogChecks.decode(served.treeHead)
        let latest = try await KeyLogChecks.check(head, program: program, logKey: pinned, previous: previous, api: api)
        let start = state?.directory ?? KeyDirectory(program: programID)
        let directory = try await KeyLogChecks.replay(from: start, to: head, api: api)
        try await KeyLogChecks.checkGossip(gossip, against: head, program: programID, logKey: pinned, api: api)
        return AuditReport(
            treeHead: head.text, previousSize: start.size, replayed: directory.size - start.size,
            liveHandles: directory.live.count, gossipChecked: gossip.count,
            state: AuditState(logKey: pinnedText, treeHead: latest.text, directory: directory))
    }
}

extension Membership {
    /// Audits this membership's program log with its credential; the expected log key defaults to the one
    /// pinned at join.
    public func audit(logKey: String?, state: AuditState?, gossip: [String]) async throws -> AuditReport {
        try await KeyLogAuditor.audit(
            api: api, program: self.state.program, logKey: logKey ?? state?.logKey ?? self.state.logKey, state: state,
            gossip: gossip)
    }
}
