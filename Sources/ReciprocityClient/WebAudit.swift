public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import ReciprocityCore

/// `reciprocity audit --web URL`: the web app a server delivers, byte for byte against the assets a release was
/// built from. It first loads the link members were given as Chromium does (the same requests, headers and
/// order, `BrowserRequest`), so that a server cannot serve the audit other code than a member's browser;
/// then the server's manifest (read only to find files that were added, and itself checked against what is
/// served) and every other asset; then every file again with a plain request, which must get the same bytes.
public enum WebAudit {
    /// The outcome: one line per difference, and how many files were compared.
    public struct Report: Sendable {
        public let differences: [String]
        public let filesChecked: Int
        public var identical: Bool { differences.isEmpty }
    }

    /// The audit's HTTP client: redirects are reported, not followed (a followed redirect would carry the
    /// first request's `Host`), and bodies come as sent (`ContentDecoding` decodes them).
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Audits what `link` serves: a server URL (its pages, `WebHeaders.pages`) or the exact link members were
    /// given, at any path (its fragment is never sent); the page and the files it references, then
    /// `/web-manifest.json` and every asset it lists or `expected` (name -> SHA-256 hex) has. Reports files
    /// added, missing, changed or undecodable, a manifest that does not describe what is served, and a file
    /// served differently to a plain request.
    public static func audit(
        link: String, expected: [String: String], browser: BrowserIdentity = .currentChrome(),
        client: HTTPClient = WebAudit.client
    ) async throws -> Report {
        var fetcher = try Fetcher(link: link, browser: browser, client: client)
        var served: [String: Fetched] = [:]
        var differences: [String] = []
        // 1. The link, as a member's browser opens it.
        for page in fetcher.target.pages {
            let fetched = try await fetcher.get(page, as: .document)
            let file = WebHeaders.page(at: page) ?? "index.html"
            if let want = expected[file] {
                differences += compare(fetched, at: page, with: want, as: "this release's \(file)")
            }
            guard case .found(let html) = fetched else { continue }
            for reference in PageReferences.parse(html) {
                guard let path = fetcher.target.sameOriginPath(reference.url, page: page) else {
                    differences.append("loads: \(page) loads \(reference.url), not a file of this server")
                    continue
                }
                guard let name = assetName(path) else {
                    differences.append("loads: \(page) loads \(path), not a file of the web app")
                    continue
                }
                if served[name] == nil { served[name] = try await fetcher.get(path, as: reference.kind) }
            }
        }
        // 2. The manifest and every file no page loaded.
        let manifest: Data
        switch try await fetcher.get("/web-manifest.json", as: .fetch) {
        case .found(let data): manifest = data
        case .missing(let status):
            throw ClientError(
                .noManifest,
                "\(fetcher.target.origin) serves no web manifest (/web-manifest.json answered HTTP \(status)): not a Reciprocity server with the web app?"
            )
        case .undecodable(let reason):
            throw ClientError(.badManifest, "\(fetcher.target.origin)/web-manifest.json: \(reason)")
        }
        var listed: [String: String] = [:]
        for path in try manifestEntries(manifest, origin: fetcher.target.origin, differences: &differences) {
            listed[path.name] = path.sha256
        }
        let names = Set(listed.keys).union(expected.keys).union(served.keys).sorted()
        for name in names where served[name] == nil {
            served[name] = try await fetcher.get("/web/" + name, as: .forAsset(name))
        }
        for name in names {
            let path = "/web/" + name
            switch (expected[name], served[name]) {
            case (nil, .found(let data)?):
                differences.append("added: \(path) (sha256 \(sha256(data))), not in this release")
            case (let want?, let fetched?):
                differences += compare(fetched, at: path, with: want, as: "this release")
            default:
                differences += compare(served[name] ?? .missing(404), at: path, with: nil, as: "")
            }
            guard case .found(let data)? = served[name] else { continue }
            if let claimed = listed[name], claimed != sha256(data) {
                differences.append(
                    "manifest: says sha256 \(claimed) for \(path), the bytes served hash to \(sha256(data))")
            } else if listed[name] == nil {
                differences.append("manifest: does not list \(path), which is served")
            }
        }
        // 3. The headers each file came with: a header can change what the browser does with the same bytes.
        differences += fetcher.headerDifferences()
        // 4. Everything again, asked plainly: a server that looks at the request to choose the code or the
        // headers shows here.
        differences += try await fetcher.plainAgain()
        return Report(differences: differences, filesChecked: names.count + fetcher.target.pages.count)
    }

    static func sha256(_ data: Data) -> String { Hex.encode(ContentDigest.sha256(data)) }

    /// The difference lines for a file fetched at `path` whose bytes should hash to `want` (described as `release`).
    static func compare(_ fetched: Fetched, at path: String, with want: String?, as release: String) -> [String] {
        switch fetched {
        case .found(let data):
            let served = sha256(data)
            guard let want, served != want else { return [] }
            return ["changed: \(path) is served with sha256 \(served), \(release) has \(want)"]
        case .missing(let status):
            return [
                path.hasPrefix("/web/")
                    ? "missing: \(path) is not served" : "missing: \(path) answered HTTP \(status), not the app's page"
            ]
        case .undecodable(let reason):
            return ["undecodable: \(path): \(reason)"]
        }
    }

    /// `/web/NAME` with a flat NAME (the web folder has no subfolders), else nil.
    static func assetName(_ path: String) -> String? {
        guard path.hasPrefix("/web/"), path.count > 5, !path.dropFirst(5).contains(where: { "/?#".contains($0) })
        else { return nil }
        return String(path.dropFirst(5))
    }

    /// The manifest's entries; one outside `/web/` is a difference, not fetched.
    static func manifestEntries(_ data: Data, origin: String, differences: inout [String]) throws
        -> [(name: String, sha256: String)]
    {
        struct Manifest: Decodable {
            struct Entry: Decodable {
                var path: String
                var sha256: String
            }
            var algorithm: String
            var assets: [Entry]
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: data), manifest.algorithm == "sha-256"
        else { throw ClientError(.badManifest, "\(origin)/web-manifest.json is not a manifest of SHA-256 digests") }
        return manifest.assets.compactMap { entry in
            guard let name = assetName(entry.path) else {
                differences.append("manifest: lists '\(entry.path)', outside /web/")
                return nil
            }
            return (name, entry.sha256.lowercased())
        }
    }

    enum Fetched: Equatable {
        case found(Data)
        case missing(UInt)
        case undecodable(String)
    }

    /// Where the audit goes: the link's origin and the pages to open there.
    struct Target {
        let origin: String
        /// The `Host` header: the origin's host and port, the port only when not the scheme's default.
        let host: String
        /// Path and query of each page: the link's, or every page of `WebHeaders.pages` for a bare server URL.
        let pages: [String]

        init(link: String) throws {
            // The fragment (`#invite=...`) stays in the browser: never sent, so never part of the request.
            let sent = link.prefix { $0 != "#" }
            let scheme = sent.lowercased().hasPrefix("https://") ? "https" : "http"
            guard sent.lowercased().hasPrefix(scheme + "://") else {
                throw ClientError(
                    .invalidServerUrl, "'\(sent)' is not a link to audit: it must start with http:// or https://")
            }
            let rest = sent.dropFirst(scheme.count + 3)
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            origin = try ServerURL.normalize(scheme + "://" + authority)
            host = String(origin.dropFirst(scheme.count + 3))
            var path = String(rest.dropFirst(authority.count))
            if !path.hasPrefix("/") { path = "/" + path }
            guard !path.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true }),
                URLComponents(string: origin + path) != nil
            else {
                throw ClientError(
                    .invalidServerUrl, "'\(sent)' is not a link to audit: its path holds characters a URL cannot")
            }
            pages = path == "/" ? WebHeaders.pages.map(\.path) : [path]
        }

        /// The path and query of `reference` on this origin, resolved against `page` as a browser does; nil
        /// when it points elsewhere.
        func sameOriginPath(_ reference: String, page: String) -> String? {
            guard let base = URL(string: origin + page),
                let url = URL(string: reference, relativeTo: base)?.absoluteURL,
                let components = URLComponents(url: url, resolvingAgainstBaseURL: true),
                (try? ServerURL.normalize(
                    "\(components.scheme ?? "")://\(components.percentEncodedHost ?? "")\(components.port.map { ":\($0)" } ?? "")"
                )) == origin
            else { return nil }
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            return path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
    }

    /// One answer: the body, and what is wrong with its headers (`headerProblems`, empty unless HTTP 200).
    struct Answer: Equatable {
        let fetched: Fetched
        let headerProblems: [String]
    }

    /// Asks for files as `BrowserRequest` says, keeping each answer for the header check and the plain
    /// request of steps 3 and 4.
    struct Fetcher {
        let target: Target
        let browser: BrowserIdentity
        let client: HTTPClient
        var answers: [(path: String, answer: Answer)] = []

        init(link: String, browser: BrowserIdentity, client: HTTPClient) throws {
            target = try Target(link: link)
            self.browser = browser
            self.client = client
        }

        mutating func get(_ path: String, as kind: BrowserRequest) async throws -> Fetched {
            let answer = try await get(
                path, headers: kind.headers(host: target.host, origin: target.origin, browser: browser))
            answers.append((path, answer))
            return answer.fetched
        }

        /// The difference lines for the headers of every file fetched so far.
        func headerDifferences() -> [String] {
            answers.flatMap { path, answer in answer.headerProblems.map { "headers: \(path) \($0)" } }
        }

        /// Every file fetched so far, again with no header but `Host`: the difference lines for those served
        /// otherwise than to the browser's request (other bytes, or headers otherwise wrong).
        func plainAgain() async throws -> [String] {
            var differences: [String] = []
            for (path, answer) in answers where try await get(path, headers: []) != answer {
                differences.append("varies: \(path) is served differently to a browser's request than to a plain one")
            }
            return differences
        }

        /// GET `path`: the decoded body on 200, the status otherwise (a redirect included), and what is wrong
        /// with the headers of a 200. Unreachable is an error.
        func get(_ path: String, headers: [(String, String)]) async throws -> Answer {
            let url = target.origin + path
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let body: ByteBuffer
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, timeout: .seconds(30))
                body = try await response.body.collect(upTo: ContentDecoding.limit)
            } catch {
                throw ClientError(.unreachable, "cannot fetch \(url): \(ServerAPI.describe(error))")
            }
            guard response.status.code == 200 else {
                return Answer(fetched: .missing(response.status.code), headerProblems: [])
            }
            let problems = WebAudit.headerProblems(
                response.headers.map { ($0.name, $0.value) }, contentType: WebAudit.contentType(of: path))
            let coding = response.headers["content-encoding"].joined(separator: ",")
            do {
                let data = try ContentDecoding.decode(Data(buffer: body), contentEncoding: coding)
                return Answer(fetched: .found(data), headerProblems: problems)
            } catch let error as ClientError {
                return Answer(fetched: .undecodable(error.message), headerProblems: problems)
            }
        }
    }
}
