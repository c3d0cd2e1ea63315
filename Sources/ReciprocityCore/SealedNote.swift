public import Foundation

/// A short note sealed to the counterpart of a mark, readable only after a match and never by the server.
/// Wire layout: `nonce (12) || ChaCha20-Poly1305(key, nonce, padded note, aad = token) (512 + 16)`, 540 bytes.
/// Every note pads to the same size and a dummy mark carries 540 random bytes, so neither a note's length nor
/// its presence says anything.
public struct SealedNote: Sendable, Hashable, CustomStringConvertible {
    /// Bytes of padded plaintext: a 2-byte big-endian length, the note's UTF-8, zeros.
    public static let paddedLength = 512
    /// The longest note, in UTF-8 bytes.
    public static let maxNoteBytes = paddedLength - 2
    public static let byteCount = ChaChaPoly.nonceLength + paddedLength + ChaChaPoly.tagLength

    public let bytes: [UInt8]

    public init(rawRepresentation: some ContiguousBytesView) throws {
        let bytes = rawRepresentation.withBytes { [UInt8]($0) }
        guard bytes.count == Self.byteCount else {
            throw ReciprocityError(.invalidLength, "a sealed note is \(Self.byteCount) bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Decodes the wire form: 720 characters of unpadded base64url.
    public init(base64URL: String) throws {
        try self.init(rawRepresentation: Base64URL.decode(base64URL, byteCount: Self.byteCount, what: "note"))
    }

    public var rawRepresentation: Data { Data(bytes) }
    public var base64URL: String { Base64URL.encode(bytes) }
    public var description: String { "SealedNote(<\(bytes.count) bytes>)" }

    /// 540 random bytes: what a dummy mark, or a mark without a note, would look like to the server.
    public static func dummy() throws -> SealedNote {
        try SealedNote(rawRepresentation: SecureBytes.random(count: byteCount))
    }

    /// `BE16(len) || utf8 || zeros` to 512 bytes.
    package static func pad(_ note: String) throws -> [UInt8] {
        let text = Array(note.utf8)
        guard text.count <= maxNoteBytes else {
            throw ReciprocityError(.noteTooLong, "a note is at most \(maxNoteBytes) bytes of UTF-8, got \(text.count)")
        }
        return [UInt8(text.count >> 8), UInt8(text.count & 0xff)] + text
            + [UInt8](repeating: 0, count: paddedLength - 2 - text.count)
    }

    /// The inverse of `pad`, refusing a length over the maximum, a non-zero padding byte or invalid UTF-8.
    package static func unpad(_ padded: [UInt8]) throws -> String {
        guard padded.count == paddedLength else { throw ReciprocityError(.invalidNotePadding, "wrong padded size") }
        let length = Int(padded[0]) << 8 | Int(padded[1])
        guard length <= maxNoteBytes else { throw ReciprocityError(.invalidNotePadding, "note length out of range") }
        guard padded[(2 + length)...].allSatisfy({ $0 == 0 }) else {
            throw ReciprocityError(.invalidNotePadding, "padding bytes are not zero")
        }
        guard let text = String(validating: padded[2..<(2 + length)], as: UTF8.self) else {
            throw ReciprocityError(.invalidNotePadding, "the note is not valid UTF-8")
        }
        return text
    }

    package static func seal(_ note: String, key: [UInt8], nonce: [UInt8], token: [UInt8]) throws -> SealedNote {
        let sealed = try ChaChaPoly.seal(key: key, nonce: nonce, plaintext: pad(note), associatedData: token)
        return try SealedNote(rawRepresentation: nonce + sealed)
    }

    func open(key: [UInt8], token: [UInt8]) throws -> String {
        try Self.unpad(openPadded(key: key, token: token))
    }

    /// The padded plaintext, before `unpad` (the test vectors publish it).
    package func openPadded(key: [UInt8], token: [UInt8]) throws -> [UInt8] {
        try ChaChaPoly.open(
            key: key, nonce: Array(bytes.prefix(ChaChaPoly.nonceLength)),
            sealed: Array(bytes.dropFirst(ChaChaPoly.nonceLength)), associatedData: token)
    }
}
