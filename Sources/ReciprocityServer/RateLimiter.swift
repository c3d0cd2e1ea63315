import Foundation
import Synchronization

/// A token bucket per key (a member, a client address): `perMinute` requests of burst, refilled at
/// `perMinute / 60` a second. In memory, one entry per key that has called recently: a bucket left alone for
/// a minute is full again, so such buckets are dropped when the table grows large.
final class RateLimiter<Key: Hashable & Sendable>: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let perMinute: Int
    private let buckets = Mutex<[Key: Bucket]>([:])
    private static var pruneAbove: Int { 10_000 }

    init(perMinute: Int) { self.perMinute = perMinute }

    /// nil when the request may go ahead; otherwise the seconds until one more is allowed.
    func delay(for key: Key, now: ContinuousClock.Instant = .now) -> Int? {
        let capacity = Double(perMinute)
        let rate = capacity / 60
        return buckets.withLock { buckets in
            if buckets.count > Self.pruneAbove {
                buckets = buckets.filter { now - $0.value.updated < .seconds(60) }
            }
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}
