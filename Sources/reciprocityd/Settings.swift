import ArgumentParser
import Foundation
import Logging
import ReciprocityCore
import ReciprocitySQLite
import ReciprocityServer
import ReciprocityStore

/// One setting of `reciprocityd`: its flag, the environment variable read when the flag is not given, its
/// default, how its text is read, and its help line. `Setting.table` is every one of them; `serve --help`, the
/// admin commands' database options and docs/operations.md's table come from it (the last checked by a test).
struct Setting: Sendable {
    /// The long flag without its dashes.
    let flag: String
    /// `RECIPROCITY_` and the flag in capitals: `--rate-limit` is `RECIPROCITY_RATE_LIMIT`.
    let variable: String
    let summary: String
    /// The default as the help and the documentation show it, taken from `Settings()` itself.
    let shownDefault: String
    /// Reads the text of the flag or variable into its field of `Settings`.
    let apply: @Sendable (String, inout Settings) throws -> Void

    var help: ArgumentHelp { ArgumentHelp("\(summary) (env \(variable); default \(shownDefault)).") }

    /// The setting of `field`, read by `parse`; its default is the field's value in `Settings()`, shown as
    /// `shownDefault` where the value alone would not say it.
    init<Value>(
        _ flag: String, _ summary: String, _ field: any WritableKeyPath<Settings, Value> & Sendable,
        shownDefault: String? = nil, parse: @escaping @Sendable (String) throws -> Value
    ) {
        let variable = "RECIPROCITY_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
        self.flag = flag
        self.variable = variable
        self.summary = summary
        self.shownDefault = shownDefault ?? Self.describe(Settings.defaults[keyPath: field])
        let name = "--\(flag) (or \(variable))"
        apply = { text, settings in
            do {
                settings[keyPath: field] = try parse(text)
            } catch let refusal as Refusal {
                throw CLIFailure("\(name) \(refusal.phrase)")
            }
        }
    }

    /// A default as text; `none` for an absent one.
    static func describe(_ value: Any) -> String {
        if let value = value as? String? { return value ?? "none" }
        return "\(value)"
    }

    /// The setting of `flag`, which the table must hold.
    static func named(_ flag: String) -> Setting {
        guard let setting = table.first(where: { $0.flag == flag }) else { preconditionFailure("no setting --\(flag)") }
        return setting
    }

    /// Every setting, in the order of `serve --help` and of the documentation's table.
    static let table: [Setting] = [
        Setting("host", "Address to listen on", \.server.host) { $0 },
        Setting("port", "Port to listen on, 0 for any free one", \.server.port) { try number($0, in: 0...65535) },
        Setting(
            "database", "SQLite database file, or postgres://USER@HOST:PORT/DATABASE", \.database,
            shownDefault: "./" + Settings.defaults.database
        ) { text in
            guard !text.isEmpty else { throw Refusal("must name a file or a postgres:// URL") }
            return text
        },
        Setting("database-password-file", "File whose first line is the PostgreSQL password", \.databasePasswordFile) {
            $0
        },
        Setting("database-pool-size", "Most PostgreSQL connections this process holds open", \.databasePoolSize) {
            try number($0, in: 1...1000)
        },
        Setting("durability", "SQLite durability, normal or full", \.durability) { text in
            guard let value = SQLiteStore.Durability(rawValue: text) else {
                throw Refusal("must be normal or full, got '\(text)'")
            }
            return value
        },
        Setting(
            "admin-credential-file",
            "File holding the admin credential; without it, and without RECIPROCITY_ADMIN_CREDENTIAL, the admin API is off",
            \.adminCredentialFile
        ) { $0 },
        Setting(
            "log-level", "Log level: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))", \.logLevel
        ) { text in
            guard let level = Logger.Level(rawValue: text) else {
                throw Refusal(
                    "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            return level
        },
        Setting("log-format", "Log format: text or json", \.logFormat) { text in
            guard let format = LogFormat(rawValue: text) else { throw Refusal("must be text or json, got '\(text)'") }
            return format
        },
        Setting("housekeeping-interval", "Seconds between housekeeping passes", \.housekeepingInterval) {
            try number($0, in: 1...Int.max)
        },
        Setting(
            "match-retention-days", "Days a match of a past epoch is kept before housekeeping deletes it",
            \.matchRetentionDays
        ) { try number($0, in: 1...Int.max) },
        Setting(
            "audit-retention-days",
            "Days an entry of a program's audit log, or a member's report, is kept before housekeeping deletes it",
            \.auditRetentionDays
        ) { try number($0, in: 1...Int.max) },
        Setting("shutdown-timeout", "Seconds in-flight requests get to finish after SIGTERM", \.shutdownTimeout) {
            try number($0, in: 1...Int.max)
        },
        Setting("rate-limit", "Requests a minute per member, 0 for no limit", \.server.rateLimitPerMinute) {
            try number($0, in: 0...Int.max)
        },
        Setting("idle-timeout", "Seconds before an idle connection is closed", \.server.idleTimeout) {
            try number($0, in: 1...Int.max)
        },
        Setting(
            "request-timeout", "Seconds from a request's first byte until its whole body has arrived",
            \.server.requestTimeout
        ) { try number($0, in: 1...Int.max) },
        Setting(
            "minimum-body-rate", "Bytes a second a request body must average after its first 5 s, 0 for no minimum",
            \.server.minimumBodyRate
        ) { try number($0, in: 0...Int.max) },
        Setting(
            "max-connections", "Connections open at once; more are answered 503 and closed", \.server.maxConnections
        ) { try number($0, in: 1...Int.max) },
        Setting(
            "join-rate-limit", "Joins a minute per client address, 0 for no limit", \.server.joinRateLimitPerMinute
        ) { try number($0, in: 0...Int.max) },
        Setting(
            "metrics-credential-file",
            "File holding the bearer credential for /metrics; without it, and without RECIPROCITY_METRICS_CREDENTIAL, /metrics is off",
            \.metricsCredentialFile
        ) { $0 },
        Setting(
            "metrics-refresh-interval", "Seconds the store gauges of /metrics are kept before they are counted again",
            \.server.metricsRefreshInterval
        ) { try number($0, in: 1...Int.max) },
        Setting(
            "web-folder",
            "Serve the web app from this folder instead of the files built in, read once at start; for development,"
                + " 'reciprocity audit --web' then reports the difference",
            \.server.webFolder
        ) { text in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: text, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw Refusal("'\(text)' is not a folder")
            }
            return text
        },
        Setting(
            "messages-per-day", "Messages each member may send per conversation in 24 hours",
            \.server.conversationLimits.messagesPerDay
        ) { try number($0, in: 1...Int.max) },
        Setting(
            "conversation-bytes", "Envelope bytes one conversation may hold, both members' together",
            \.server.conversationLimits.storedBytes
        ) { try number($0, in: MessageEnvelope.maxLength...Int.max) },
        Setting(
            "log-key-file", "Key-log signing key file, created on first start; required with PostgreSQL",
            \.logKeyFile, shownDefault: "<database>.log-key"
        ) { $0 },
        Setting(
            "smtp-url",
            "The SMTP relay for email notices, smtp://HOST:PORT (STARTTLS required) or smtps://HOST:PORT; without it no notice is queued or sent",
            \.smtpURL
        ) { text in
            guard let url = URL(string: text), ["smtp", "smtps"].contains(url.scheme), url.host != nil,
                url.user == nil, url.password == nil
            else {
                // The text is not repeated: it may hold a password.
                throw Refusal(
                    "must be smtp://HOST:PORT or smtps://HOST:PORT, with the user and password given apart"
                        + " (--smtp-username, --smtp-password-file)")
            }
            return text
        },
        Setting("smtp-username", "The username for the SMTP relay; without it no authentication", \.smtpUsername) {
            $0
        },
        Setting(
            "smtp-password-file",
            "File whose first line is the SMTP relay's password; else RECIPROCITY_SMTP_PASSWORD", \.smtpPasswordFile
        ) { $0 },
        Setting("smtp-from", "The From address of email notices; required with --smtp-url", \.smtpFrom) {
            try EmailAddress.validatedSetting($0)
        },
        Setting("smtp-ca-file", "PEM file of the CAs that sign a private relay's certificate", \.smtpCAFile) { text in
            guard FileManager.default.isReadableFile(atPath: text) else { throw Refusal("'\(text)' cannot be read") }
            return text
        },
        Setting("smtp-timeout", "Seconds one SMTP transaction may take", \.smtpTimeout) {
            try number($0, in: 1...600)
        },
        Setting("notices-per-minute", "Email notices sent a minute at most", \.noticesPerMinute) {
            try number($0, in: 1...6000)
        },
        Setting(
            "notices", "Email notices on or off (off keeps addresses but queues and sends nothing)", \.notices,
            shownDefault: "on"
        ) { text in
            guard ["on", "off"].contains(text) else { throw Refusal("must be on or off, got '\(text)'") }
            return text == "on"
        },
        Setting("notice-interval", "Seconds between the notifier's looks for new matches", \.noticeInterval) {
            try number($0, in: 1...86_400)
        },
        Setting(
            "notice-spread", "Most seconds of random delay before a match notice is sent (its two notices part)",
            \.noticeSpread
        ) { try number($0, in: 0...86_400) },
        Setting("notice-app-url", "The app's address, shown at the end of every notice", \.noticeAppURL) { text in
            guard let url = URL(string: text), ["https", "http"].contains(url.scheme), url.host != nil,
                !text.contains(where: { $0.isWhitespace })
            else { throw Refusal("must be an https:// address, got '\(text)'") }
            return text
        },
        Setting(
            "round-notice-hours", "Hours before a scheduled round closes that members with an address are told",
            \.roundNoticeHours
        ) { try number($0, in: 1...720) },
    ]

    /// A whole number in `range`.
    static func number(_ text: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            let rule =
                range.upperBound == .max
                ? (range.lowerBound == 0 ? "a whole number, 0 or more" : "a whole number, \(range.lowerBound) or more")
                : "a whole number from \(range.lowerBound) to \(range.upperBound)"
            throw Refusal("must be \(rule), got '\(text)'")
        }
        return value
    }
}

extension EmailAddress {
    /// An address setting: `validated`, its refusal worded as the end of a setting's sentence.
    static func validatedSetting(_ text: String) throws -> String {
        do {
            return try validated(text)
        } catch let error as StoreError {
            throw Refusal("is not an address: \(error.message)")
        }
    }
}

/// Why a setting's text was refused, as the end of a sentence that starts with the flag's name.
struct Refusal: Error {
    let phrase: String
    init(_ phrase: String) { self.phrase = phrase }
}

enum LogFormat: String { case text, json }

/// Each setting's value; a field's initial value is the setting's default. Filled by `Setting.table`, then made
/// into a `ServeConfiguration` (or, for the admin commands, a `DatabaseConfiguration`) by `Configuration.swift`.
struct Settings {
    var server = ServerConfiguration()
    var database = "reciprocity.sqlite"
    var databasePasswordFile: String?
    var databasePoolSize = 10
    var durability = SQLiteStore.Durability.normal
    var adminCredentialFile: String?
    var metricsCredentialFile: String?
    var logLevel = Logger.Level.info
    var logFormat = LogFormat.text
    var housekeepingInterval = 3600
    var matchRetentionDays = StoreLimits.defaultMatchRetentionDays
    var auditRetentionDays = StoreLimits.defaultAuditRetentionDays
    var shutdownTimeout = 10
    var logKeyFile: String?
    var smtpURL: String?
    var smtpUsername: String?
    var smtpPasswordFile: String?
    var smtpFrom: String?
    var smtpCAFile: String?
    var smtpTimeout = 30
    var noticesPerMinute = 30
    var notices = true
    var noticeInterval = 30
    var noticeSpread = 300
    var noticeAppURL: String?
    var roundNoticeHours = Int(NoticeLimits.defaultRoundNoticeLead / 3600)

    /// The defaults, then for each setting given the flag's text if given, else its variable's if set.
    init(_ given: [GivenSetting]) throws {
        for item in given {
            let setting = Setting.named(item.flag)
            if let text = item.text ?? environment[setting.variable] { try setting.apply(text, &self) }
        }
    }

    init() {}

    static let defaults = Settings()
}

/// An option of a row of `Setting.table`: its flag, and its text if the command line gave one.
struct GivenSetting: Sendable {
    let flag: String
    let text: String?
}

extension Option where Value == GivenSetting {
    /// The option of `flag`'s row of `Setting.table`, with that row's help line.
    init(setting flag: String) {
        self.init(
            wrappedValue: GivenSetting(flag: flag, text: nil), name: .customLong(flag), help: Setting.named(flag).help
        ) { GivenSetting(flag: flag, text: $0) }
    }
}

/// Options declared with `@Option(setting:)`.
protocol SettingOptions: ParsableArguments {}

extension SettingOptions {
    /// Every `@Option(setting:)` of this command, given or not: each carries its own flag, so a command names
    /// its settings once, in its declarations.
    var given: [GivenSetting] {
        Mirror(reflecting: self).children.compactMap { ($0.value as? Option<GivenSetting>)?.wrappedValue }
    }
}
