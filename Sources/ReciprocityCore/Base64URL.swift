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
        var string = string
        guard string.utf8.count == expectedLength else {
            throw ReciprocityError(
                .invalidEncoding,
                "\(what) must be \(expectedLength) characters of unpadded base64url (\(byteCount) bytes)")
        }
        // A native string lends its UTF-8 in place.
        switch string.withUTF8({ decode($0, byteCount: byteCount) }) {
        case .success(let bytes):
            return bytes
        case .failure(.alphabet):
            throw ReciprocityError(.invalidEncoding, "\(what) has a character outside the base64url alphabet")
        case .failure(.canonical):
            throw ReciprocityError(.invalidEncoding, "\(what) is not canonical base64url (unused bits must be zero)")
        }
    }

    enum DecodingFailure: Error {
        /// A character outside the alphabet.
        case alphabet
        /// Unused trailing bits that are not zero: a second spelling of the same bytes.
        case canonical
    }

    /// Four characters at a time into three bytes; `input` is `(byteCount * 4 + 2) / 3` characters long.
    static func decode(_ input: UnsafeBufferPointer<UInt8>, byteCount: Int) -> Result<[UInt8], DecodingFailure> {
        precondition(input.count == (byteCount * 4 + 2) / 3, "the caller checks the length")
        return values.withUnsafeBufferPointer { table in
            // Valid values are below 64 and `invalid` has the top bit set: one test at the end finds any.
            var seen: UInt8 = 0
            var leftover: UInt8 = 0
            let bytes = [UInt8](unsafeUninitializedCapacity: byteCount) { output, count in
                var index = 0
                var written = 0
                while index + 4 <= input.count {
                    let a = table[Int(input[index])]
                    let b = table[Int(input[index + 1])]
                    let c = table[Int(input[index + 2])]
                    let d = table[Int(input[index + 3])]
                    seen |= a | b | c | d
                    output[written] = a << 2 | b >> 4
                    output[written + 1] = b << 4 | c >> 2
                    output[written + 2] = c << 6 | d
                    index += 4
                    written += 3
                }
                // A final group of two characters makes one byte (4 bits unused), of three two bytes (2 unused).
                let rest = input.count - index
                if rest >= 2 {
                    let a = table[Int(input[index])]
                    let b = table[Int(input[index + 1])]
                    seen |= a | b
                    output[written] = a << 2 | b >> 4
                    written += 1
                    if rest == 3 {
                        let c = table[Int(input[index + 2])]
                        seen |= c
                        output[written] = b << 4 | c >> 2
                        written += 1
                        leftover = c & 0b11
                    } else {
                        leftover = b & 0b1111
                    }
                }
                count = written
            }
            if seen & 0x80 != 0 { return .failure(.alphabet) }
            if leftover != 0 { return .failure(.canonical) }
            return .success(bytes)
        }
    }
}
