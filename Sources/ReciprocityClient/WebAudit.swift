public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import ReciprocityCore

/// `reciprocity audit --web URL`: the web app a server delivers, byte for byte against the assets a release was
/// built from. The served bytes of every asset are hashed here; the server's manifest is read only to find
/// files that were added, and is itself checked against what is served.
public enum WebAudit {
    /// The outcome: one line per difference, and how many files were compared.
    public struct Report: Sendable {
        public let differences: [String]
        public let filesChecked: Int
        public var identical: Bool { differences.isEmpty }
    }

    /// Fetches `/web-manifest.json`, every asset it lists and every asset of `expected` (name -> SHA-256 hex),
    /// and the pages that serve `index.html` (`/` and `/join`); reports files added, missing or changed, and a
    /// manifest that does not describe what is served.
    public static func audit(server: String, expected: [String: String], client: HTTPClient = ServerAPI.defaultClient)
        async throws -> Report
    {
        let base = try ServerURL.normalize(server)
        let manifestData: Data
        switch try await get(base + "/web-manifest.json", client: client) {
        case .found(let data): manifestData = data
        case .missing(let status):
            throw ClientError("no-manifest", "\(base) serves no web manifest (/web-manifest.json answered HTTP \(status)): not a Reciprocity server with the web app?")
        }
        struct Manifest: Decodable {
            struct Entry: Decodable {
                var path: String
                var sha256: String
            }
            var algorithm: String
            var assets: [Entry]
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: manifestData), manifest.algorithm == "sha-256"
        else { throw ClientError("bad-manifest", "\(base)/web-manifest.json is not a manifest of SHA-256 digests") }
        var listed: [String: String] = [:]
        var differences: [String] = []
        for entry in manifest.assets {
            // The web folder is flat: /web/NAME, NAME without a slash. Anything else is reported, not fetched.
            guard entry.path.hasPrefix("/web/"), !entry.path.dropFirst(5).contains("/"), entry.path.count > 5 else {
                differences.append("manifest: lists '\(entry.path)', outside /web/")
                continue
            }
            listed[String(entry.path.dropFirst(5))] = entry.sha256.lowercased()
        }
        var checked = 0
        for name in Set(listed.keys).union(expected.keys).sorted() {
            let served: String?
            switch try await get(base + "/web/" + name, client: client) {
            case .found(let data): served = Hex.encode(ContentDigest.sha256(data))
            case .missing: served = nil
            }
            checked += 1
            switch (expected[name], served) {
            case (nil, let served?):
                differences.append("added: /web/\(name) (sha256 \(served)), not in this release")
            case (_?, nil):
                differences.append("missing: /web/\(name) is not served")
            case (let want?, let served?) where want != served:
                differences.append("changed: /web/\(name) is served with sha256 \(served), this release has \(want)")
            default:
                break
            }
            if let served {
                if let claimed = listed[name], claimed != served {
                    differences.append("manifest: says sha256 \(claimed) for /web/\(name), the bytes served hash to \(served)")
                } else if listed[name] == nil {
                    differences.append("manifest: does not list /web/\(name), which is served")
                }
            }
        }
        // The page members open is served at / and /join too: it must be index.html's bytes.
        if let page = expected["index.html"] {
            for path in ["/", "/join"] {
                checked += 1
                switch try await get(base + path, client: client) {
                case .found(let data):
                    let served = Hex.encode(ContentDigest.sha256(data))
                    if served != page {
                        differences.append("changed: \(path) is served with sha256 \(served), this release's index.html has \(page)")
                    }
                case .missing(let status):
                    differences.append("missing: \(path) answered HTTP \(status), not the app's page")
                }
            }
        }
        return Report(differences: differences, filesChecked: checked)
    }

    enum Fetched {
        case found(Data)
        case missing(UInt)
    }

    /// GET `url`: its body on 200, the status on 404 (or any other answer); unreachable is an error.
    static func get(_ url: String, client: HTTPClient) async throws -> Fetched {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 16 << 20)
            guard response.status.code == 200 else { return .missing(response.status.code) }
            return .found(Data(buffer: body))
        } catch {
            throw ClientError("unreachable", "cannot fetch \(url): \(ServerAPI.describe(error))")
        }
    }
}
