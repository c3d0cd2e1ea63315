import Foundation
import ReciprocityAPI
public import ReciprocityCore

/// The client's side of key transparency (Specs/transparency.md). Every failure here is a `ClientError` with a
/// `log-` code and is never retried: a server that serves inconsistent log views is either broken or lying.
enum KeyLogChecks {
    /// A head older than this is refused: the server signs again at least hourly, so an old head means the
    /// client is being shown a frozen view.
    static let maxHeadAge: TimeInterval = 24 * 3600

    static func decode(_ info: TreeHeadInfo) throws -> SignedTreeHead {
        do {
            return try info.signedTreeHead()
        } catch {
            throw ClientError("log-invalid-head", "the server sent a malformed tree head")
        }
    }

    /// Checks `head` against the pinned log key and the last verified head, fetching a consistency proof when
    /// the log grew. Returns the head to remember next (the newer of the two).
    static func check(
        _ head: SignedTreeHead, program: String, logKey: LogPublicKey, previous: SignedTreeHead?, api: ServerAPI,
        now: Date = Date()
    ) async throws -> SignedTreeHead {
        guard head.program.rawValue == program else {
            throw ClientError("log-invalid-head", "the server sent a tree head for program \(head.program), not \(program)")
        }
        guard head.verify(with: logKey) else {
            throw ClientError(
                "log-signature",
                "the tree head is not signed by the pinned log key \(logKey.base64URL); refusing it: \(head.text)")
        }
        let age = now.timeIntervalSince1970 - Double(head.timestamp) / 1000
        guard age <= maxHeadAge else {
            throw ClientError(
                "log-stale-head",
                "the server's tree head is \(Int(age / 3600)) hours old (at most \(Int(maxHeadAge / 3600)) allowed): \(head.text)")
        }
        guard let previous else { return head }
        if head.size < previous.size {
            throw ClientError(
                "log-rollback",
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
        } catch let error as ClientError where error.code == "proof-not-found" {
            throw forked(seen, served)
        }
        guard
            MerkleTree.verifyConsistency(
                oldSize: Int(small.size), newSize: Int(large.size), oldRoot: small.root, newRoot: large.root, proof: proof)
        else { throw forked(seen, served) }
    }

    static func forked(_ seen: SignedTreeHead, _ served: SignedTreeHead) -> ClientError {
        ClientError(
            "log-fork",
            "the server's log is not an extension of the one verified before (a forked or rewritten log); "
                + "evidence: seen [\(seen.text)] served [\(served.text)]")
    }

    static func proof(of member: MemberInfo) throws -> KeyInclusion {
        guard let proof = member.keyProof else {
            throw ClientError("log-missing-proof", "the server gave no key-log proof for \(member.handle)'s key")
        }
        return proof
    }

    /// Proves that `member`'s key is the one the entry at `proof.leafIndex` made live, in `head`.
    static func checkInclusion(_ member: MemberInfo, program: ProgramID, head: SignedTreeHead) throws -> PublicKey {
        let proof = try proof(of: member)
        let key = try PublicKey(base64URL: member.publicKey)
        let hashes = try? ProofHashes.decode(proof.inclusionProof)
        let entry = KeyLogEntry(program: program, event: proof.event, handle: try Handle(member.handle), publicKey: key)
        guard proof.event != .leave, let hashes,
            MerkleTree.verifyInclusion(
                index: proof.leafIndex, treeSize: Int(head.size), leafHash: entry.leafHash, proof: hashes, root: head.root)
        else {
            throw ClientError(
                "log-inclusion",
                "the key the server gives for \(member.handle) (\(key.fingerprint)) is not in its key log; "
                    + "refusing to use it. Tree head: \(head.text)")
        }
        return key
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
                    "log-missing-entries",
                    "the server stops serving entries at \(directory.size) but its head has \(target)")
            }
            for info in page where directory.size < target {
                guard info.index == directory.size else {
                    throw ClientError("log-missing-entries", "the server sent entry \(info.index) where \(directory.size) belongs")
                }
                let entry: KeyLogEntry
                do {
                    entry = KeyLogEntry(
                        program: directory.program, event: info.event, handle: try Handle(info.handle),
                        publicKey: try PublicKey(base64URL: info.publicKey))
                } catch {
                    throw ClientError("log-invalid-entry", "entry \(info.index) of the log is malformed: \(error)")
                }
                try inspect(info.index, entry)
                do {
                    try directory.apply(entry)
                } catch let error as ReciprocityError {
                    throw ClientError("log-invalid-entry", error.reason)
                }
            }
        }
        guard directory.root == head.root else {
            throw ClientError(
                "log-fork",
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
            throw ClientError("log-invalid-key", "the pinned log key is malformed")
        }
    }

    /// Verifies a served head and remembers it as the latest.
    mutating func accept(_ info: TreeHeadInfo) async throws -> SignedTreeHead {
        let head = try KeyLogChecks.decode(info)
        if head.text == state.treeHead { return head }
        let previous = try state.treeHead.map { try SignedTreeHead(text: $0) }
        let latest = try await KeyLogChecks.check(
            head, program: state.program, logKey: try await pinnedLogKey(), previous: previous, api: api)
        state.treeHead = latest.text
        return head
    }

    /// The key of a directory entry, after proving it is in the log the server has committed to.
    mutating func verifiedKey(of member: MemberInfo) async throws -> PublicKey {
        let head = try await accept(try KeyLogChecks.proof(of: member).treeHead)
        return try KeyLogChecks.checkInclusion(member, program: try programID, head: head)
    }

    /// The latest tree head this device verified, after fetching and checking the server's current one.
    public mutating func currentTreeHead() async throws -> String {
        _ = try await servedTreeHead()
        try folder.save(state)
        return state.treeHead!
    }

    /// The server's current head, after checking the key it names against the pinned one and the head itself
    /// against the latest one verified.
    mutating func servedTreeHead() async throws -> SignedTreeHead {
        let served = try await api.logHead()
        if let pinned = state.logKey, pinned != served.logPublicKey {
            throw ClientError(
                "log-key-changed",
                "the server now signs its log with \(served.logPublicKey), not the key pinned at join (\(pinned))")
        }
        return try await accept(served.treeHead)
    }

    /// Replays the whole log and checks that it holds exactly this member's keys under its handle: every
    /// entry for the handle carries our key or one we rotated away from, and the handle is live with our
    /// current key now.
    public mutating func monitor() async throws -> MonitorReport {
        let head = try await servedTreeHead()
        let me = key.publicKey
        let mine = Set([me.base64URL] + (state.retiredKeys ?? []))
        var own = 0
        let directory = try await KeyLogChecks.replay(from: KeyDirectory(program: try programID), to: head, api: api) {
            index, entry in
            guard entry.handle.rawValue == state.handle else { return }
            own += 1
            guard mine.contains(entry.publicKey.base64URL) else {
                throw ClientError(
                    "log-foreign-key",
                    "entry \(index) of the log gives your handle \(state.handle) a key that is not yours "
                        + "(\(entry.publicKey.fingerprint); yours is \(me.fingerprint))")
            }
        }
        guard directory.live[state.handle] == me.base64URL else {
            let hint = (try? folder.loadNextKey()) != nil ? " (a key rotation is unfinished: run 'reciprocity key rotate')" : ""
            throw ClientError("log-missing-key", "the log does not hold your key as live under \(state.handle)\(hint)")
        }
        try folder.save(state)
        return MonitorReport(treeHead: head.text, entriesChecked: Int(head.size), ownEntries: own)
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
                "log-key-changed", "the server signs with \(served.logPublicKey), not the expected key \(pinnedText)")
        }
        let pinned = try LogPublicKey(base64URL: pinnedText)
        let previous = try state.map { try SignedTreeHead(text: $0.treeHead) }
        let head = try KeyLogChecks.decode(served.treeHead)
        let latest = try await KeyLogChecks.check(head, program: program, logKey: pinned, previous: previous, api: api)
        let start = state?.directory ?? KeyDirectory(program: programID)
        let directory = try await KeyLogChecks.replay(from: start, to: head, api: api)
        for line in gossip {
            let other: SignedTreeHead
            do {
                other = try SignedTreeHead(text: line)
            } catch {
                throw ClientError("log-invalid-head", "not a tree head line: \(line.prefix(80))")
            }
            guard other.program == programID, other.verify(with: pinned) else {
                throw ClientError("log-signature", "a gossiped head is not signed by the log key for \(program): \(line)")
            }
            try await KeyLogChecks.checkConsistent(head, other, api: api)
        }
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
