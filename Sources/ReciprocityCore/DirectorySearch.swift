import Foundation

/// The one rule for searching a program's directory by text, used by every client on its local replica (and
/// by the server's old search column): case, width and diacritics folded, combining marks dropped, and a
/// query matches when its folded text is a substring of the handle or of the folded display name or headline.
public enum DirectorySearch {
    /// Case, width and diacritics folded, combining marks dropped, at most 1,024 bytes. Queries are folded
    /// the same way.
    public static func text(_ parts: String...) -> String {
        let joined = parts.joined(separator: "\n")
        // ASCII folds to its lower case and nothing else: the same result, without Foundation's folding, which
        // is most of a search's time over a replica of thousands of profiles.
        if joined.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(
                decoding: joined.utf8.prefix(1024).map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        return foldedWithFoundation(joined)
    }

    static func foldedWithFoundation(_ joined: String) -> String {
        let folded = joined.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var scalars = String.UnicodeScalarView()
        var bytes = 0
        for scalar in folded.unicodeScalars where !Profile.isCombiningMark(scalar) {
            bytes += String(scalar).utf8.count
            guard bytes <= 1024 else { break }
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// Whether a member matches `query`; an empty query (after folding) matches everyone. The handle is
    /// compared as it is (handles are lowercase ASCII already), the rest folded as `text`.
    public static func matches(_ query: String, handle: String, profile: Profile) -> Bool {
        matcher(query)(handle, profile)
    }

    /// `matches` for one query over many members: the query is folded once.
    public static func matcher(_ query: String) -> @Sendable (_ handle: String, _ profile: Profile) -> Bool {
        let folded = Array(text(query).utf8)
        guard !folded.isEmpty else { return { _, _ in true } }
        // Byte substrings, as the server's `instr` compared them: no grapheme or canonical-equivalence rules.
        return { handle, profile in
            handle.utf8.firstRange(of: folded) != nil
                || text(profile.displayName, profile.headline).utf8.firstRange(of: folded) != nil
        }
    }
}
