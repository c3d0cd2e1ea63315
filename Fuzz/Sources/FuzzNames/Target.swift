import ReciprocityCore

/// Handles and program names: accepted exactly when they match [a-z0-9][a-z0-9._-]{2,63}, checked here
/// against an independent statement of the rule.
func fuzzOne(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let utf8 = Array(text.utf8)
    let lower = UInt8(ascii: "a")...UInt8(ascii: "z")
    let digit = UInt8(ascii: "0")...UInt8(ascii: "9")
    let expected =
        (3...64).contains(utf8.count)
        && (lower.contains(utf8[0]) || digit.contains(utf8[0]))
        && utf8.allSatisfy { lower.contains($0) || digit.contains($0) || "._-".utf8.contains($0) }
    precondition(((try? Handle(text)) != nil) == expected, "handle rule disagrees")
    precondition(((try? ProgramID(text)) != nil) == expected, "program rule disagrees")
    if let profile = try? Profile(displayName: text, tags: [text]).validated() {
        precondition(!profile.displayName.isEmpty && profile.tags.allSatisfy(Profile.isValidTag))
    }
}
