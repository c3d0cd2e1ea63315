import ReciprocityCore

extension WebAudit {
    /// Headers the audit accepts with any value, because none changes what the browser runs or where it goes:
    /// the framing and connection (`Content-Length`, `Transfer-Encoding`, `Connection`, `Keep-Alive`;
    /// `Content-Encoding` is decoded and checked), and what a reverse proxy commonly adds about the answer
    /// (`Date`, `Server`, `Via`, `Age`, `ETag`, `Last-Modified`, `Vary`, `Accept-Ranges`) or about the
    /// origin's transport (`Strict-Transport-Security`, which only forces HTTPS). Every other header fails
    /// the audit: docs/web-audit.md says why `Alt-Svc`, `Link`, `Refresh` and the others are not here.
    static let harmlessHeaders: Set<String> = [
        "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding", "date", "server",
        "via", "age", "etag", "last-modified", "vary", "accept-ranges", "strict-transport-security",
    ]

    /// What is wrong with the headers of a 200 answer that should have `contentType`: each of this release's
    /// headers (`WebHeaders.security`) missing, repeated or with another value, and every header that is
    /// neither one of them nor harmless. Empty when they are what reciprocityd sends.
    static func headerProblems(_ headers: [(name: String, value: String)], contentType: String) -> [String] {
        let expected = [("Content-Type", contentType)] + WebHeaders.security
        var problems: [String] = []
        for (name, value) in expected {
            let values = headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
            if values.isEmpty {
                problems.append("has no \(name) (this release's server sends '\(value)')")
            } else if values.count > 1 {
                problems.append("has \(name) \(values.count) times (this release's server sends it once)")
            } else if values[0] != value {
                problems.append("has \(name) '\(shortened(values[0]))' (this release's server sends '\(value)')")
            }
        }
        var seen = Set(expected.map { $0.0.lowercased() }).union(harmlessHeaders)
        for (name, value) in headers where seen.insert(name.lowercased()).inserted {
            problems.append("has \(name) '\(shortened(value))', a header this release's server does not send")
        }
        return problems
    }

    /// The `Content-Type` a path of the app has: the manifest's, an asset's by its extension, else a page's.
    static func contentType(of path: String) -> String {
        if path == "/web-manifest.json" { return WebHeaders.contentType(ofFile: "web-manifest.json") }
        return WebHeaders.contentType(ofFile: assetName(path) ?? "index.html")
    }

    static func shortened(_ value: String) -> String {
        value.count > 120 ? value.prefix(120) + "..." : value
    }
}
