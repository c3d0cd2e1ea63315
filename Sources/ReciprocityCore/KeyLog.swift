import Foundation

/// What a key-log entry records about a handle (Specs/transparency.md).
public enum KeyLogEvent: String, Sendable, Codable, CaseIterable {
    /// The handle becomes live with this key: a member joins, or a suspended member is reinstated.
    case join
    /// A live handle replaces its key with this one.
    case rotate
    /// The handle stops being live; the entry carries the key it had.
    case leave

    /// The byte in the leaf.
    public var code: UInt8 {
        switch self {
        case .join: 1
        case .rotate: 2
        case .leave: 3
        }
    }
}

/// One directory change, as a leaf of the program's key log:
///
///     leaf = LP("reciprocity-key-log/v1") || LP(program) || event (1 byte) || LP(handle) || key (32 bytes)
///
/// with `LP` the 2-byte big-endian length prefix of Specs/protocol.md, and its Merkle leaf hash
/// `SHA-256(0x00 || leaf)` (RFC 9162).
public struct KeyLogEntry: Sendable, Hashable {
    public let program: ProgramID
    public let event: KeyLogEvent
    public let handle: Handle
    public let publicKey: PublicKey

    static let label = "reciprocity-key-log/v1"

    public init(program: ProgramID, event: KeyLogEvent, handle: Handle, publicKey: PublicKey) {
        self.program = program
        self.event = event
        self.handle = handle
        self.publicKey = publicKey
    }

    public var leaf: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + program.rawValue.utf8.count + handle.rawValue.utf8.count)
        KeySchedule.appendField(Self.label.utf8, to: &out)
        KeySchedule.appendField(program.rawValue.utf8, to: &out)
        out.append(event.code)
        KeySchedule.appendField(handle.rawValue.utf8, to: &out)
        out += publicKey.bytes
        return out
    }

    public var leafHash: [UInt8] { MerkleTree.leafHash(leaf) }
}

/// The directory a key log describes, rebuilt by replaying it entry by entry: which key each handle has
/// live, and the Merkle frontier of the entries seen so far. Replaying refuses any entry that would give a
/// handle two live keys, make one key live under two handles, or retire a key that is not live, so a log
/// that replays cleanly never served two keys for one handle at the same time.
public struct KeyDirectory: Sendable, Codable, Equatable {
    public let program: ProgramID
    /// Live handles and their keys (base64url).
    public private(set) var live: [String: String] = [:]
    /// The same map the other way round: live keys and their handles. Derived from `live`, never stored.
    private var owners: [String: String] = [:]
    public private(set) var frontier = MerkleFrontier()

    public init(program: ProgramID) { self.program = program }

    private enum CodingKeys: String, CodingKey { case program, live, frontier }

    /// Rebuilds the key-to-handle map from `live`, refusing a state in which one key is live for two handles.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        program = try container.decode(ProgramID.self, forKey: .program)
        live = try container.decode([String: String].self, forKey: .live)
        frontier = try container.decode(MerkleFrontier.self, forKey: .frontier)
        owners = try Dictionary(live.map { ($0.value, $0.key) }) { _, _ in
            throw ReciprocityError(.invalidLogEntry, "a saved directory has one key live for two handles")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(program, forKey: .program)
        try container.encode(live, forKey: .live)
        try container.encode(frontier, forKey: .frontier)
    }

    public var size: Int { frontier.size }
    public var root: [UInt8] { frontier.root }

    /// Applies the next entry of the log (index `size`).
    public mutating func apply(_ entry: KeyLogEntry) throws {
        let index = size
        func refuse(_ reason: String) -> ReciprocityError {
            ReciprocityError(.invalidLogEntry, "entry \(index): \(reason)")
        }
        guard entry.program == program else { throw refuse("belongs to program '\(entry.program)'") }
        let handle = entry.handle.rawValue
        let key = entry.publicKey.base64URL
        let current = live[handle]
        if entry.event != .leave, let owner = owners[key], owner != handle {
            throw refuse("key \(entry.publicKey.fingerprint) of '\(handle)' is already live for '\(owner)'")
        }
        switch entry.event {
        case .join:
            guard current == nil else { throw refuse("'\(handle)' joins while it already has a live key") }
            live[handle] = key
            owners[key] = handle
        case .rotate:
            guard let current else { throw refuse("'\(handle)' rotates its key but is not live") }
            guard current != key else { throw refuse("'\(handle)' rotates to the key it already has") }
            live[handle] = key
            owners[current] = nil
            owners[key] = handle
        case .leave:
            guard current == key else { throw refuse("'\(handle)' leaves with a key that is not its live key") }
            live[handle] = nil
            owners[key] = nil
        }
        frontier.append(leafHash: entry.leafHash)
    }
}
