import Foundation

/// The files an HTML page makes Chromium fetch as it loads (stylesheets, scripts, module preloads, the icon),
/// in the order Chromium asks for them: the document's order, the icon last. Enough HTML for the app's page
/// and a page an operator writes around it; a page that differs from the release's fails the audit anyway.
enum PageReferences {
    struct Reference: Equatable {
        let url: String
        let kind: BrowserRequest
    }

    static func parse(_ html: Data) -> [Reference] {
        var text = String(decoding: html, as: UTF8.self)
        // Commented-out tags load nothing.
        while let open = text.range(of: "<!--") {
            let close = text.range(of: "-->", range: open.upperBound..<text.endIndex)?.upperBound ?? text.endIndex
            text.removeSubrange(open.lowerBound..<close)
        }
        var references: [Reference] = []
        var icons: [Reference] = []
        for tag in text.matches(of: /<(link|script)(\s[^>]*)?>/.ignoresCase()) {
            let attributes = attributes(String(tag.output.2 ?? ""))
            if tag.output.1.lowercased() == "script" {
                guard let source = attributes["src"] else { continue }
                let module = attributes["type"]?.lowercased() == "module"
                references.append(Reference(url: source, kind: module ? .moduleScript : .classicScript))
                continue
            }
            guard let href = attributes["href"] else { continue }
            let relations = Set((attributes["rel"] ?? "").lowercased().split(whereSeparator: \.isWhitespace))
            if relations.contains("stylesheet") {
                references.append(Reference(url: href, kind: .stylesheet))
            } else if relations.contains("modulepreload") {
                references.append(Reference(url: href, kind: .moduleScript))
            } else if relations.contains("icon") {
                icons.append(Reference(url: href, kind: .image))
            }
        }
        // A file is fetched once: a module script that was preloaded comes from the preload.
        var seen: Set<String> = []
        return (references + icons.prefix(1)).filter { seen.insert($0.url).inserted }
    }

    /// `name="value"`, `name='value'`, `name=value` and bare `name`, names lower-cased, `&amp;` decoded.
    static func attributes(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for match in text.matches(of: /([^\s=\/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/) {
            let name = match.output.1.lowercased()
            let value = match.output.2 ?? match.output.3 ?? match.output.4 ?? ""
            if result[name] == nil { result[name] = value.replacingOccurrences(of: "&amp;", with: "&") }
        }
        return result
    }
}
