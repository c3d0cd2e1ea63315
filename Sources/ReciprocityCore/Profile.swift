/// What a member shows in the program directory. Profiles are public within a program; they say nothing
/// about marks.
public struct Profile: Sendable, Hashable, Codable {
    public var displayName: String
    public var headline: String
    /// Skills or topics, e.g. `swift`, `c++`, `vdi`. Lowercase, 1 to 32 characters of `a-z 0-9 + # . _ -`.
    public var tags: [String]
    public var offersMentoring: Bool
    public var seeksMentoring: Bool

    public static let maxDisplayName = 100
    public static let maxHeadline = 280
    public static let maxTags = 20
    /// UTF-8 bytes a field may take: four per character on average, so any script fits, but a character
    /// cannot carry hundreds of combining marks.
    public static let bytesPerCharacter = 4
    /// Combining marks one character (grapheme cluster) may carry; real scripts need at most a few.
    public static let maxCombiningMarks = 4

    public init(
        displayName: String, headline: String = "", tags: [String] = [], offersMentoring: Bool = false,
        seeksMentoring: Bool = false
    ) {
        self.displayName = displayName
        self.headline = headline
        self.tags = tags
        self.offersMentoring = offersMentoring
        self.seeksMentoring = seeksMentoring
    }

    private enum CodingKeys: String, CodingKey {
        case displayName, headline, tags, offersMentoring, seeksMentoring
    }

    /// Only `displayName` is required; absent fields default to empty or false. A field that is present must
    /// have its type: `null` is refused, not read as "absent".
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func optional<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            container.contains(key) ? try container.decode(T.self, forKey: key) : fallback
        }
        displayName = try container.decode(String.self, forKey: .displayName)
        headline = try optional(.headline, "")
        tags = try optional(.tags, [])
        offersMentoring = try optional(.offersMentoring, false)
        seeksMentoring = try optional(.seeksMentoring, false)
    }

    /// Checks every field; the error names the field and the rule, never echoing the value.
    public func validated() throws -> Profile {
        let name = displayName.trimmingWhitespace
        guard (1...Self.maxDisplayName).contains(name.count),
            name.utf8.count <= Self.maxDisplayName * Self.bytesPerCharacter
        else {
            throw ReciprocityError(
                .invalidProfile,
                "displayName must be 1 to \(Self.maxDisplayName) characters and at most \(Self.maxDisplayName * Self.bytesPerCharacter) bytes"
            )
        }
        guard headline.count <= Self.maxHeadline, headline.utf8.count <= Self.maxHeadline * Self.bytesPerCharacter
        else {
            throw ReciprocityError(
                .invalidProfile,
                "headline must be at most \(Self.maxHeadline) characters and \(Self.maxHeadline * Self.bytesPerCharacter) bytes"
            )
        }
        guard Self.hasFewCombiningMarks(name + headline) else {
            throw ReciprocityError(
                .invalidProfile, "a character may carry at most \(Self.maxCombiningMarks) combining marks")
        }
        guard !(name + headline).unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ReciprocityError(.invalidProfile, "displayName and headline must not contain control characters")
        }
        guard Self.isVisible(name + headline) else {
            throw ReciprocityError(
                .invalidProfile,
                "displayName and headline must not contain invisible or text-direction characters (zero-width spaces, bidi controls)"
            )
        }
        guard tags.count <= Self.maxTags else {
            throw ReciprocityError(.invalidProfile, "at most \(Self.maxTags) tags")
        }
        guard tags.allSatisfy(Self.isValidTag) else {
            throw ReciprocityError(
                .invalidProfile, "tags must be 1 to 32 characters of a-z, 0-9, '+', '#', '.', '_', '-'")
        }
        guard Set(tags).count == tags.count else { throw ReciprocityError(.invalidProfile, "tags must not repeat") }
        var copy = self
        copy.displayName = name
        return copy
    }

    /// True when no character of `text` carries more than `maxCombiningMarks` combining marks.
    public static func hasFewCombiningMarks(_ text: some StringProtocol) -> Bool {
        text.allSatisfy { character in
            character.unicodeScalars.lazy.filter(isCombiningMark).count <= maxCombiningMarks
        }
    }

    /// False when `text` holds a bidi control (which can make a name read as another) or a character made only
    /// of default-ignorable code points (zero-width space, word joiner, BOM, soft hyphen...), which would make
    /// two different names look the same. Joiners and variation selectors inside a visible character (emoji
    /// sequences, scripts that need ZWJ or ZWNJ) are fine.
    public static func isVisible(_ text: some StringProtocol) -> Bool {
        text.allSatisfy { character in
            !character.unicodeScalars.contains(where: \.properties.isBidiControl)
                && !character.unicodeScalars.allSatisfy(\.properties.isDefaultIgnorableCodePoint)
        }
    }

    /// Unicode general categories Mn, Mc and Me.
    public static func isCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }

    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...32).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || Array("+#._-".utf8).contains(byte)
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
