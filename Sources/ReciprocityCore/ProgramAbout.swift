public import Foundation

/// What a program tells the members it invites: a short description and its code of conduct, set by the
/// operator. Plain text (clients show it as text, never as markup); either may be empty (not set). Public to
/// every member of the program, and shown to a new member in the join answer.
public struct ProgramAbout: Sendable, Hashable, Codable {
    public var description: String
    public var conduct: String

    public static let maxDescription = 1_000
    public static let maxConduct = 4_000

    public init(description: String = "", conduct: String = "") {
        self.description = description
        self.conduct = conduct
    }

    private enum CodingKeys: String, CodingKey { case description, conduct }

    /// Absent fields are empty; a field that is present must be a string (`null` is refused).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        description = container.contains(.description) ? try container.decode(String.self, forKey: .description) : ""
        conduct = container.contains(.conduct) ? try container.decode(String.self, forKey: .conduct) : ""
    }

    /// The one rule for both texts, which every store applies before writing them: line breaks become `\n`,
    /// the text is NFC-normalised and trimmed, and then must fit its bound (in characters, and four UTF-8 bytes
    /// per character), hold no control character but newline and tab, no bidi control or invisible-only
    /// character, and no character with more than `Profile.maxCombiningMarks` combining marks. The error names
    /// the field and the rule, never echoing the text.
    public func validated() throws -> ProgramAbout {
        ProgramAbout(
            description: try Self.checked(description, field: "description", max: Self.maxDescription),
            conduct: try Self.checked(conduct, field: "conduct", max: Self.maxConduct))
    }

    static func checked(_ text: String, field: String, max: Int) throws -> String {
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .precomposedStringWithCanonicalMapping.trimmingWhitespace
        guard normalised.count <= max, normalised.utf8.count <= max * Profile.bytesPerCharacter else {
            throw ReciprocityError(
                .invalidText,
                "\(field) must be at most \(max) characters and \(max * Profile.bytesPerCharacter) bytes")
        }
        switch normalised.lazy.compactMap(PlainText.refusal).first?.reason {
        case .control?:
            throw ReciprocityError(
                .invalidText, "\(field) must not contain control characters other than newline and tab")
        case .invisible?:
            throw ReciprocityError(
                .invalidText,
                "\(field) must not contain invisible or text-direction characters (zero-width spaces, bidi controls)")
        case .combiningMarks?:
            throw ReciprocityError(
                .invalidText, "in \(field), a character may carry at most \(Profile.maxCombiningMarks) combining marks")
        case nil: break
        }
        return normalised
    }
}
