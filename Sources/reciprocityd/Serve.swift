import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ReciprocityServer
import ReciprocityStore
import ServiceLifecycle

/// `reciprocityd serve`: every row of `Setting.table`, each a flag, else its `RECIPROCITY_*` variable, else its
/// default; made into one `ServeConfiguration`.
struct Serve: AsyncParsableCommand, SettingOptions {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API.")

    @Option(setting: "host") var host: GivenSetting
    @Option(setting: "port") var port: GivenSetting
    @Option(setting: "database") var database: GivenSetting
    @Option(setting: "database-password-file") var databasePasswordFile: GivenSetting
    @Option(setting: "database-pool-size") var databasePoolSize: GivenSetting
    @Option(setting: "durability") var durability: GivenSetting
    @Option(setting: "admin-credential-file") var adminCredentialFile: GivenSetting
    @Option(setting: "log-level") var logLevel: GivenSetting
    @Option(setting: "log-format") var logFormat: GivenSetting
    @Option(setting: "housekeeping-interval") var housekeepingInterval: GivenSetting
    @Option(setting: "match-retention-days") var matchRetentionDays: GivenSetting
    @Option(setting: "audit-retention-days") var auditRetentionDays: GivenSetting
    @Option(setting: "shutdown-timeout") var shutdownTimeout: GivenSetting
    @Option(setting: "rate-limit") var rateLimit: GivenSetting
    @Option(setting: "idle-timeout") var idleTimeout: GivenSetting
    @Option(setting: "request-timeout") var requestTimeout: GivenSetting
    @Option(setting: "minimum-body-rate") var minimumBodyRate: GivenSetting
    @Option(setting: "max-connections") var maxConnections: GivenSetting
    @Option(setting: "join-rate-limit") var joinRateLimit: GivenSetting
    @Option(setting: "metrics-credential-file") var metricsCredentialFile: GivenSetting
    @Option(setting: "metrics-refresh-interval") var metricsRefreshInterval: GivenSetting
    @Option(setting: "web-folder") var webFolder: GivenSetting
    @Option(setting: "messages-per-day") var messagesPerDay: GivenSetting
    @Option(setting: "conversation-bytes") var conversationBytes: GivenSetting
    @Option(setting: "log-key-file") var logKeyFile: GivenSetting
    @Option(setting: "smtp-url") var smtpURL: GivenSetting
    @Option(setting: "smtp-username") var smtpUsername: GivenSetting
    @Option(setting: "smtp-password-file") var smtpPasswordFile: GivenSetting
    @Option(setting: "smtp-from") var smtpFrom: GivenSetting
    @Option(setting: "smtp-ca-file") var smtpCAFile: GivenSetting
    @Option(setting: "smtp-timeout") var smtpTimeout: GivenSetting
    @Option(setting: "notices-per-minute") var noticesPerMinute: GivenSetting
    @Option(setting: "notices") var notices: GivenSetting
    @Option(setting: "notice-interval") var noticeInterval: GivenSetting
    @Option(setting: "notice-spread") var noticeSpread: GivenSetting
    @Option(setting: "notice-app-url") var noticeAppURL: GivenSetting
    @Option(setting: "round-notice-hours") var roundNoticeHours: GivenSetting

    func run() async throws {
        var configuration = try ServeConfiguration(Settings(given))
        let server = configuration.server
        try ensureAddressFree(host: server.host, port: server.port)
        let (level, format) = (configuration.logLevel, configuration.logFormat)
        LoggingSystem.bootstrap { label in
            if format == .json { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "reciprocityd")
        let (signingKey, created) = try LogKeyFile.load(configuration.logKeyFile)
        configuration.server.logSigningKey = signingKey
        if created { logger.notice("created key-log signing key", metadata: ["file": "\(configuration.logKeyFile)"]) }
        // A PostgreSQL pool runs as the group's first service, so it stops last.
        let opened = try await configuration.database.open(creating: true, pool: .service)
        let store = opened.store
        logger.notice(
            "starting",
            metadata: [
                "database": "\(configuration.database.displayName)", "address": "\(server.host):\(server.port)",
                "admin_api": "\(server.adminCredential == nil ? "off" : "on")",
                "metrics": "\(server.metricsCredential == nil ? "off" : "on")",
                "email_notices": "\(configuration.notices == nil ? "off" : "on")",
                "log_public_key": "\(signingKey.publicKey.base64URL)",
                "web_app": "\(server.webFolder.map { "from \($0), not the built-in files" } ?? "built in")",
            ])
        let changes = ChangeFeed()
        let app = buildApplication(configuration: configuration.server, store: store, logger: logger, changes: changes)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if case .postgres(let postgres) = opened {
            services.append(.init(service: postgres))
            services.append(.init(service: ChangeRelay(store: postgres, changes: changes)))
        }
        services.append(
            .init(
                service: Housekeeping(
                    store: store, interval: configuration.housekeepingInterval,
                    matchRetention: configuration.matchRetention, auditRetention: configuration.auditRetention,
                    logger: logger)))
        services.append(.init(service: RoundScheduler(store: store, logger: logger)))
        if let notices = configuration.notices {
            services.append(
                .init(
                    service: Notifier(
                        store: store, sender: notices.relay, configuration: notices.notifier, logger: logger)))
        }
        services.append(.init(service: app))
        // The order is the dependency order; on SIGTERM or SIGINT the group stops accepting connections, lets
        // in-flight requests finish within the shutdown timeout, and stops the services in reverse.
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch  where "\(error)".contains("Address already in use") {
            throw addressInUse(host: server.host, port: server.port)
        }
        try await opened.close()
        logger.notice("stopped; database closed")
    }
}
