import Foundation

/// Unpadded base64url (RFC 4648 section 5), the wire encoding of every 32-byte value. Decoding is strict: one
/// canonical string per byte string, so two encodings can never name the same token.
///
/// Both directions work on bytes with a lookup table: every mark a request carries decodes a 720-character note,
/// and going through Foundation's padded base64 and a character-by-character `String` once took a seventh of the
/// server's CPU under load.
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The value of each byte as a base64url character, or `invalid`.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()
    static let invalid: UInt8 = 0xFF

    public static func encode(_ bytes: some ContiguousBytesView) -> String {
        let alphabet = alphabet  // one lazy-global check, not one per character
        return bytes.withBytes { input in
            String(unsafeUninitializedCapacity: (input.count * 4 + 2) / 3) { output in
                var written = 0
                var index = 0
                while index < input.count {
                    // Up to three bytes make up to four characters; a short final group makes two or three.
                    let available = min(3, input.count - index)
                    var group = UInt32(input[index]) << 16
                    if available > 1 { group |= UInt32(input[index + 1]) << 8 }
                    if available > 2 { group |= UInt32(input[index + 2]) }
                    for position in 0...available {
                        output[written] = alphabet[Int(group >> UInt32(18 - 6 * position) & 63)]
                        written += 1
                    }
                    index += available
                }
                return written
            }
        }
    }

    /// Decodes `string`, requiring exactly `byteCount` bytes, the base64url alphabet, no padding, and zero
    /// unused trailing bits. `what` names the value in the error ("token", "tag", ...); the input itself is never
    /// repeated in an error.
    public static func decode(_ string: String, byteCount: Int, what: String) throws -> [UInt8] {
        let expectedLength = (byteCount * 4 + 2) / 3
        guard string.utf8.count == expectedLength else {
            throw ReciprocityError(
                .invalidEncoding,
                "\(what) must be \(expectedLength) characters of unpadded base64url (\(byteCount) bytes)")
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(byteCount)
        // Only the low bits matter: each byte is taken out as soon as 8 bits are there, so at most 14 are pending.
        var pending: UInt32 = 0
        var pendingBits: UInt32 = 0
        let values = values
        for character in string.utf8 {
            let value = values[Int(character)]
            guard value != invalid else {
                throw ReciprocityError(.invalidEncoding, "\(what) has a character outside the base64url alphabet")
            }
            pending = pending << 6 | UInt32(value)
            pendingBits += 6
            if pendingBits >= 8 {
                pendingBits -= 8
                bytes.append(UInt8(truncatingIfNeeded: pending >> pendingBits))
            }
        }
        // The 2 or 4 bits left over must be zero: otherwise a second spelling of the same bytes.
        guard pending & ((1 << pendingBits) - 1) == 0 else {
            throw ReciprocityError(.invalidEncoding, "\(what) is not canonical base64url (unused bits must be zero)")
        }
        return bytes
    }
}
