import Foundation
public import Logging
public import ReciprocityStore
public import ServiceLifecycle

/// Purges expired invites and past-epoch marks every `interval`, until graceful shutdown.
public struct Housekeeping: Service {
    let store: any ReciprocityStore
    let interval: Duration
    let logger: Logger

    public init(store: any ReciprocityStore, interval: Duration, logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let purged = try await store.purge(now: Date())
                logger.info("housekeeping", metadata: ["invites_purged": "\(purged.invites)", "marks_purged": "\(purged.marks)"])
            } catch {
                logger.error("housekeeping failed", metadata: ["error.type": "\(type(of: error))"])
            }
            // The sleep is cancelled by graceful shutdown, so the service never delays it.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
