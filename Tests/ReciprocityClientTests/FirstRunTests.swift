import Foundation
import Testing

/// Mistakes a new member or operator makes, each answered by one sentence they can act on, with no internal
/// code names; run against real processes.
@Suite(.serialized) struct FirstRunTests {
    /// Runs a command that must fail with status 1 and one line holding each of `fragments`; returns the line.
    @discardableResult
    func refused(_ result: CommandResult, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation)
        -> String
    {
        #expect(
            result.status == 1 && !result.crashed, "status \(result.status): \(result.stderr)",
            sourceLocation: sourceLocation)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(result.stderr.contains(fragment), "\(result.stderr)", sourceLocation: sourceLocation)
        }
        let codeNames = /(invalid|program|member|not|quota)[A-Z][a-zA-Z]*:/
        #expect(result.stderr.firstMatch(of: codeNames) == nil, "\(result.stderr)", sourceLocation: sourceLocation)
        return result.stderr
    }

    @Test func serverURLsAreCheckedAndOneServerIsOneMembershipHoweverSpelled() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        let join = ["join", "--program", "acme", "--invite", invite, "--handle", "alice", "--server"]
        refused(
            try alice.cli(join + ["http://127.0.0.1:80800"]), "port must be a number from 1 to 65535",
            "http://127.0.0.1:8080")
        refused(try alice.cli(join + ["127.0.0.1:8080"]), "must start with http:// or https://")
        refused(try alice.cli(join + ["localhost"]), "must start with http:// or https://")
        refused(try alice.cli(join + ["https://127.0.0.1:\(server.port)"]), "TLS handshake failed")
        #expect(try alice.snapshot().isEmpty)
        try alice.ok(join + ["\(server.url.uppercased())/"])

        #expect(
            try alice.ok(["interest", "list", "--server", server.url + "/", "--program", "acme"]).contains(
                "no interests yet"))
        refused(
            try alice.cli(["interest", "list", "--server", "http://127.0.0.1:1", "--program", "acme"]),
            "no membership of program 'acme' on http://127.0.0.1:1", "it has: --server \(server.url) --program acme")
        refused(
            try alice.cli(["audit", "--server", "http://127.0.0.1:1", "--program", "acme"]), "only to members",
            "--server \(server.url) --program acme")

        // A membership joined before URLs were normalised lives in a folder named after the URL as typed.
        let files = FileManager.default
        let normalised = alice.home.appendingPathComponent("127.0.0.1_\(server.port)")
        let typed = alice.home.appendingPathComponent("127.0.0.1_\(server.port)_")
        try files.moveItem(at: normalised, to: typed)
        let state = typed.appendingPathComponent("acme/state.json")
        let text = try String(contentsOf: state, encoding: .utf8)
            .replacingOccurrences(of: "\"\(server.url)\"", with: "\"\(server.url)/\"")
        try Data(text.utf8).write(to: state)
        try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: state.path)
        #expect(
            try alice.ok(["interest", "list", "--server", server.url, "--program", "acme"]).contains("no interests yet")
        )
    }

    @Test func joinAndProfileMistakesAreSentences() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let zed = CLIMember("zed", server: server)
        let join = ["join", "--server", server.url, "--invite", invite, "--program"]
        refused(
            try zed.cli(join + ["nope-program", "--handle", "zed"]),
            "either no program has that name, or the invite code")
        refused(try zed.cli(join + ["acme", "--handle", "Zed!"]), "handle must be")
        refused(try zed.cli(join + ["acme", "--handle", "zed", "--display-name", ""]), "displayName must be")
        #expect(try zed.snapshot().isEmpty)
    }

    @Test func aPinnedFingerprintNeedsNoServer() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        try alice.join(invite: invite)
        try bob.join(invite: invite)
        let online = try alice.ok(["key", "fingerprint", "bob"])
        server.stop()
        let offline = try alice.ok(["key", "fingerprint", "bob"])
        #expect(offline.hasPrefix(online.trimmingCharacters(in: .newlines)) && offline.contains("not checked now"))
        refused(try alice.cli(["key", "fingerprint", "carol"]), "cannot reach the server")
    }

    @Test func operatorMistakesNameWhatIsWrong() throws {
        let server = try ServerProcess()
        func admin(_ arguments: [String]) throws -> CommandResult {
            try run("reciprocityd", ["admin"] + arguments + ["--database", server.database])
        }
        let typo = server.directory.appendingPathComponent("typo.sqlite").path
        refused(
            try run("reciprocityd", ["admin", "program", "list", "--database", typo]),
            "there is no database at '\(typo)'")
        #expect(!FileManager.default.fileExists(atPath: typo))
        #expect(try admin(["program", "create", "acme", "--max-marks", "2"]).status == 0)
        refused(try admin(["program", "create", "acme"]), "acme")
        refused(try admin(["program", "create", "acme2", "--max-marks", "-1"]), "1 to 10000")
        refused(
            try admin(["program", "set-epoch", "acme", "-1"]), "give one epoch, a whole number from 0 to 4294967295")
        refused(try admin(["program", "set-epoch", "nope", "1"]), "nope")
        refused(try admin(["invite", "create", "--program", "acme", "--uses", "-1"]), "uses must be 1 to 1000000")
        refused(try admin(["member", "list", "--program", "nope"]), "no program named 'nope'")
        refused(try admin(["member", "suspend", "--program", "acme", "nobody"]), "nobody")
        // Paths in the test's own folder: a folder outside it may exist on the machine running the tests.
        let missingFolder = server.directory.appendingPathComponent("missing/x.sqlite").path
        let missingFile = server.directory.appendingPathComponent("missing.sqlite").path
        refused(try admin(["backup", "--to", missingFolder]), "'\(missingFolder)'")
        #expect(!FileManager.default.fileExists(atPath: missingFolder))
        refused(try admin(["restore", "--from", missingFile]), "'\(missingFile)'")
    }

    @Test func aBusyPortIsOneLineAndCreatesNothing() throws {
        let (server, _) = try ServerProcess.withProgram()
        let database = server.directory.appendingPathComponent("second.sqlite").path
        let result = try run("reciprocityd", ["serve", "--database", database, "--port", "\(server.port)"])
        refused(result, "127.0.0.1:\(server.port) is already in use", "--port")
        #expect(!FileManager.default.fileExists(atPath: database))
        #expect(!FileManager.default.fileExists(atPath: database + ".log-key"))
    }
}
