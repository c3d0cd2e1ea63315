/// The rule for plain text that people write and others read (a program's description, a report's reason and
/// quoted messages): `ProgramAbout`'s, one rule in one place.
public enum PlainText {
    /// `text` with line breaks as `\n`, NFC-normalised and trimmed, if it fits `max` characters (and four UTF-8
    /// bytes each) and holds no control character but newline and tab, no invisible or bidi character, and no
    /// character with too many combining marks; else an `invalidText` error naming `field`, never the text.
    public static func validated(_ text: String, field: String, max: Int) throws -> String {
        try ProgramAbout.checked(text, field: field, max: max)
    }
}
