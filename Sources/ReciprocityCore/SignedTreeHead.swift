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
        let message = SignedTreeHead.signedMessage(program: program, size: size, root: root, timestamp: timestamp)
        return try SignedTreeHead(
            program: program, size: size, root: root, timestamp: timestamp,
            signature: Ed25519.sign(message, with: key))
    }

    /// The signature over these fields as given, without the bounds a ``SignedTreeHead`` enforces: the test vectors
    /// need correctly signed lines that a verifier must still refuse (a size of 2^63).
    package func signature(program: ProgramID, size: UInt64, root: [UInt8], timestamp: UInt64) throws -> [UInt8] {
        try Ed25519.sign(
            SignedTreeHead.signedMessage(program: program, size: size, root: root, timestamp: timestamp), with: key)
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
/// (milliseconds since 1970). Its one-line text form is what auditors gossip (Specs/transparency.md section 3):
/// `reciprocity-sth/v1 <program> <size> <root> <timestamp> <signature>` (root and signature base64url), with
/// exactly one spelling per head.
public struct SignedTreeHead: Sendable, Hashable {
    public let program: ProgramID
    /// At most ``maxSize``, so it always converts to `Int`.
    public let size: UInt64
    public let root: [UInt8]
    public let timestamp: UInt64
    public let signature: [UInt8]

    /// The largest size a head may state, 2^63 - 1: a log never gets near it, and a bigger value from a server
    /// is an error rather than a trap where the size becomes an `Int`.
    public static let maxSize = UInt64(Int64.max)

    static let label = "reciprocity-sth/v1"

    /// `LP("reciprocity-sth/v1") || LP(program) || BE64(size) || root (32) || BE64(timestamp)`.
    static func signedMessage(program: ProgramID, size: UInt64, root: [UInt8], timestamp: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        KeySchedule.appendField(Self.label.utf8, to: &out)
        KeySchedule.appendField(program.rawValue.utf8, to: &out)
        out += withUnsafeBytes(of: size.bigEndian) { Array($0) }
        out += root
        out += withUnsafeBytes(of: timestamp.bigEndian) { Array($0) }
        return out
    }

    var signedMessage: [UInt8] {
        Self.signedMessage(program: program, size: size, root: root, timestamp: timestamp)
    }

    /// True when the signature is the log key's over exactly these fields.
    public func verify(with key: LogPublicKey) -> Bool {
        Ed25519.verify(signature, of: signedMessage, with: key.key)
    }

    /// Refuses a head that is older than `maxAge` or dated more than `maxFutureSkew` after `now`
    /// (Specs/transparency.md section 5). Without the second bound a server holding the log key could sign a head
    /// dated far ahead and have it pass as fresh until then. Times compare in whole milliseconds; a head exactly
    /// `maxAge` old or exactly `maxFutureSkew` ahead passes.
    public func checkTime(now: Date, maxAge: TimeInterval = 24 * 3600, maxFutureSkew: TimeInterval = 300) throws {
        let nowMilliseconds = (now.timeIntervalSince1970 * 1000).rounded()
        let headMilliseconds = Double(timestamp)
        if headMilliseconds - nowMilliseconds > maxFutureSkew * 1000 {
            throw ReciprocityError(
                .futureHead,
                "the tree head is dated \(Self.seconds(headMilliseconds - nowMilliseconds)) s ahead of this clock "
                    + "(at most \(Int(maxFutureSkew)) s allowed)")
        }
        if nowMilliseconds - headMilliseconds > maxAge * 1000 {
            throw ReciprocityError(
                .staleHead,
                "the tree head is \(Self.seconds(nowMilliseconds - headMilliseconds)) s old (at most \(Int(maxAge)) s allowed)"
            )
        }
    }

    private static func seconds(_ milliseconds: Double) -> String {
        milliseconds < 1e15 ? String(Int64(milliseconds / 1000)) : "more than 10^12"
    }

    /// The one-line form, the only spelling `init(text:)` accepts.
    public var text: String {
        [
            Self.label, program.rawValue, String(size), Base64URL.encode(root), String(timestamp),
            Base64URL.encode(signature),
        ].joined(separator: " ")
    }

    /// A head from its fields. Throws `invalidEncoding` for a size above ``maxSize`` and `invalidLength` for a
    /// root that is not 32 bytes or a signature that is not 64.
    public init(program: ProgramID, size: UInt64, root: [UInt8], timestamp: UInt64, signature: [UInt8]) throws {
        guard size <= Self.maxSize else {
            throw ReciprocityError(.invalidEncoding, "a tree size is at most 2^63 - 1")
        }
        guard root.count == MerkleTree.hashLength else {
            throw ReciprocityError(.invalidLength, "a tree root is \(MerkleTree.hashLength) bytes, got \(root.count)")
        }
        guard signature.count == Ed25519.signatureLength else {
            throw ReciprocityError(
                .invalidLength, "a tree head signature is \(Ed25519.signatureLength) bytes, got \(signature.count)")
        }
        self.program = program
        self.size = size
        self.root = root
        self.timestamp = timestamp
        self.signature = signature
    }

    /// Parses the one-line form under the strict grammar of Specs/transparency.md section 3: six fields separated
    /// by single spaces, nothing before or after; size and timestamp in decimal without sign or leading zero
    /// (size at most 2^63 - 1, timestamp at most 2^64 - 1); root and signature canonical unpadded base64url.
    /// Fields are checked left to right and the first defect is reported: `invalidProgram` for the program,
    /// `invalidEncoding` for anything else. The signature is not checked here; call `verify`.
    public init(text: String) throws {
        func malformed(_ reason: String) -> ReciprocityError { ReciprocityError(.invalidEncoding, reason) }
        let fields = Array(text.utf8).split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0].elementsEqual(Self.label.utf8) else {
            throw malformed("not a reciprocity-sth/v1 line of six fields separated by single spaces")
        }
        func string(_ field: ArraySlice<UInt8>) -> String { String(decoding: field, as: UTF8.self) }
        let program = try ProgramID(string(fields[1]))
        guard let size = Self.decimal(fields[2]), size <= Self.maxSize else {
            throw malformed("the size is not a decimal number from 0 to 2^63 - 1 without sign or leading zero")
        }
        let root = try Base64URL.decode(string(fields[3]), byteCount: MerkleTree.hashLength, what: "root")
        guard let timestamp = Self.decimal(fields[4]) else {
            throw malformed("the timestamp is not a decimal number from 0 to 2^64 - 1 without sign or leading zero")
        }
        let signature = try Base64URL.decode(string(fields[5]), byteCount: Ed25519.signatureLength, what: "signature")
        try self.init(program: program, size: size, root: root, timestamp: timestamp, signature: signature)
    }

    /// `0` or a digit 1-9 followed by digits, fitting in 64 bits; nil for anything else.
    private static func decimal(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard let first = digits.first, first != UInt8(ascii: "0") || digits.count == 1 else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return value
    }
}
