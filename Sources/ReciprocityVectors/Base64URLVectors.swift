import Foundation
import ReciprocityCore

// The base64url vectors (`base64url_test.json`, Specs/protocol.md):
// the test type, how this implementation checks it, and how the generator makes it.

public struct Base64URLVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    /// The number of bytes the value must decode to; absent in the first tests of the file, which are 32.
    public var byteCount: Int?
    public var encoded: String
    /// The decoded bytes in hex, for valid tests.
    public var decoded: String?
    public var result: String
    public var error: String?
}

/// Encodes and decodes vector files byte-for-byte reproducibly: sorted keys, two-space indentation via
/// `prettyPrinted`, no escaped slashes, a final newline.

extension Base64URLVector: CheckableVector {
    static let algorithm = "BASE64URL-32"

    func failure() -> String? {
        compare(
            result: result, expectedError: error,
            Result {
                let byteCount = byteCount ?? 32
                // Bounded so that a hostile vector file cannot make the expected length overflow.
                guard (0...1 << 20).contains(byteCount) else {
                    throw ReciprocityError(.malformedVectors, "byteCount out of range")
                }
                return [
                    field(
                        "decoded", decoded,
                        Hex.encode(try Base64URL.decode(encoded, byteCount: byteCount, what: "value")))
                ]
            })
    }
}

extension VectorGenerator {
    /// Valid and invalid spellings of `byteCount`-byte values, appended after the 32-byte tests.
    private static func otherLengthTests(byteCount: Int, flag: String) throws -> [Base64URLVector] {
        var sample: [UInt8] = []
        while sample.count < byteCount {
            sample += try SecureBytes.sha256(Array("reciprocity base64url sample \(byteCount) \(sample.count)".utf8))
        }
        sample = Array(sample.prefix(byteCount))
        let sampleText = Base64URL.encode(sample)
        func valid(_ comment: String, _ bytes: [UInt8]) -> Base64URLVector {
            Base64URLVector(
                comment: comment, flags: [flag, "Valid"], byteCount: byteCount,
                encoded: Base64URL.encode(bytes), decoded: Hex.encode(bytes), result: "valid")
        }
        func invalid(_ comment: String, _ flags: [String], _ encoded: String) -> Base64URLVector {
            Base64URLVector(
                comment: comment, flags: [flag] + flags, byteCount: byteCount, encoded: encoded,
                result: "invalid", error: ReciprocityError.Code.invalidEncoding.rawValue)
        }
        let zeros = Base64URL.encode([UInt8](repeating: 0, count: byteCount))
        let padding = String(repeating: "=", count: (3 - byteCount % 3) % 3)
        var tests = [
            valid("\(byteCount) zero bytes", [UInt8](repeating: 0, count: byteCount)),
            valid("\(byteCount) 0xff bytes (uses '_')", [UInt8](repeating: 0xff, count: byteCount)),
            valid("\(byteCount) 0xfb bytes (uses '-')", [UInt8](repeating: 0xfb, count: byteCount)),
            valid("a sample of \(byteCount) bytes", sample),
            invalid("one character short", ["WrongLength"], String(sampleText.dropLast())),
            invalid("one character long", ["WrongLength"], sampleText + "A"),
            invalid("\(byteCount - 1) bytes encoded", ["WrongLength"], Base64URL.encode(sample.dropLast())),
            invalid("\(byteCount + 1) bytes encoded", ["WrongLength"], Base64URL.encode(sample + [7])),
            invalid("a 32-byte value", ["WrongLength"], Base64URL.encode(sample.prefix(32))),
            invalid("standard base64 '+'", ["BadAlphabet"], "+" + sampleText.dropFirst()),
            invalid("standard base64 '/'", ["BadAlphabet"], "/" + sampleText.dropFirst()),
            invalid("'=' in place of the last character", ["BadAlphabet"], String(sampleText.dropLast()) + "="),
        ]
        if padding.isEmpty {
            tests.append(
                invalid("'=' appended (no padding is ever needed for 540 bytes)", ["Padding"], sampleText + "="))
        } else {
            tests.append(invalid("padded with '\(padding)'", ["Padding"], sampleText + padding))
            tests.append(
                invalid(
                    "unused low bits set: 'B' ends \(byteCount) zero bytes", ["NonCanonical"],
                    String(zeros.dropLast()) + "B"))
            tests.append(
                invalid(
                    "unused low bits set: 'P' ends \(byteCount) zero bytes", ["NonCanonical"],
                    String(zeros.dropLast()) + "P"))
        }
        return tests
    }

    static func base64URLFile() throws -> VectorFile<Base64URLVector> {
        func valid(_ comment: String, _ bytes: [UInt8]) -> Base64URLVector {
            Base64URLVector(
                comment: comment, flags: ["Valid"], encoded: Base64URL.encode(bytes),
                decoded: Hex.encode(bytes), result: "valid")
        }
        let sample = try SecureBytes.sha256(Array("reciprocity base64url sample".utf8))
        let sampleText = Base64URL.encode(sample)
        let zeros = Base64URL.encode([UInt8](repeating: 0, count: 32))
        func invalid(_ comment: String, _ flag: String, _ encoded: String) -> Base64URLVector {
            Base64URLVector(
                comment: comment, flags: [flag], encoded: encoded, result: "invalid",
                error: ReciprocityError.Code.invalidEncoding.rawValue)
        }
        let invalids = [
            invalid("padded with '='", "Padding", sampleText + "="),
            invalid("one character short", "WrongLength", String(sampleText.dropLast())),
            invalid("one character long", "WrongLength", sampleText + "A"),
            invalid("empty", "WrongLength", ""),
            invalid("standard base64 '+'", "BadAlphabet", "+" + sampleText.dropFirst()),
            invalid("standard base64 '/'", "BadAlphabet", "/" + sampleText.dropFirst()),
            invalid("a space", "BadAlphabet", " " + sampleText.dropFirst()),
            invalid("a non-ASCII character", "BadAlphabet", "\u{00E9}" + sampleText.dropFirst(2)),
            invalid("unused low bits set: 'B' ends 32 zero bytes", "NonCanonical", String(zeros.dropLast()) + "B"),
            invalid("unused low bits set: 'D'", "NonCanonical", String(zeros.dropLast()) + "D"),
            invalid(
                "33 bytes encoded (44 characters)", "WrongLength", Base64URL.encode([UInt8](repeating: 7, count: 33))),
        ]
        return VectorFile(
            algorithm: Base64URLVector.algorithm, schema: "base64url_test_schema.json",
            header: [
                "The wire form of binary values: unpadded base64url (RFC 4648 section 5), one spelling per value.",
                "byteCount is the length the value must decode to; tests without it are 32-byte values (43 characters).",
                "The lengths the protocol uses: 32 (keys, tokens, tags, roots), 64 (signatures), 540 (sealed notes).",
            ],
            notes: [
                "Valid": "A canonical encoding.",
                "Padding": "Padding is not allowed.",
                "WrongLength":
                    "Not ceil(4n/3) characters for the value's n bytes: 43 for 32 bytes, 86 for 64, 720 for 540.",
                "BadAlphabet": "A character outside A-Z a-z 0-9 '-' '_'.",
                "NonCanonical": "The unused low bits of the last character are not zero (2 for 32 bytes, 4 for 64).",
                "Signature": "A 64-byte value: 86 characters.",
                "SealedNote": "A 540-byte value: 720 characters, with no unused bits.",
            ],
            groups: [
                VectorGroup(
                    type: "Base64URLTest", comment: "valid",
                    tests: [
                        valid("32 zero bytes", [UInt8](repeating: 0, count: 32)),
                        valid("32 0xff bytes (uses '_')", [UInt8](repeating: 0xff, count: 32)),
                        valid("32 0xfb bytes (uses '-')", [UInt8](repeating: 0xfb, count: 32)),
                        valid("a hash", sample),
                    ]),
                VectorGroup(type: "Base64URLTest", comment: "invalid", tests: invalids),
                VectorGroup(
                    type: "Base64URLTest", comment: "64-byte values (tree head signatures)",
                    tests: try otherLengthTests(byteCount: 64, flag: "Signature")),
                VectorGroup(
                    type: "Base64URLTest", comment: "540-byte values (sealed notes)",
                    tests: try otherLengthTests(byteCount: 540, flag: "SealedNote")),
            ])
    }
}
