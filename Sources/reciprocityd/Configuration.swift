import Foundation
import Logging
import ReciprocityCore
import ReciprocityPostgres
import ReciprocitySQLite
import ReciprocityServer
import ReciprocityStore

/// Everything `reciprocityd serve` runs with, made once from `Settings` (the shape of Hummingbird's
/// `AppArguments`): what the HTTP application needs, the database as one value, and the process's own settings.
struct ServeConfiguration {
    /// The HTTP application's part; its `logSigningKey` is loaded from `logKeyFile` at start.
    var server: ServerConfiguration
    var database: DatabaseConfiguration
    var logKeyFile: String
    var logLevel: Logger.Level
    var logFormat: LogFormat
    var housekeepingInterval: Duration
    /// How long a match of a past epoch is kept.
    var matchRetention: TimeInterval
    /// How long an audit entry is kept.
    var auditRetention: TimeInterval
    var shutdownTimeout: Duration
    /// The relay and the notifier's settings; nil when notices are off (no relay set, or `--notices off`).
    var notices: (relay: SMTPRelay, notifier: NotifierConfiguration)?

    /// Checks what no single setting can: the database's location, the log key's file, the credentials (each
    /// read from its file or variable, then compared).
    init(_ settings: Settings) throws {
        server = settings.server
        database = try DatabaseConfiguration(settings)
        logKeyFile = try database.logKeyFile(settings.logKeyFile)
        logLevel = settings.logLevel
        logFormat = settings.logFormat
        housekeepingInterval = .seconds(settings.housekeepingInterval)
        matchRetention = Double(settings.matchRetentionDays) * 86_400
        auditRetention = Double(settings.auditRetentionDays) * 86_400
        shutdownTimeout = .seconds(settings.shutdownTimeout)
        server.adminCredential = try Self.credential(
            file: settings.adminCredentialFile, variable: "RECIPROCITY_ADMIN_CREDENTIAL", name: "admin")
        server.metricsCredential = try Self.credential(
            file: settings.metricsCredentialFile, variable: "RECIPROCITY_METRICS_CREDENTIAL", name: "metrics")
        // The scraper's credential is kept where monitoring can read it: it must not open the admin API too.
        if let admin = server.adminCredential, admin == server.metricsCredential {
            throw CLIFailure("the metrics credential must differ from the admin credential")
        }
        notices = try Self.notices(settings)
        server.noticesEnabled = notices != nil
    }

    /// The email notices' relay and notifier, when a relay is set and notices are on.
    static func notices(_ settings: Settings) throws -> (relay: SMTPRelay, notifier: NotifierConfiguration)? {
        guard let url = settings.smtpURL, settings.notices else { return nil }
        guard let from = settings.smtpFrom else {
            throw CLIFailure("--smtp-url needs --smtp-from (or RECIPROCITY_SMTP_FROM): the From address of notices")
        }
        var password: String?
        if let file = settings.smtpPasswordFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIFailure("cannot read SMTP password file '\(file)'")
            }
            password = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        } else {
            password = environment["RECIPROCITY_SMTP_PASSWORD"]
        }
        if password != nil && settings.smtpUsername == nil {
            throw CLIFailure("an SMTP password needs --smtp-username (or RECIPROCITY_SMTP_USERNAME)")
        }
        var notifier = NotifierConfiguration(from: from)
        notifier.appURL = settings.noticeAppURL
        notifier.interval = .seconds(settings.noticeInterval)
        notifier.perMinute = settings.noticesPerMinute
        notifier.spread = TimeInterval(settings.noticeSpread)
        notifier.roundNoticeLead = TimeInterval(settings.roundNoticeHours) * 3600
        notifier.lease = NoticeLimits.lease(smtpTimeout: TimeInterval(settings.smtpTimeout))
        let relay = SMTPRelay(
            url: url, username: settings.smtpUsername, password: password, caFile: settings.smtpCAFile,
            timeout: settings.smtpTimeout)
        return (relay, notifier)
    }

    /// An operator credential from its file (a Docker secret, say), else from `variable` itself; at least 32
    /// characters, surrounding white space trimmed.
    static func credential(file: String?, variable: String, name: String) throws -> String? {
        var credential: String?
        if let file {
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
}

/// The database a command works on: a SQLite file and its durability, or a PostgreSQL location and the
/// most connections to hold open. `--database` is turned into this once, here.
enum DatabaseConfiguration: Sendable {
    case sqlite(path: String, durability: SQLiteStore.Durability)
    case postgres(PostgresLocation, poolSize: Int)

    init(_ settings: Settings) throws {
        guard PostgresLocation.isPostgres(settings.database) else {
            self = .sqlite(path: settings.database, durability: settings.durability)
            return
        }
        do {
            self = .postgres(
                try PostgresLocation(url: settings.database, passwordFile: settings.databasePasswordFile),
                poolSize: settings.databasePoolSize)
        } catch {
            throw CLIFailure("\(error)")
        }
    }

    /// What logs and messages may show: the path, or the URL without its password.
    var displayName: String {
        switch self {
        case .sqlite(let path, _): path
        case .postgres(let location, _): location.redacted
        }
    }

    /// The key-log signing key's file: `file` if given, else the SQLite path with `.log-key` appended. With
    /// PostgreSQL there is no default: every instance must sign with the same key, so the operator names the
    /// one file they all read.
    func logKeyFile(_ file: String?) throws -> String {
        if let file { return file }
        guard case .sqlite(let path, _) = self else {
            throw CLIFailure(
                "with a PostgreSQL database, give --log-key-file (or RECIPROCITY_LOG_KEY_FILE): every instance must sign the key log with the same key"
            )
        }
        return path + ".log-key"
    }

    /// Opens the database, migrating it; a SQLite file must exist unless `creating`. A PostgreSQL store's pool
    /// runs as `lifecycle` says.
    func open(creating: Bool = false, pool lifecycle: PostgresStore.PoolLifecycle = .ownTask) async throws -> OpenStore
    {
        switch self {
        case .postgres(let location, let poolSize):
            do {
                return .postgres(try await PostgresStore(location: location, poolSize: poolSize, pool: lifecycle))
            } catch let error as StoreError {
                throw CLIFailure(error.message)
            }
        case .sqlite(let path, let durability):
            guard creating || FileManager.default.fileExists(atPath: path) else {
                throw CLIFailure(
                    "there is no database at '\(path)'; check --database (or RECIPROCITY_DATABASE), or create one with 'reciprocityd admin program create'"
                )
            }
            do {
                return .sqlite(try SQLiteStore(path: path, durability: durability))
            } catch {
                throw CLIFailure("cannot open database '\(path)': \(error)")
            }
        }
    }
}

/// An open database of either backend, closed the way its backend needs.
enum OpenStore {
    case sqlite(SQLiteStore)
    case postgres(PostgresStore)

    var store: any ReciprocityStore {
        switch self {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// Closes a SQLite file, or a PostgreSQL pool that runs in a task of its own (`.ownTask`); a pool run as a
    /// service ends with its service group.
    func close() async throws {
        switch self {
        case .sqlite(let store): try store.close()
        case .postgres(let store): await store.close()
        }
    }
}
