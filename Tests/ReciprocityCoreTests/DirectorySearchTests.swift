import ReciprocityCore
import Testing

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

    @Test func foldedTextIsBounded() {
        let long = String(repeating: "é", count: 2000)
        #expect(DirectorySearch.text(long).utf8.count == 1024)
        #expect(DirectorySearch.text("Ünï", "Côde") == "uni\ncode")
    }
}
