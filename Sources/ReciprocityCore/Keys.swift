public import Foundation

/// A member's long-term X25519 private key for one program. Its bytes never appear in `description`.
public struct PrivateKey: Sendable, CustomStringConvertible {
    let handle: X25519.PrivateKeyHandle
    private let raw: [UInt8]
    /// The matching public key, computed once.
    public let publicKey: PublicKey

    /// Generates a fresh key pair with OpenSSL's key generator.
    public init() throws {
        try self.init(validatedRaw: X25519.generatePrivateKey())
    }

    /// Loads a private key from its 32 raw bytes (RFC 7748 scalar encoding; clamping is done by X25519).
    public init(rawRepresentation: some ContiguousBytesView) throws {
        let bytes = rawRepresentation.withBytes { [UInt8]($0) }
        guard bytes.count == X25519.keyLength else {
            throw ReciprocityError(.invalidLength, "a private key is 32 bytes, got \(bytes.count)")
        }
        try self.init(validatedRaw: bytes)
    }

    private init(validatedRaw bytes: [UInt8]) throws {
        handle = try X25519.PrivateKeyHandle(rawPrivateKey: bytes)
        raw = bytes
        // The public key of any scalar is a generator multiple of large order, so it is always canonical and
        // never low order; validating it anyway keeps one code path for every PublicKey.
        publicKey = try PublicKey(rawRepresentation: handle.rawPublicKey())
    }

    /// The 32 raw private-key bytes, for storing the key on the member's device.
    public var rawRepresentation: Data { Data(raw) }

    public var description: String { "PrivateKey(public: \(publicKey.base64URL), private: <redacted>)" }
}

/// An X25519 public key that has passed validation: 32 bytes, the canonical encoding of a field element, and
/// not one of the points of small order that would force an all-zero shared secret.
public struct PublicKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    package let bytes: [UInt8]

    /// Validates and wraps 32 raw bytes (RFC 7748 section 5 encoding).
    public init(rawRepresentation: some ContiguousBytesView) throws {
        let bytes = rawRepresentation.withBytes { [UInt8]($0) }
        guard bytes.count == X25519.keyLength else {
            throw ReciprocityError(.invalidLength, "a public key is 32 bytes, got \(bytes.count)")
        }
        guard Self.isCanonical(bytes) else {
            throw ReciprocityError(
                .nonCanonicalPublicKey, "public key is not a canonical field element (top bit set or u >= 2^255-19)")
        }
        guard !Self.smallOrderPoints.contains(bytes) else {
            throw ReciprocityError(.lowOrderPublicKey, "public key is a point of small order")
        }
        self.bytes = bytes
    }

    /// Decodes a public key from its wire form, unpadded base64url.
    public init(base64URL: String) throws {
        try self.init(rawRepresentation: Base64URL.decode(base64URL, byteCount: X25519.keyLength, what: "public key"))
    }

    public var rawRepresentation: Data { Data(bytes) }
    public var base64URL: String { Base64URL.encode(bytes) }
    public var description: String { "PublicKey(\(base64URL))" }

    /// Orders keys by their bytes, first byte first, as unsigned integers (used to order peers).
    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// True when the little-endian 255-bit value is below p = 2^255 - 19 and bit 255 is clear.
    static func isCanonical(_ bytes: [UInt8]) -> Bool {
        if bytes[31] & 0x80 != 0 { return false }
        // u >= p only if bytes are ed ff ... ff 7f or above: bytes[31] == 0x7f, bytes[1...30] all 0xff, bytes[0] >= 0xed.
        if bytes[31] == 0x7f, bytes[1...30].allSatisfy({ $0 == 0xff }), bytes[0] >= 0xed { return false }
        return true
    }

    /// The canonical u-coordinates of every point of small order on Curve25519 and its twist: 0, 1, the two
    /// points of order 8, and p - 1. X25519 with any clamped scalar maps each of them to 0.
    static let smallOrderPoints: Set<[UInt8]> = [
        [UInt8](repeating: 0, count: 32),
        [1] + [UInt8](repeating: 0, count: 31),
        hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ]

    private static func hex(_ string: String) -> [UInt8] {
        // Only called on the literals above.
        try! Hex.decode(string)
    }
}

extension PublicKey {
    /// A short, human-comparable fingerprint for out-of-band checks: the first 16 bytes of
    /// SHA-256("reciprocity/v1 fingerprint" || key) as eight groups of four hex digits.
    public var fingerprint: String {
        let digest = try! SecureBytes.sha256(Array("reciprocity/v1 fingerprint".utf8) + bytes)
        let hex = Hex.encode(digest.prefix(16))
        return stride(from: 0, to: hex.count, by: 4).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return String(hex[start..<hex.index(start, offsetBy: 4)])
        }.joined(separator: " ")
    }
}
