import ReciprocityCore

/// Strict base64url: whatever decodes must re-encode to exactly the input (one spelling per value), and
/// the typed wire values must agree with the raw decoder.
func fuzzOne(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    if let decoded = try? Base64URL.decode(text, byteCount: 32, what: "value") {
        precondition(decoded.count == 32)
        precondition(Base64URL.encode(decoded) == text, "a second spelling was accepted")
        precondition((try? InterestToken(base64URL: text))?.bytes == decoded)
    } else {
        precondition((try? InterestToken(base64URL: text)) == nil)
    }
    if let key = try? PublicKey(base64URL: text) {
        precondition(key.base64URL == text)
    }
    if let note = try? SealedNote(base64URL: text) {
        precondition(note.bytes.count == SealedNote.byteCount && note.base64URL == text)
    }
}
