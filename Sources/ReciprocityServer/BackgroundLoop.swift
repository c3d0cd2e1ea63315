import Logging
import ServiceLifecycle

/// The loop of every background service (housekeeping, scheduled rounds, the notifier): `pass` every `interval`
/// until graceful shutdown or cancellation. A failed pass is logged as `failure` with the error's type only
/// (never its text, which may quote data) and the next pass runs as usual. The sleep is cancelled by graceful
/// shutdown, so a service never delays it.
func repeatUntilShutdown(
    every interval: Duration, logger: Logger, failure: Logger.Message, _ pass: () async throws -> Void
) async {
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
        do {
            try await pass()
        } catch {
            logger.error(failure, metadata: ["error.type": "\(type(of: error))"])
        }
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
}
