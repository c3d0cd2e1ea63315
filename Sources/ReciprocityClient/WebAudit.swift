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
        var differences: [String] = []
        switch try await get(base + "/web-manifest.json", as: .data, client: client, differences: &differences) {
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
            let kind: RequestKind = name.hasSuffix(".js") ? .script : name.hasSuffix(".css") ? .style : .data
            switch try await get(base + "/web/" + name, as: kind, client: client, differences: &differences) {
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
                switch try await get(base + path, as: .page, client: client, differences: &differences) {
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

    enum Fetched: Equatable {
        case found(Data)
        case missing(UInt)
    }

    /// How a browser asks for a file: the audit asks the same way, so that a server cannot tell it from a
    /// member's browser by the headers alone.
    enum RequestKind {
        case page, script, style, data

        func headers(origin: String) -> [(String, String)] {
            var headers = [
                ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
                ("Accept-Language", "en-US,en;q=0.9"),
                ("Sec-CH-UA", #""Chromium";v="131", "Not_A Brand";v="24""#), ("Sec-CH-UA-Mobile", "?0"),
                ("Sec-CH-UA-Platform", #""Linux""#),
            ]
            switch self {
            case .page:
                headers += [
                    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"),
                    ("Upgrade-Insecure-Requests", "1"), ("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate"),
                    ("Sec-Fetch-User", "?1"), ("Sec-Fetch-Dest", "document"),
                ]
            case .script:
                headers += [
                    ("Accept", "*/*"), ("Origin", origin), ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "cors"),
                    ("Sec-Fetch-Dest", "script"),
                ]
            case .style:
                headers += [
                    ("Accept", "text/css,*/*;q=0.1"), ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "no-cors"),
                    ("Sec-Fetch-Dest", "style"),
                ]
            case .data:
                headers += [
                    ("Accept", "*/*"), ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "cors"),
                    ("Sec-Fetch-Dest", "empty"),
                ]
            }
            return headers
        }
    }

    /// GET `url` twice, as a browser asks for it and as a plain client does; answers with the browser's copy: its
    /// body on 200, the status on 404 (or any other answer). Two copies that differ are a difference of their own:
    /// a server that looks at the request to decide what code to serve. Unreachable is an error.
    static func get(_ url: String, as kind: RequestKind, client: HTTPClient, differences: inout [String]) async throws
        -> Fetched
    {
        let origin = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).prefix(3)
            .joined(separator: "/")
        let browser = try await get(url, headers: kind.headers(origin: origin), client: client)
        let plain = try await get(url, headers: [], client: client)
        if browser != plain {
            differences.append("varies: \(url.dropFirst(origin.count)) is served differently to a browser's request than to a plain one")
        }
        return browser
    }

    static func get(_ url: String, headers: [(String, String)], client: HTTPClient) async throws -> Fetched {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        for (name, value) in headers { request.headers.add(name: name, value: value) }
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
