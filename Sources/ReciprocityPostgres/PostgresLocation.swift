public import Foundation
public import PostgresNIO

/// Where a PostgreSQL database is, parsed from `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTIONS]`.
/// Options: `sslmode=disable|prefer|require` (default prefer) and `host=/socket/folder` for a Unix socket.
public struct PostgresLocation: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var host: String
    public var port: Int
    /// The folder of the server's Unix socket, instead of TCP to `host`.
    public var socketFolder: String?
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// True when `text` names PostgreSQL rather than a SQLite file.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses the URL; a password in `passwordFile` (its first line) replaces one in the URL.
    public init(url text: String, passwordFile: String? = nil) throws {
        guard Self.isPostgres(text), let components = URLComponents(string: text) else {
            throw PostgresLocationError("'\(Self.redacting(text))' is not a postgres://USER@HOST:PORT/DATABASE URL")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresLocationError(
                "the database URL '\(Self.redacting(text))' names no user (postgres://USER@HOST/DATABASE)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresLocationError(
                "the database URL '\(Self.redacting(text))' names no database (postgres://USER@HOST/DATABASE)")
        }
        let options = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        for name in options.keys where !["sslmode", "host"].contains(name) {
            throw PostgresLocationError("the database URL has an unknown option '\(name)' (known: sslmode, host)")
        }
        guard let tls = TLSMode(rawValue: options["sslmode"] ?? "prefer") else {
            throw PostgresLocationError("sslmode must be disable, prefer or require")
        }
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        self.port = components.port ?? 5432
        self.socketFolder = options["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        self.database = database.removingPercentEncoding ?? database
        self.tls = tls
        if let passwordFile {
            guard let secret = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw PostgresLocationError("cannot read the database password file '\(passwordFile)'")
            }
            password = secret.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        }
    }

    /// The URL as it may be logged: never the password.
    public var redacted: String {
        let place = socketFolder.map { "?host=\($0)" } ?? ""
        return "postgres://\(username)@\(host):\(port)/\(database)\(place)"
    }

    /// `text` with any password replaced by `***`, for error messages about a URL that did not parse.
    static func redacting(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"), scheme.upperBound < at,
            let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
        else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    var tlsConfiguration: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    /// The PostgresNIO pool configuration for this location (tools that talk to the database directly).
    public func clientConfiguration(poolSize: Int) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketFolder {
            configuration = .init(
                unixSocketPath: "\(socketFolder)/.s.PGSQL.\(port)", username: username, password: password,
                database: database)
        } else {
            configuration = .init(
                host: host, port: port, username: username, password: password, database: database,
                tls: tlsConfiguration)
        }
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

/// A database URL that cannot be used, in one sentence that never contains the password.
public struct PostgresLocationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
