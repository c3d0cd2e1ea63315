import Foundation
import ReciprocityCore
import Testing

/// The table-driven codec against Foundation's base64 (with the base64url substitutions and no padding), on
/// every length up to 100 and random bytes, and its strictness on every one-character change of a valid string.
struct Base64URLTests {
    static func foundationBase64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test func agreesWithFoundationAndRoundTrips() throws {
        for length in 0...100 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
                let text = Base64URL.encode(bytes)
                #expect(text == Self.foundationBase64URL(bytes))
                #expect(try Base64URL.decode(text, byteCount: length, what: "value") == bytes)
            }
        }
    }

    @Test func acceptsNoOtherSpelling() throws {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .é")
        for length in [1, 2, 3, 32, 33, 34] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
            let text = Array(Base64URL.encode(bytes))
            for position in text.indices {
                for replacement in alphabet where replacement != text[position] {
                    var changed = text
                    changed[position] = replacement
                    // A change either fails to decode or decodes to other bytes: never the same bytes twice.
                    if let decoded = try? Base64URL.decode(String(changed), byteCount: length, what: "value") {
                        #expect(decoded != bytes)
                        #expect(Base64URL.encode(decoded) == String(changed))
                    }
                }
            }
            #expect(throws: ReciprocityError.self) {
                try Base64URL.decode(String(text) + "A", byteCount: length, what: "value")
            }
            #expect(throws: ReciprocityError.self) {
                try Base64URL.decode(String(text.dropLast()), byteCount: length, what: "value")
            }
        }
    }
}
