public import Foundation

/// The log operator's Ed25519 signing key for tree heads. Its bytes never appear in `description`.
public struct LogSigningKey: Sendable, CustomStringConvertible {
    let key: Ed25519.Key
    private let raw: [UInt8]
    public let publicKey: LogPublicKey

    public init() throws { try self.init(rawRepresentation: Ed25519.generatePrivateKey()) }

    public init(rawRepresentation: some ContiguousBytesView) throws {
        raw = rawRepresentation.withBytes { [UInt8]($0) }
        key = try Ed25519.Key(privateKey: raw)
        publicKey = try LogPublicKey(rawRepresentation: key.rawPublicKey())
    }

    public var rawRepresentation: Data { Data(raw) }
    public var description: String { "LogSigningKey(public: \(publicKey.base64URL), private: <redacted>)" }

    /// Signs `size`, `root` and `timestamp` for `program`.
    public func sign(program: ProgramID, size: UInt64, root: [UInt8], timestamp: UInt64) throws -> SignedTreeHead {
        let head = SignedTreeHead(program: program, size: size, root: root, timestamp: timestamp, signature: [])
        return SignedTreeHead(
            program: program, size: size, root: root, timestamp: timestamp,
            signature: try Ed25519.sign(head.signedMessage, with: key))
    }
}

/// The log's Ed25519 public key, pinned by clients when they join.
public struct LogPublicKey: Sendable, Hashable {
    package let bytes: [UInt8]
    let key: Ed25519.Key

    public init(rawRepresentation: some ContiguousBytesView) throws {
        bytes = rawRepresentation.withBytes { [UInt8]($0) }
        key = try Ed25519.Key(publicKey: bytes)
    }

    /// Decodes the key from its wire form, unpadded base64url.
    public init(base64URL: String) throws {
        try self.init(rawRepresentation: Base64URL.decode(base64URL, byteCount: Ed25519.keyLength, what: "log key"))
    }

    public var rawRepresentation: Data { Data(bytes) }
    public var base64URL: String { Base64URL.encode(bytes) }

    public static func == (lhs: LogPublicKey, rhs: LogPublicKey) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}

/// A signed statement that the log of `program` had `size` entries with Merkle root `root` at `timestamp`
/// (milliseconds since 1970). Its one-line text form is what auditors gossip:
/// `reciprocity-sth/v1 <program> <size> <root> <timestamp> <signature>` (root and signature base64url).
public struct SignedTreeHead: Sendable, Hashable {
    public let program: ProgramID
    public let size: UInt64
    public let root: [UInt8]
    public let timestamp: UInt64
    public let signature: [UInt8]

    static let label = "reciprocity-sth/v1"

    /// `LP("reciprocity-sth/v1") || LP(program) || BE64(size) || root (32) || BE64(timestamp)`.
    var signedMessage: [UInt8] {
        var out: [UInt8] = []
        KeySchedule.appendField(Self.label.utf8, to: &out)
        KeySchedule.appendField(program.rawValue.utf8, to: &out)
        out += withUnsafeBytes(of: size.bigEndian) { Array($0) }
        out += root
        out += withUnsafeBytes(of: timestamp.bigEndian) { Array($0) }
        return out
    }

    /// True when the signature is the log key's over exactly these fields.
    public func verify(with key: LogPublicKey) -> Bool {
        root.count == MerkleTree.hashLength && Ed25519.verify(signature, of: signedMessage, with: key.key)
    }

    public var text: String {
        [Self.label, program.rawValue, String(size), Base64URL.encode(root), String(timestamp),
         Base64URL.encode(signature)].joined(separator: " ")
    }

    public init(program: ProgramID, size: UInt64, root: [UInt8], timestamp: UInt64, signature: [UInt8]) {
        self.program = program
        self.size = size
        self.root = root
        self.timestamp = timestamp
        self.signature = signature
    }

    /// Parses the one-line form (the signature is not checked here; call `verify`).
    public init(text: String) throws {
        let fields = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 6, fields[0] == Self.label, let size = UInt64(fields[2]),
            let timestamp = UInt64(fields[4])
        else { throw ReciprocityError(.invalidEncoding, "not a reciprocity-sth/v1 line") }
        self.init(
            program: try ProgramID(fields[1]), size: size,
            root: try Base64URL.decode(fields[3], byteCount: MerkleTree.hashLength, what: "root"),
            timestamp: timestamp,
            signature: try Base64URL.decode(fields[5], byteCount: Ed25519.signatureLength, what: "signature"))
    }
}
