import Foundation
import ReciprocityClient
import Testing

/// `reciprocity audit --web URL` against real `reciprocityd` processes: the server as built matches the CLI
/// built with it; a server started with `--web-folder` on a modified copy of the assets does not, and each
/// difference is one line.
@Suite(.serialized) struct WebAuditTests {
    /// The web assets the built server carries (the ReciprocityWeb resource bundle next to the executables).
    static let builtAssets = binDirectory.appendingPathComponent("Reciprocity_ReciprocityWeb.resources/web")

    /// `reciprocityd serve --web-folder FOLDER` on the server's database and port, until `body` returns.
    static func serving<T>(_ folder: URL, on server: ServerProcess, _ body: () throws -> T) throws -> T {
        let process = Process()
        process.executableURL = binDirectory.appendingPathComponent("reciprocityd")
        process.arguments = [
            "serve", "--database", server.database, "--port", "\(server.port)", "--log-level", "error",
            "--web-folder", folder.path,
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        for _ in 0..<600 where !ServerProcess.canConnect(port: server.port) {
            guard process.isRunning else {
                throw E2EFailure("reciprocityd --web-folder exited: \(process.terminationStatus)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try body()
    }

    /// A copy of the built assets in the server's folder.
    static func copyOfAssets(_ server: ServerProcess, _ name: String) throws -> URL {
        let copy = server.directory.appendingPathComponent(name)
        try FileManager.default.copyItem(at: builtAssets, to: copy)
        return copy
    }

    @Test func theServedAppMatchesTheReleaseItWasBuiltWith() throws {
        let (server, _) = try ServerProcess.withProgram()
        let result = try run("reciprocity", ["audit", "--web", server.url])
        // Both executables must come from one build of one tree (`swift build --build-tests` does that); a CLI
        // built after a web file changed, with a server built before, differs, as it should.
        #expect(
            result.status == 0,
            "\(result.stdout)\(result.stderr) (were reciprocity and reciprocityd built from the same tree?)")
        #expect(result.stdout.split(separator: "\n").count == 1 && result.stdout.contains("matches this release"))
        #expect(result.stderr.isEmpty)
        server.stop()
        // The same files from a folder are the same app.
        let copy = try Self.copyOfAssets(server, "same")
        let again = try Self.serving(copy, on: server) { try run("reciprocity", ["audit", "--web", server.url]) }
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
    }

    @Test func aModifiedAddedOrMissingAssetIsReportedWithExitOne() throws {
        let server = try ServerProcess()
        let copy = try Self.copyOfAssets(server, "modified")
        let names = try FileManager.default.contentsOfDirectory(atPath: copy.path).filter { !$0.hasPrefix(".") }
            .sorted()
        #expect(names.contains("reciprocity.js") && names.contains("index.html"))
        // One byte more in the protocol module, a file the release does not have, one it has removed.
        let module = try FileHandle(forWritingTo: copy.appendingPathComponent("reciprocity.js"))
        module.seekToEndOfFile()
        module.write(Data("\n".utf8))
        try module.close()
        try Data("export const exfiltrate = true;\n".utf8).write(to: copy.appendingPathComponent("extra.js"))
        let removed = try #require(names.first { $0 != "reciprocity.js" && $0 != "index.html" })
        try FileManager.default.removeItem(at: copy.appendingPathComponent(removed))

        let result = try Self.serving(copy, on: server) { try run("reciprocity", ["audit", "--web", server.url]) }
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("changed: /web/reciprocity.js is served with sha256 ") })
        #expect(lines.contains { $0.hasPrefix("added: /web/extra.js ") })
        #expect(lines.contains("missing: /web/\(removed) is not served"))
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains("differs from this release"))

        // A changed page is reported under its name and at / and /join, where members open it.
        let page = try Self.copyOfAssets(server, "page")
        try Data("<!doctype html><title>phish</title>\n".utf8).write(to: page.appendingPathComponent("index.html"))
        let pageResult = try Self.serving(page, on: server) { try run("reciprocity", ["audit", "--web", server.url]) }
        #expect(pageResult.status == 1)
        let pageLines = pageResult.stdout.split(separator: "\n").map(String.init)
        #expect(pageLines.count == 3 && pageLines.allSatisfy { $0.hasPrefix("changed: ") }, "\(pageLines)")
        #expect(
            pageLines.contains { $0.hasPrefix("changed: /join ") } && pageLines.contains { $0.hasPrefix("changed: / ") }
        )
    }

    /// The exact link members were given: the page at its path is audited (its fragment never leaves the
    /// machine, nor is it printed); a path where the server serves no app page fails.
    @Test func theJoinLinkIsAuditedAtItsOwnPath() throws {
        let (server, _) = try ServerProcess.withProgram()
        let link = try run("reciprocity", ["audit", "--web", server.url + "/join#program=acme&invite=rcpi_secret"])
        #expect(link.status == 0, "\(link.stdout)\(link.stderr)")
        #expect(link.stdout.contains("web app at \(server.url)/join matches") && !link.stdout.contains("rcpi_secret"))
        let elsewhere = try run(
            "reciprocity", ["audit", "--web", server.url + "/some/path/join?x=1#invite=rcpi_secret"])
        #expect(elsewhere.status == 1)
        #expect(
            elsewhere.stdout == "missing: /some/path/join?x=1 answered HTTP 404, not the app's page\n",
            "\(elsewhere.stdout)")
        #expect(!elsewhere.stderr.contains("rcpi_secret"))
    }

    /// `sec-ch-ua` as Chromium builds it, checked against what real browsers sent: Chrome 124 and 131, and
    /// Debian's Chromium 156 (recorded by Tests/web/test_web_audit.py's proxy); the major version by date.
    @Test func theBrowserIdentityIsChromes() {
        #expect(
            BrowserIdentity.brandList(major: 124, brand: "Google Chrome")
                == #""Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99""#)
        #expect(
            BrowserIdentity.brandList(major: 131, brand: "Google Chrome")
                == #""Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24""#)
        #expect(BrowserIdentity.brandList(major: 156, brand: nil) == #""Not:A-Brand";v="8", "Chromium";v="156""#)
        let day = 86_400.0
        let chrome132 = Date(timeIntervalSince1970: 1_736_812_800)
        #expect(BrowserIdentity.chromeMajor(at: chrome132) == 132)
        #expect(BrowserIdentity.chromeMajor(at: chrome132 + 27 * day) == 132)
        #expect(BrowserIdentity.chromeMajor(at: chrome132 + 28 * day) == 133)
        #expect(BrowserIdentity.chromeMajor(at: chrome132 + 692 * day) == 156)  // 2026-12-07: Debian's chromium 156
        let current = BrowserIdentity.currentChrome(at: chrome132)
        #expect(current.userAgent.hasSuffix(") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36"))
    }

    @Test func badInputIsOneSentence() throws {
        let server = try ServerProcess()
        for (arguments, fragment) in [
            (["audit", "--web", server.url], "cannot fetch"),
            (["audit", "--web", "ftp://example.org"], "must start with http:// or https://"),
            (["audit", "--web", server.url, "--program", "acme"], "--web audits the web app only"),
            (["audit"], "give --server and --program"),
            (["audit", "--web", server.url, "--user-agent", "two\nlines"], "--user-agent must be a header value"),
            (["audit", "--server", server.url, "--program", "acme", "--sec-ch-ua", "x"], "go with --web"),
            (["audit", "--web", server.url + "/a b"], "its path holds characters a URL cannot"),
        ] {
            let result = try run("reciprocity", arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(
                result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(fragment),
                "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        let missing = try run(
            "reciprocityd",
            [
                "serve", "--database", server.database, "--port", "\(server.port)",
                "--web-folder", server.directory.appendingPathComponent("nope").path,
            ])
        #expect(missing.status != 0 && missing.stderr.contains("is not a folder"))
    }
}
