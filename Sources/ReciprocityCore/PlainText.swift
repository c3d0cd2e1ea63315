/// The rule for plain text that people write and others read (a program's description, a report's reason and
/// quoted messages): `ProgramAbout`'s, one rule in one place.
public enum PlainText {
    /// `text` with line breaks as `\n`, NFC-normalised and trimmed, if it fits `max` characters (and four UTF-8
    /// bytes each) and holds no control character but newline and tab, no invisible or bidi character, and no
    /// character with too many combining marks; else an `invalidText` error naming `field`, never the text.
    public static func validated(_ text: String, field: String, max: Int) throws -> String {
        try ProgramAbout.checked(text, field: field, max: max)
    }

    /// Why the rule refuses a character.
    public enum Refusal: Sendable {
        /// A control character other than tab, newline and carriage return (which `validated` makes a newline).
        case control
        /// A bidi control, or a character made only of default-ignorable code points (a zero-width space).
        case invisible
        /// More than `Profile.maxCombiningMarks` combining marks.
        case combiningMarks
    }

    /// Why the rule refuses `character`, and which of its scalars it refuses (so a client can escape just
    /// those), or nil when the character is fine. `validated` refuses a text holding any such character.
    public static func refusal(of character: Character) -> (reason: Refusal, scalars: [Unicode.Scalar])? {
        let scalars = Array(character.unicodeScalars)
        let controls = scalars.filter { $0.properties.generalCategory == .control && !["\t", "\n", "\r"].contains($0) }
        if !controls.isEmpty { return (.control, controls) }
        if scalars.allSatisfy(\.properties.isDefaultIgnorableCodePoint) { return (.invisible, scalars) }
        let bidi = scalars.filter(\.properties.isBidiControl)
        if !bidi.isEmpty { return (.invisible, bidi) }
        let marks = scalars.filter(Profile.isCombiningMark)
        if marks.count > Profile.maxCombiningMarks { return (.combiningMarks, marks) }
        return nil
    }
}
