import Foundation

/// The rule for plain text that people write and others read (a program's description, a report's reason and
/// quoted messages): `ProgramAbout`'s, one rule in one place.
public enum PlainText {
    /// `text` with line breaks as `\n`, NFC-normalised and trimmed, if it fits `max` characters (and four UTF-8
    /// bytes each) and holds no control character but newline and tab, no invisible or bidi character, and no
    /// character with too many combining marks; else an `invalidText` error naming `field`, never the text.
    public static func validated(_ text: String, field: String, max: Int) throws -> String {
        try ProgramAbout.checked(text, field: field, max: max)
    }

    /// `text` NFC-normalised, with each scalar the rule refuses (`refusal(of:)`) written as a JSON `\uXXXX` escape
    /// (its UTF-16 units): what a report's quoted message becomes on the server, so the other member cannot make
    /// their messages unreportable. Inside a payload's JSON strings, where such scalars occur (a control outside
    /// one is not JSON), it is the same JSON value. Each refused scalar takes 6 characters per UTF-16 unit, at
    /// least 1 UTF-8 byte (a DEL): the result is at most 6 characters per byte of `text`.
    public static func escapingRefused(_ text: String) -> String {
        var out = ""
        for character in text.precomposedStringWithCanonicalMapping {
            let refused = refusal(of: character)?.scalars ?? []
            for scalar in character.unicodeScalars {
                guard refused.contains(scalar) else {
                    out.unicodeScalars.append(scalar)
                    continue
                }
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
        }
        return out
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
