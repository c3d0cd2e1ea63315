import Foundation
import Testing

/// `reciprocityd admin program health`: the organizer's figures from a real database, as text, CSV and JSON,
/// with members who joined through the real CLI and server.
@Suite struct AdminHealthCommandTests {
    @Test func printsTheFiguresAsTextCSVAndJSON() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let profiles: [String: [String]] = [
            "ann": ["--display-name", "Ann", "--headline", "Swift lead", "--tag", "swift", "--offers-mentoring"],
            "bob": ["--display-name", "Bob", "--tag", "swift", "--tag", "c++", "--seeks-mentoring"],
        ]
        for handle in ["ann", "bob"] {
            _ = try CLIMember(handle, server: server).ok(
                ["join", "--server", server.url, "--program", "acme", "--invite", invite, "--handle", handle]
                    + profiles[handle]!)
        }
        let text = try server.admin(["program", "health", "acme"])
        #expect(text.contains("members: 2 active, 0 suspended"))
        #expect(text.contains("profiles complete: 1 of 2 active"))
        #expect(text.contains("open to mentoring: 1; looking for a mentor: 1"))
        #expect(text.contains("  tag    seeking  offering\n  c++          1         0\n  swift        1         1"))
        #expect(text.contains("matches by epoch:\n  (none)"))
        let csv = try run(
            "reciprocityd", ["admin", "program", "health", "acme", "--csv", "--database", server.database])
        #expect(csv.status == 0)
        #expect(csv.stdout.hasPrefix("figure,key,value\r\nmembers,active,2\r\nmembers,suspended,0\r\njoins,"))
        #expect(csv.stdout.hasSuffix("tag-seeking,swift,1\r\ntag-offering,swift,1\r\n"))
        let json = try server.admin(["program", "health", "acme", "--json"])
        let decoded = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(decoded["activeMembers"] as? Int == 2)
        #expect(decoded["program"] as? String == "acme")
        // Bad input: one sentence and a failure status, never a crash.
        for (arguments, sentence) in [
            (["nowhere"], "no program named 'nowhere'"),
            (["acme", "--csv", "--json"], "give --csv or --json, not both"),
            (["NOT A NAME"], "program"),
        ] {
            let result = try run(
                "reciprocityd", ["admin", "program", "health"] + arguments + ["--database", server.database])
            #expect(result.status != 0 && !result.crashed, "\(arguments)")
            #expect(result.stderr.contains(sentence), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }
}
