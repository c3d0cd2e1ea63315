import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ReciprocitySQLite
import ReciprocityServer
import ReciprocityStore
import ServiceLifecycle

/// `reciprocityd serve`: flags override `RECIPROCITY_*` variables, which override the defaults.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logKey: LogKeyOptions

    @Option(help: "Address to listen on (env RECIPROCITY_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (env RECIPROCITY_PORT; default 8080).")
    var port: Int?

    @Option(help: "SQLite durability, normal or full (env RECIPROCITY_DURABILITY; default normal).")
    var durability: String?

    @Option(help: "File holding the admin credential (env RECIPROCITY_ADMIN_CREDENTIAL_FILE). Without one, and without RECIPROCITY_ADMIN_CREDENTIAL, the admin API is off.")
    var adminCredentialFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical (env RECIPROCITY_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(help: "Log format: text or json (env RECIPROCITY_LOG_FORMAT; default text).")
    var logFormat: String?

    @Option(help: "Seconds between housekeeping passes (env RECIPROCITY_HOUSEKEEPING_INTERVAL; default 3600).")
    var housekeepingInterval: Int?

    @Option(help: "Days a match of a past epoch is kept before housekeeping deletes it (env RECIPROCITY_MATCH_RETENTION_DAYS; default 90).")
    var matchRetentionDays: Int?

    @Option(help: "Seconds in-flight requests get to finish after SIGTERM (env RECIPROCITY_SHUTDOWN_TIMEOUT; default 10).")
    var shutdownTimeout: Int?

    @Option(help: "Requests a minute per member, 0 for no limit (env RECIPROCITY_RATE_LIMIT; default 1200).")
    var rateLimit: Int?

    @Option(help: "Seconds before an idle connection is closed (env RECIPROCITY_IDLE_TIMEOUT; default 30).")
    var idleTimeout: Int?

    @Option(help: "Seconds from a request's first byte until its whole body has arrived (env RECIPROCITY_REQUEST_TIMEOUT; default 30).")
    var requestTimeout: Int?

    @Option(help: "Bytes a second a request body must average after its first 5 s, 0 for no minimum (env RECIPROCITY_MINIMUM_BODY_RATE; default 1024).")
    var minimumBodyRate: Int?

    @Option(help: "Connections open at once; more are answered 503 and closed (env RECIPROCITY_MAX_CONNECTIONS; default 512).")
    var maxConnections: Int?

    @Option(help: "Joins a minute per client address, 0 for no limit (env RECIPROCITY_JOIN_RATE_LIMIT; default 120).")
    var joinRateLimit: Int?

    @Option(help: "File holding the bearer credential for /metrics (env RECIPROCITY_METRICS_CREDENTIAL_FILE). Without one, and without RECIPROCITY_METRICS_CREDENTIAL, /metrics is off.")
    var metricsCredentialFile: String?

    @Option(help: "Seconds the store gauges of /metrics are kept before they are counted again (env RECIPROCITY_METRICS_REFRESH_INTERVAL; default 60).")
    var metricsRefreshInterval: Int?

    @Option(help: "Serve the web app from this folder instead of the files built in, read once at start (env RECIPROCITY_WEB_FOLDER; for development: 'reciprocity audit --web' then reports the difference).")
    var webFolder: String?

    func resolve() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.databasePath = database.displayName
        if database.isPostgres {
            _ = try database.postgresLocation()
            _ = try database.poolSize()
        }
        configuration.host = host ?? environment["RECIPROCITY_HOST"] ?? configuration.host
        if let text = port.map(String.init) ?? environment["RECIPROCITY_PORT"] {
            guard let value = Int(text), (0...65535).contains(value) else {
                throw CLIFailure("port must be 0 to 65535, got '\(text)'")
            }
            configuration.port = value
        }
        _ = try sqliteDurability()
        configuration.adminCredential = try Self.credential(
            file: adminCredentialFile, variable: "RECIPROCITY_ADMIN_CREDENTIAL", name: "admin")
        configuration.metricsCredential = try Self.credential(
            file: metricsCredentialFile, variable: "RECIPROCITY_METRICS_CREDENTIAL", name: "metrics")
        // The scraper's credential is kept where monitoring can read it: it must not open the admin API too.
        if let admin = configuration.adminCredential, admin == configuration.metricsCredential {
            throw CLIFailure("the metrics credential must differ from the admin credential")
        }
        if let value = try Self.count(rateLimit, environment["RECIPROCITY_RATE_LIMIT"], name: "rate limit") {
            configuration.rateLimitPerMinute = value
        }
        if let value = try Self.count(joinRateLimit, environment["RECIPROCITY_JOIN_RATE_LIMIT"], name: "join rate limit") {
            configuration.joinRateLimitPerMinute = value
        }
        if let value = try Self.count(
            minimumBodyRate, environment["RECIPROCITY_MINIMUM_BODY_RATE"], name: "minimum body rate")
        {
            configuration.minimumBodyRate = value
        }
        if let value = try Self.count(maxConnections, environment["RECIPROCITY_MAX_CONNECTIONS"], name: "max connections") {
            configuration.maxConnections = try Self.positive(value, "max connections")
        }
        configuration.idleTimeout = try Self.seconds(
            idleTimeout, environment["RECIPROCITY_IDLE_TIMEOUT"], default: configuration.idleTimeout, name: "idle timeout")
        configuration.requestTimeout = try Self.seconds(
            requestTimeout, environment["RECIPROCITY_REQUEST_TIMEOUT"], default: configuration.requestTimeout,
            name: "request timeout")
        configuration.metricsRefreshInterval = try Self.seconds(
            metricsRefreshInterval, environment["RECIPROCITY_METRICS_REFRESH_INTERVAL"],
            default: configuration.metricsRefreshInterval, name: "metrics refresh interval")
        if let folder = webFolder ?? environment["RECIPROCITY_WEB_FOLDER"] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CLIFailure("web folder '\(folder)' is not a folder")
            }
            configuration.webFolder = folder
        }
        return configuration
    }

    /// SQLite's durability setting (PostgreSQL's is the server's own `synchronous_commit`).
    func sqliteDurability() throws -> SQLiteStore.Durability {
        guard let text = durability ?? environment["RECIPROCITY_DURABILITY"] else { return .normal }
        guard let value = SQLiteStore.Durability(rawValue: text) else {
            throw CLIFailure("durability must be normal or full, got '\(text)'")
        }
        return value
    }

    /// An operator credential from a file (a Docker secret, say), else from `variable_FILE`'s file, else from
    /// `variable` itself; at least 32 characters.
    static func credential(file flag: String?, variable: String, name: String) throws -> String? {
        var credential: String?
        if let file = flag ?? environment[variable + "_FILE"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIFailure("cannot read \(name) credential file '\(file)'")
            }
            credential = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let text = environment[variable] {
            credential = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let credential, credential.count < 32 {
            throw CLIFailure(
                "the \(name) credential must be at least 32 characters; 'reciprocityd admin credential' makes one")
        }
        return credential
    }

    /// A whole number, 0 or more, from the flag or the variable; nil when neither is given.
    static func count(_ flag: Int?, _ variable: String?, name: String) throws -> Int? {
        guard let text = flag.map(String.init) ?? variable else { return nil }
        guard let value = Int(text), value >= 0 else { throw CLIFailure("\(name) must be 0 or more, got '\(text)'") }
        return value
    }

    func run() async throws {
        var configuration = try resolve()
        try ensureAddressFree(host: configuration.host, port: configuration.port)
        let level = try Self.logLevel(logLevel ?? environment["RECIPROCITY_LOG_LEVEL"])
        let format = logFormat ?? environment["RECIPROCITY_LOG_FORMAT"] ?? "text"
        guard ["text", "json"].contains(format) else { throw CLIFailure("log format must be text or json, got '\(format)'") }
        let housekeeping = try Self.seconds(
            housekeepingInterval, environment["RECIPROCITY_HOUSEKEEPING_INTERVAL"], default: 3600, name: "housekeeping interval")
        let retentionDays = try Self.seconds(
            matchRetentionDays, environment["RECIPROCITY_MATCH_RETENTION_DAYS"], default: StoreLimits.defaultMatchRetentionDays, name: "match retention",
            unit: "days")
        let shutdown = try Self.seconds(
            shutdownTimeout, environment["RECIPROCITY_SHUTDOWN_TIMEOUT"], default: 10, name: "shutdown timeout")
        LoggingSystem.bootstrap { label in
            if format == "json" { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "reciprocityd")
        let (signingKey, created) = try logKey.load(database: database)
        configuration.logSigningKey = signingKey
        if created {
            let path = try logKey.path(database: database)
            logger.notice("created key-log signing key", metadata: ["file": "\(path)"])
        }
        let opened = try await database.open(creating: true, durability: try sqliteDurability())
        let store = opened.store
        logger.notice(
            "starting",
            metadata: [
                "database": "\(configuration.databasePath)", "address": "\(configuration.host):\(configuration.port)",
                "admin_api": "\(configuration.adminCredential == nil ? "off" : "on")",
                "metrics": "\(configuration.metricsCredential == nil ? "off" : "on")",
                "log_public_key": "\(signingKey.publicKey.base64URL)",
                "web_app": "\(configuration.webFolder.map { "from \($0), not the built-in files" } ?? "built in")",
            ])
        let app = buildApplication(configuration: configuration, store: store, logger: logger)
        // The order is the dependency order; on SIGTERM or SIGINT the group stops accepting connections, lets
        // in-flight requests finish within the shutdown timeout, and stops the services in reverse.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(
                    service: Housekeeping(
                        store: store, interval: .seconds(housekeeping), matchRetention: Double(retentionDays) * 86_400,
                        logger: logger)),
                .init(service: app),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(shutdown)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch where "\(error)".contains("Address already in use") {
            throw addressInUse(host: configuration.host, port: configuration.port)
        }
        try await opened.close()
        logger.notice("stopped; database closed")
    }

    static func seconds(
        _ flag: Int?, _ variable: String?, default value: Int, name: String, unit: String = "seconds"
    ) throws -> Int {
        if let flag { return try positive(flag, name) }
        guard let variable else { return value }
        guard let parsed = Int(variable) else { throw CLIFailure("\(name) must be a whole number of \(unit), got '\(variable)'") }
        return try positive(parsed, name)
    }

    static func positive(_ value: Int, _ name: String) throws -> Int {
        guard value > 0 else { throw CLIFailure("\(name) must be positive") }
        return value
    }

    static func logLevel(_ text: String?) throws -> Logger.Level {
        guard let text else { return .info }
        guard let level = Logger.Level(rawValue: text) else {
            throw CLIFailure("log level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return level
    }
}
