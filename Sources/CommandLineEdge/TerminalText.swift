/// Text from the server or another member (notes, names, headlines, tags, handles, problem details) made safe
/// to print on a terminal: every control character (C0, DEL, C1: escape sequences that could set the window
/// title, move the cursor, fake a "match:" line or write the clipboard), every invisible format character
/// (bidirectional overrides and isolates, zero-width characters) and every line or paragraph separator is
/// shown as a visible `\u{...}` escape, newlines as `\n`. Everything else prints as it is.
public func terminalSafe(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            out += scalar == "\n" ? "\\n" : "\\u{\(String(scalar.value, radix: 16))}"
        default:
            if scalar == "\\" { out += "\\\\" } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out
}

/// Multi-line text (a program's description or code of conduct) made safe line by line: each line as
/// `terminalSafe` shows it, the lines still on lines of their own.
public func terminalSafeLines(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { terminalSafe(String($0)) }.joined(
        separator: "\n")
}
