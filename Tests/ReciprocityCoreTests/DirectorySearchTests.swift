import Testing

@testable import ReciprocityCore

/// The directory search rule every client applies to its replica (the server's former `q`): case, width and
/// diacritics folded, combining marks dropped, a byte substring of the handle, display name or headline.
struct DirectorySearchTests {
    @Test(arguments: [
        ("ngoc", true), ("ZOE", true), ("zoë", true), ("ánh", true), ("builds", true), ("ＢＵＩＬＤＳ", true),
        ("ada-", true), ("zoe\nbuilds", false), ("%", false), ("_", false), ("rust", false), ("", true), ("   ", false),
        ("\u{301}", true),
    ])
    func matchesAsTheServerDid(_ query: String, _ expected: Bool) {
        let profile = Profile(displayName: "Zoë Ngọc Ánh 👩🏽‍💻", headline: "Builds VDI", tags: ["rust"])
        #expect(DirectorySearch.matches(query, handle: "ada-lovelace", profile: profile) == expected, "\(query)")
    }

    /// The ASCII fast path folds exactly as Foundation does, on every printable character and control ones.
    @Test func asciiFoldsAsFoundationDoes() {
        var random = SplitMix64(seed: 23)
        for length in [0, 1, 5, 40, 300, 1100] {
            for _ in 0..<50 {
                let text = String(decoding: (0..<length).map { _ in UInt8(random.next() % 128) }, as: UTF8.self)
                #expect(DirectorySearch.text(text) == DirectorySearch.foldedWithFoundation(text), "\(Array(text.utf8))")
            }
        }
    }

    @Test func foldedTextIsBounded() {
        let long = String(repeating: "é", count: 2000)
        #expect(DirectorySearch.text(long).utf8.count == 1024)
        #expect(DirectorySearch.text("Ünï", "Côde") == "uni\ncode")
    }
}
