public import Foundation

/// A 32-byte value that travels to the server in place of a person: an ``InterestToken`` or a
/// ``ConfirmationTag``. Equality is constant time; `description` never shows the bytes.
public protocol BlindedValue: Sendable, Hashable, CustomStringConvertible {
    /// What the value is called in errors ("token", "tag").
    static var name: String { get }
    var bytes: [UInt8] { get }
    init(uncheckedBytes: [UInt8])
}

extension BlindedValue {
    public static var byteCount: Int { 32 }

    public init(rawRepresentation: some ContiguousBytesView) throws {
        let bytes = rawRepresentation.withBytes { [UInt8]($0) }
        guard bytes.count == Self.byteCount else {
            throw ReciprocityError(.invalidLength, "a \(Self.name) is \(Self.byteCount) bytes, got \(bytes.count)")
        }
        self.init(uncheckedBytes: bytes)
    }

    /// Decodes the wire form: 43 characters of canonical unpadded base64url.
    public init(base64URL: String) throws {
        self.init(uncheckedBytes: try Base64URL.decode(base64URL, byteCount: Self.byteCount, what: Self.name))
    }

    /// 32 bytes from OpenSSL's CSPRNG: the value a dummy mark carries.
    public static func random() throws -> Self {
        Self(uncheckedBytes: try SecureBytes.random(count: byteCount))
    }

    public var rawRepresentation: Data { Data(bytes) }
    public var base64URL: String { Base64URL.encode(bytes) }
    public var description: String { "\(Self.name)(<redacted>)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { SecureBytes.constantTimeEqual(lhs.bytes, rhs.bytes) }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}

/// The 32-byte value both parties of a pair derive for one relation, program and epoch. The server sees a
/// match when the same token arrives from two members.
public struct InterestToken: BlindedValue {
    public static let name = "token"
    public let bytes: [UInt8]
    public init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }
}

/// Proof, bound to one role, that the submitter knew the pairwise secret. After a match each side receives the
/// other's tag and checks it, so a server cannot fabricate a match.
public struct ConfirmationTag: BlindedValue {
    public static let name = "tag"
    public let bytes: [UInt8]
    public init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }
}

/// What a member submits for one mark: a token, its own role's confirmation tag, and a sealed note for the
/// counterpart.
public struct Mark: Sendable, Hashable {
    public let token: InterestToken
    public let tag: ConfirmationTag
    public let note: SealedNote?

    public init(token: InterestToken, tag: ConfirmationTag, note: SealedNote? = nil) {
        self.token = token
        self.tag = tag
        self.note = note
    }

    /// A dummy mark: random token, tag and note, indistinguishable on the wire from a real one.
    public static func dummy() throws -> Mark {
        try Mark(token: .random(), tag: .random(), note: .dummy())
    }
}
