/// The response headers of the members' web app, in one place: the server sends them and
/// `reciprocity audit --web` requires exactly them, since a header can change what the browser does with
/// byte-identical code (`Refresh` navigates, `Link` preloads, a weaker `Content-Security-Policy` allows more).
public enum WebHeaders {
    /// The web app's pages: each path the server answers with an HTML file of the web folder, in the order
    /// `reciprocity audit --web` opens them for a bare server URL. `/` and `/join` (invite links) are the members'
    /// app; `/console` is the organizers' console.
    public static let pages: [(path: String, file: String)] = [
        ("/", "index.html"), ("/join", "index.html"), ("/console", "console.html"),
    ]

    /// The HTML file served at `path` (its query ignored); nil for a path that is no page of the app.
    public static func page(at path: String) -> String? {
        let bare = path.prefix { $0 != "?" }
        return pages.first { $0.path == bare }?.file
    }

    /// What every web app response carries: a Content-Security-Policy that allows only this origin's own
    /// scripts, styles and requests (no inline script or style, no framing, no worker: a service worker would
    /// stand between the page and the server and could serve it other code), no Referer (an invite code or a
    /// handle in a URL never leaves the page), no MIME sniffing, and revalidation so a changed asset is never
    /// run from a stale cache.
    public static let security: [(name: String, value: String)] = [
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
                + "connect-src 'self'; manifest-src 'self'; worker-src 'none'; form-action 'self'; base-uri 'none'; "
                + "frame-ancestors 'none'"
        ),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Cache-Control", "no-cache"),
    ]

    /// The `Content-Type` of a file of the web folder (or `web-manifest.json`), by its extension.
    public static func contentType(ofFile name: String) -> String {
        let dot = name.lastIndex(of: ".").map { name.index(after: $0) } ?? name.endIndex
        return contentTypes[name[dot...].lowercased()] ?? "application/octet-stream"
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "json": "application/json", "woff2": "font/woff2",
    ]
}
