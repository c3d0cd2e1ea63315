public import Foundation
public import Logging
public import ReciprocityStore
public import ServiceLifecycle

/// Purges expired, used-up or revoked invites, past-epoch marks, past-epoch matches older than `matchRetention`
/// and audit entries and members' reports older than `auditRetention` every `interval`, until graceful shutdown.
public struct Housekeeping: Service {
    let store: any ReciprocityStore
    let interval: Duration
    let matchRetention: TimeInterval
    let auditRetention: TimeInterval
    let logger: Logger

    public init(
        store: any ReciprocityStore, interval: Duration,
        matchRetention: TimeInterval, auditRetention: TimeInterval, logger: Logger
    ) {
        self.store = store
        self.interval = interval
        self.matchRetention = matchRetention
        self.auditRetention = auditRetention
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval, logger: logger, failure: "housekeeping failed") {
            let purged = try await store.purge(
                now: Date(), matchRetention: matchRetention, auditRetention: auditRetention)
            logger.info(
                "housekeeping",
                metadata: [
                    "invites_purged": "\(purged.invites)", "marks_purged": "\(purged.marks)",
                    "matches_purged": "\(purged.matches)", "audit_entries_purged": "\(purged.auditEntries)",
                    "conversations_purged": "\(purged.conversations)", "reports_purged": "\(purged.reports)",
                ])
        }
    }
}
