import Foundation

/// A server address as members type it, checked and put in one canonical spelling before it is used for a
/// request or as the name of a state folder: `HTTP://Example.org:80/` and `http://example.org` are one server.
public enum ServerURL {
    static let example = "a valid one looks like http://127.0.0.1:8080 or https://reciprocity.example.org"

    /// The canonical form: lower-case `http` or `https` scheme and host, no default port, no trailing slash.
    /// Throws a `ClientError` (`invalid-server-url`) that says what is wrong and what a valid value looks like.
    public static func normalize(_ text: String) throws -> String {
        func refuse(_ problem: String) -> ClientError {
            ClientError(.invalidServerUrl, "'\(text)' is not a server URL: \(problem); \(example)")
        }
        let lowered = text.lowercased()
        guard let scheme = ["http", "https"].first(where: { lowered.hasPrefix($0 + "://") }) else {
            throw refuse("it must start with http:// or https://")
        }
        let rest = text.dropFirst(scheme.count + 3)
        guard !rest.contains(where: { "?#@ ".contains($0) }) else {
            throw refuse("it must not hold spaces, a user name, a query or a fragment")
        }
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        // The port follows the last colon that is not inside an IPv6 address's brackets.
        let portStart = authority.lastIndex(of: ":").flatMap { colon in
            authority[colon...].contains("]") ? nil : colon
        }
        let host = (portStart.map { authority[..<$0] } ?? authority).lowercased()
        guard !host.isEmpty else { throw refuse("it has no host") }
        var port = ""
        if let portStart {
            let digits = authority[authority.index(after: portStart)...]
            guard digits.allSatisfy(\.isASCII), let number = Int(digits), (1...65535).contains(number) else {
                throw refuse("the port must be a number from 1 to 65535, not '\(digits)'")
            }
            if number != (scheme == "https" ? 443 : 80) { port = ":\(number)" }
        }
        guard URLComponents(string: text) != nil else { throw refuse("it holds characters a URL cannot") }
        return "\(scheme)://\(host)\(port)\(path)"
    }
}
