import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityCore
import Testing

/// The web app's files as `reciprocityd` serves them over a real socket: the bytes of the repository's
/// Sources/ReciprocityWeb/web folder, the right media types, the security headers, and a manifest whose hashes match.
@Suite struct WebAssetTests {
    struct Manifest: Decodable {
        struct Entry: Decodable {
            let path: String
            let contentType: String
            let size: Int
            let sha256: String
            let integrity: String
        }
        let algorithm: String
        let assets: [Entry]
    }

    static let folder = repositoryRoot.appendingPathComponent("Sources/ReciprocityWeb/web")

    /// Every file of the web folder in the repository, by name.
    static func filesOnDisk() throws -> [String: Data] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
        return try Dictionary(
            uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) })
    }

    static func expectSecurityHeaders(_ headers: HTTPFields, _ what: String) {
        let policy = headers[.contentSecurityPolicy] ?? ""
        let directives = Set(policy.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) })
        for directive in [
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'", "worker-src 'none'",
        ] {
            #expect(directives.contains(directive), "\(what): CSP lacks \(directive): \(policy)")
        }
        #expect(
            !policy.contains("unsafe-inline") && !policy.contains("unsafe-eval") && !policy.contains("*"), "\(what)")
        #expect(headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(what)")
        #expect(headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(what)")
    }

    @Test func sha256MatchesFIPS180Example() {
        // FIPS 180-2 appendix B.1: SHA-256("abc").
        #expect(
            Hex.encode(ContentDigest.sha256(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func everyFileIsServedWithItsTypeAndTheSecurityHeaders() async throws {
        let files = try Self.filesOnDisk()
        #expect(files.keys.contains("reciprocity.js") && files.keys.contains("chacha20poly1305.js"))
        let harness = try Harness()
        try await harness.application().test(.live) { client in
            for (name, bytes) in files {
                let response = try await client.send(.get, "/web/\(name)")
                #expect(response.status == .ok, "\(name)")
                #expect(Data(buffer: response.body) == bytes, "\(name): served bytes differ from the repository's")
                if name.hasSuffix(".js") { #expect(response.headers[.contentType] == "text/javascript; charset=utf-8") }
                Self.expectSecurityHeaders(response.headers, name)
            }
            for path in ["/web/nope.js", "/web/..%2Fopenapi.yaml", "/web/", "/web/reciprocity.js/x"] {
                let response = try await client.send(.get, path)
                #expect(response.status == .notFound, "\(path)")
                #expect(try response.problem().code == "not-found", "\(path)")
            }
            Self.expectSecurityHeaders(try await client.send(.get, "/web/nope.js").headers, "a 404")
        }
    }

    @Test func manifestListsEveryFileWithItsSHA256() async throws {
        let files = try Self.filesOnDisk()
        let harness = try Harness()
        try await harness.application().test(.live) { client in
            let response = try await client.send(.get, "/web-manifest.json")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            Self.expectSecurityHeaders(response.headers, "the manifest")
            let manifest = try JSONDecoder().decode(Manifest.self, from: Data(buffer: response.body))
            #expect(manifest.algorithm == "sha-256")
            #expect(manifest.assets.map(\.path) == files.keys.sorted().map { "/web/\($0)" })
            for entry in manifest.assets {
                let name = String(entry.path.dropFirst("/web/".count))
                let digest = ContentDigest.sha256(try #require(files[name]))
                #expect(entry.sha256 == Hex.encode(digest), "\(name)")
                #expect(entry.integrity == "sha256-" + Data(digest).base64EncodedString(), "\(name)")
                #expect(entry.size == files[name]?.count)
                // The manifest describes what is actually served.
                let served = try await client.send(.get, entry.path)
                #expect(Hex.encode(ContentDigest.sha256(Data(buffer: served.body))) == entry.sha256, "\(name)")
                #expect(served.headers[.contentType] == entry.contentType, "\(name)")
            }
        }
    }

    @Test func everyPageIsServedAtItsPath() async throws {
        let files = try Self.filesOnDisk()
        let harness = try Harness()
        try await harness.application().test(.live) { client in
            #expect(WebHeaders.pages.map(\.path) == ["/", "/join", "/console"])
            for (path, file) in WebHeaders.pages {
                let page = try #require(files[file])
                let response = try await client.send(.get, path)
                #expect(response.status == .ok, "\(path)")
                #expect(Data(buffer: response.body) == page, "\(path)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                Self.expectSecurityHeaders(response.headers, path)
            }
        }
    }

    /// Every `<script src>` and `<link href>` of the HTML names a file of the web folder with the Subresource
    /// Integrity of its bytes (scripts/web_sri.py rewrites them), and every module that a module imports is listed
    /// as `<link rel="modulepreload" integrity>`: an import inside a module gets no integrity from any tag, and a
    /// preloaded module that fails its check is never run.
    @Test func everyIntegrityAttributeMatchesItsFile() throws {
        let files = try Self.filesOnDisk()
        let pages = files.filter { $0.key.hasSuffix(".html") }
        #expect(!pages.isEmpty)
        // The modules each module imports: a page must preload every module its scripts reach.
        let imports = files.filter { $0.key.hasSuffix(".js") }.mapValues { data in
            String(decoding: data, as: UTF8.self).matches(of: /(?m)^\s*(?:import|export)\b[^;]*?\bfrom\s*"\.\/([^"]+)"/)
                .map { String($0.output.1) }
        }
        #expect(Set(imports.values.joined()).isSuperset(of: ["reciprocity.js", "chacha20poly1305.js"]))
        for (name, data) in pages {
            let html = String(decoding: data, as: UTF8.self)
            let tags = html.matches(of: /<(?:script|link)\b[^>]*>/).map { String($0.output) }
            var preloaded: Set<String> = []
            var checked = 0
            for tag in tags {
                guard let url = tag.firstMatch(of: /(?:src|href)="([^"]+)"/)?.output.1 else { continue }
                #expect(url.hasPrefix("/web/"), "\(name): \(tag) loads something outside /web/")
                let file = String(url.dropFirst("/web/".count))
                let bytes = try #require(files[file], "\(name): \(file) is not in the web folder")
                let expected = "sha256-" + Data(ContentDigest.sha256(bytes)).base64EncodedString()
                let integrity = tag.firstMatch(of: /integrity="([^"]*)"/).map { String($0.output.1) }
                #expect(
                    integrity == expected,
                    "\(name): \(file) has integrity \(integrity ?? "none"), its bytes \(expected); run scripts/web_sri.py"
                )
                if tag.contains(#"rel="modulepreload""#) { preloaded.insert(file) }
                checked += 1
            }
            #expect(checked >= 4, "\(name)")
            var imported: Set<String> = []
            var reach = tags.filter { $0.hasPrefix("<script") }.compactMap { tag in
                tag.firstMatch(of: /src="\/web\/([^"]+)"/).map { String($0.output.1) }
            }
            while let module = reach.popLast() {
                for next in imports[module] ?? [] where imported.insert(next).inserted { reach.append(next) }
            }
            #expect(
                imported.isSubset(of: preloaded),
                "\(name): imported modules without modulepreload: \(imported.subtracting(preloaded).sorted())")
            #expect(
                !html.contains("<script>") && !html.contains("<style") && !html.contains(" style="),
                "\(name): no inline script or style")
        }
    }
}
