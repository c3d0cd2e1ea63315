import Foundation
import Synchronization

/// A token bucket per member: `perMinute` requests of burst, refilled at `perMinute / 60` a second. In memory,
/// one entry per member that has called since the process started.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let perMinute: Int
    private let buckets = Mutex<[Int64: Bucket]>([:])

    init(perMinute: Int) { self.perMinute = perMinute }

    /// nil when the request may go ahead; otherwise the seconds until one more is allowed.
    func delay(for member: Int64, now: ContinuousClock.Instant = .now) -> Int? {
        let capacity = Double(perMinute)
        let rate = capacity / 60
        return buckets.withLock { buckets in
            var bucket = buckets[member] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * rate)
            bucket.updated = now
            defer { buckets[member] = bucket }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}
