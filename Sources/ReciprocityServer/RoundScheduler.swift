public import Foundation
public import Logging
public import ReciprocityStore
public import ServiceLifecycle

/// Starts each program's scheduled round once it is due (``ReciprocityStore/startDueRounds(now:)``: the same
/// change as a new round by hand, audited as the scheduler's), looking every `interval`, until graceful shutdown.
/// Every process on a database runs one; the store lets exactly one of them start each round.
public struct RoundScheduler: Service {
    let store: any ReciprocityStore
    let interval: Duration
    let logger: Logger

    public init(store: any ReciprocityStore, interval: Duration = .seconds(1), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval, logger: logger, failure: "scheduled rounds failed") {
            for program in try await store.startDueRounds(now: Date()) {
                logger.notice(
                    "scheduled round started", metadata: ["program": "\(program.name)", "epoch": "\(program.epoch)"])
            }
        }
    }
}
