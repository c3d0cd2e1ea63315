public import Foundation

/// The browser whose requests `reciprocity audit --web` copies: the values a Chromium browser puts in its
/// `User-Agent`, client hints and `Accept-Language` headers. A server that serves other code to the audit
/// than to members must not be able to tell the two apart by the request (SECURITY.md lists what still
/// can).
public struct BrowserIdentity: Sendable, Equatable {
    public var userAgent: String
    /// `sec-ch-ua`: the brand list, GREASE brand included.
    public var brands: String
    /// `sec-ch-ua-mobile`: `?0` or `?1`.
    public var mobile: String
    /// `sec-ch-ua-platform`, quoted: `"Linux"`.
    public var platform: String
    public var acceptLanguage: String

    public init(userAgent: String, brands: String, mobile: String, platform: String, acceptLanguage: String) {
        self.userAgent = userAgent
        self.brands = brands
        self.mobile = mobile
        self.platform = platform
        self.acceptLanguage = acceptLanguage
    }

    /// Google Chrome's stable release of `date` on the platform this CLI runs on (a member audits from the
    /// machine their browser runs on), in English: no fixed old version, which only an audit would send.
    public static func currentChrome(at date: Date = Date()) -> BrowserIdentity {
        let major = chromeMajor(at: date)
        #if os(macOS)
        let (system, platform) = ("Macintosh; Intel Mac OS X 10_15_7", "macOS")
        #else
        let (system, platform) = ("X11; Linux x86_64", "Linux")
        #endif
        return BrowserIdentity(
            userAgent:
                "Mozilla/5.0 (\(system)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/\(major).0.0.0 Safari/537.36",
            brands: brandList(major: major, brand: "Google Chrome"), mobile: "?0", platform: "\"\(platform)\"",
            acceptLanguage: "en-US,en;q=0.9")
    }

    /// Chrome's stable major version at `date`: 132 reached stable on 14 January 2025, and a new major has
    /// followed every four weeks since (Chrome's published cadence). A holiday gap in the schedule can put
    /// this one version ahead for a few weeks; `--user-agent` and `--sec-ch-ua` copy a member's exact browser.
    public static func chromeMajor(at date: Date) -> Int {
        let anchor = Date(timeIntervalSince1970: 1_736_812_800)  // 2025-01-14T00:00:00Z
        let days = Int((date.timeIntervalSince(anchor) / 86_400).rounded(.down))
        return 132 + max(0, days) / 28
    }

    /// `sec-ch-ua` as Chromium builds it for `major` (components/embedder_support/user_agent_utils.cc): a
    /// GREASE brand whose characters and version follow from the major version, "Chromium", and the browser's
    /// own brand if any, in an order the major version also chooses.
    public static func brandList(major: Int, brand: String?) -> String {
        let characters = [" ", "(", ":", "-", ".", "/", ")", ";", "=", "?", "_"]
        let grease = (
            "Not\(characters[major % characters.count])A\(characters[(major + 1) % characters.count])Brand",
            ["8", "99", "24"][major % 3]
        )
        var list = [grease, ("Chromium", "\(major)")]
        if let brand { list.append((brand, "\(major)")) }
        let orders: [[Int]] =
            list.count == 2
            ? [[0, 1], [1, 0]] : [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        let order = orders[major % orders.count]
        var shuffled = list
        for (index, position) in order.enumerated() { shuffled[position] = list[index] }
        return shuffled.map { "\"\($0.0)\";v=\"\($0.1)\"" }.joined(separator: ", ")
    }
}

/// What a page asks the browser to fetch, and so how Chromium asks the server for it: each kind has its own
/// header list, in Chromium's order (recorded from Chromium over HTTP/1.1; Tests/web/test_web_audit.py
/// compares the two).
enum BrowserRequest: Equatable {
    /// The page, opened from a link outside the browser (a mail program) or typed: no referrer.
    case document
    case stylesheet
    /// `<script type=module>` and `<link rel=modulepreload>`: CORS mode, so with `Origin`.
    case moduleScript
    case classicScript
    /// `<link rel=icon>`.
    case image
    /// `fetch()` from the page: what the app's own code would send for a file it reads.
    case fetch

    /// The headers, in order; `Host` first, as HTTP/1.1 clients send it.
    func headers(host: String, origin: String, browser: BrowserIdentity) -> [(String, String)] {
        let start = [("Host", host), ("Connection", "keep-alive")]
        let end = [("Accept-Encoding", ContentDecoding.advertised), ("Accept-Language", browser.acceptLanguage)]
        guard self != .document else {
            return start + [
                ("sec-ch-ua", browser.brands), ("sec-ch-ua-mobile", browser.mobile),
                ("sec-ch-ua-platform", browser.platform), ("Upgrade-Insecure-Requests", "1"),
                ("User-Agent", browser.userAgent),
                (
                    "Accept",
                    "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
                ),
                ("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-User", "?1"),
                ("Sec-Fetch-Dest", "document"),
            ] + end
        }
        let (accept, mode, destination): (String, String, String) =
            switch self {
            case .stylesheet: ("text/css,*/*;q=0.1", "no-cors", "style")
            case .moduleScript: ("*/*", "cors", "script")
            case .classicScript: ("*/*", "no-cors", "script")
            case .image:
                ("image/jxl,image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "no-cors", "image")
            case .fetch, .document: ("*/*", "cors", "empty")
            }
        return start + (self == .moduleScript ? [("Origin", origin)] : []) + [
            ("sec-ch-ua-platform", browser.platform), ("User-Agent", browser.userAgent), ("sec-ch-ua", browser.brands),
            ("sec-ch-ua-mobile", browser.mobile), ("Accept", accept), ("Sec-Fetch-Site", "same-origin"),
            ("Sec-Fetch-Mode", mode), ("Sec-Fetch-Dest", destination),
        ] + end
    }

    /// How the app's files are fetched when no page references them: by what they are.
    static func forAsset(_ name: String) -> BrowserRequest {
        if name.hasSuffix(".js") { return .moduleScript }
        if name.hasSuffix(".css") { return .stylesheet }
        if name.hasSuffix(".svg") || name.hasSuffix(".png") || name.hasSuffix(".ico") { return .image }
        if name.hasSuffix(".html") { return .document }
        return .fetch
    }
}
