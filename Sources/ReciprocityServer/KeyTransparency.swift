import Foundation
public import ReciprocityCore
public import ReciprocityStore

#if canImport(Glibc)
import Glibc
#endif

/// The server's side of the key log (Specs/transparency.md): the Merkle tree of every program's log in
/// memory, caught up with the database on each use (admin commands append entries from another process),
/// and a signed tree head per program, re-signed when the log grows or the head is an hour old.
public actor KeyTransparency {
    let store: any ReciprocityStore
    public let signingKey: LogSigningKey
    /// Milliseconds after which an unchanged head is signed again, so clients can tell a fresh head from a
    /// replayed one.
    let refreshAfter: UInt64

    struct ProgramLog {
        var tree = MerkleLog()
        /// The last entry of each handle: the one a proof for its current key points at.
        var latest: [String: (index: Int, event: KeyLogEvent)] = [:]
        var head: SignedTreeHead?
    }

    private var logs: [Int64: ProgramLog] = [:]
    private static let batch = 10_000

    public init(store: any ReciprocityStore, signingKey: LogSigningKey, refreshAfter: Duration = .seconds(3600)) {
        self.store = store
        self.signingKey = signingKey
        self.refreshAfter = UInt64(refreshAfter.components.seconds) * 1000
    }

    /// The current signed head of `program`'s log.
    public func head(_ program: ProgramRecord) async throws -> SignedTreeHead {
        try await catchUp(program)
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        let log = logs[program.id]!
        if let head = log.head, head.size == log.tree.count, now < head.timestamp + refreshAfter { return head }
        let head = try signingKey.sign(
            program: program.name, size: UInt64(log.tree.count), root: log.tree.root(size: log.tree.count),
            timestamp: max(now, log.head?.timestamp ?? 0))
        logs[program.id]!.head = head
        return head
    }

    /// For each handle with an entry, the index and event of its last entry and that entry's inclusion proof
    /// in the returned head.
    public func inclusion(_ program: ProgramRecord, handles: [Handle]) async throws
        -> (SignedTreeHead, [Handle: (index: Int, event: KeyLogEvent, proof: [[UInt8]])])
    {
        let head = try await head(program)
        let log = logs[program.id]!
        var proofs: [Handle: (index: Int, event: KeyLogEvent, proof: [[UInt8]])] = [:]
        for handle in handles {
            guard let latest = log.latest[handle.rawValue], latest.index < Int(head.size) else { continue }
            proofs[handle] = (
                latest.index, latest.event, log.tree.inclusionProof(index: latest.index, size: Int(head.size))
            )
        }
        return (head, proofs)
    }

    /// `PROOF(from, D[to])`; nil unless `1 <= from <= to <= size`.
    public func consistency(_ program: ProgramRecord, from: Int, to: Int) async throws -> [[UInt8]]? {
        try await catchUp(program)
        let tree = logs[program.id]!.tree
        guard from >= 1, from <= to, to <= tree.count else { return nil }
        return tree.consistencyProof(oldSize: from, newSize: to)
    }

    /// Reads the entries appended since the last call. Entries already applied by a concurrent call are
    /// skipped, so the tree is only ever extended in order.
    private func catchUp(_ program: ProgramRecord) async throws {
        if logs[program.id] == nil { logs[program.id] = ProgramLog() }
        while true {
            let records = try await store.keyLog(
                programID: program.id, from: logs[program.id]!.tree.count, limit: Self.batch)
            for record in records where record.index == logs[program.id]!.tree.count {
                logs[program.id]!.tree.append(leafHash: record.entry.leafHash)
                logs[program.id]!.latest[record.entry.handle.rawValue] = (record.index, record.entry.event)
            }
            if records.count < Self.batch { return }
        }
    }
}

/// The log signing key on disk: one line, the 32-byte Ed25519 private key in base64url, mode 0600.
public enum LogKeyFile {
    /// Loads the key at `path`, creating it (mode 0600, never overwriting) when there is none.
    public static func loadOrCreate(path: String) throws -> (key: LogSigningKey, created: Bool) {
        if !FileManager.default.fileExists(atPath: path) {
            let key = try LogSigningKey()
            let line = Data((Base64URL.encode(key.rawRepresentation) + "\n").utf8)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw StoreError(.invalidArgument, "cannot create log key file '\(path)'") }
            defer { close(fd) }
            let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == line.count, fsync(fd) == 0 else {
                throw StoreError(.invalidArgument, "cannot write log key file '\(path)'")
            }
            return (key, true)
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let permissions = attributes[.posixPermissions] as? Int
        else { throw StoreError(.invalidArgument, "cannot read log key file '\(path)'") }
        guard permissions & 0o077 == 0 else {
            throw StoreError(
                .invalidArgument, "log key file '\(path)' is readable by others; run 'chmod 600 \(path)'")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let raw = try? Base64URL.decode(
                text.trimmingCharacters(in: .whitespacesAndNewlines), byteCount: 32, what: "log key"),
            let key = try? LogSigningKey(rawRepresentation: raw)
        else { throw StoreError(.invalidArgument, "log key file '\(path)' does not hold a log key") }
        return (key, false)
    }
}
