import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityCore
import Testing

/// The web app's files as `reciprocityd` serves them over a real socket: the bytes of the repository's
/// Resources/web folder, the right media types, the security headers, and a manifest whose hashes match.
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

    static let folder = repositoryRoot.appendingPathComponent("Sources/ReciprocityServer/Resources/web")

    /// Every file of the web folder in the repository, by name.
    static func filesOnDisk() throws -> [String: Data] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
        return try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) })
    }

    static func expectSecurityHeaders(_ headers: HTTPFields, _ what: String) {
        let policy = headers[.contentSecurityPolicy] ?? ""
        let directives = Set(policy.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) })
        for directive in [
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            #expect(directives.contains(directive), "\(what): CSP lacks \(directive): \(policy)")
        }
        #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval") && !policy.contains("*"), "\(what)")
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
}
