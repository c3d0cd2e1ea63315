import Foundation

/// Unpadded base64url (RFC 4648 section 5), the wire encoding of every 32-byte value. Decoding is strict: one
/// canonical string per byte string, so two encodings can never name the same token.
public enum Base64URL {
    public static func encode(_ bytes: some ContiguousBytesView) -> String {
        let standard = bytes.withBytes { Data($0).base64EncodedString() }
        var out = ""
        out.reserveCapacity(standard.count)
        for char in standard {
            switch char {
            case "+": out.append("-")
            case "/": out.append("_")
            case "=": continue
            default: out.append(char)
            }
        }
        return out
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
        var standard = ""
        standard.reserveCapacity(expectedLength + 2)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                standard.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "-"): standard.append("+")
            case UInt8(ascii: "_"): standard.append("/")
            default:
                throw ReciprocityError(.invalidEncoding, "\(what) has a character outside the base64url alphabet")
            }
        }
        standard.append(String(repeating: "=", count: (4 - expectedLength % 4) % 4))
        guard let data = Data(base64Encoded: standard), data.count == byteCount else {
            throw ReciprocityError(.invalidEncoding, "\(what) is not valid base64url")
        }
        let bytes = [UInt8](data)
        // Re-encoding rejects strings whose unused low bits are not zero (a second spelling of the same bytes).
        guard encode(bytes) == string else {
            throw ReciprocityError(.invalidEncoding, "\(what) is not canonical base64url (unused bits must be zero)")
        }
        return bytes
    }
}
