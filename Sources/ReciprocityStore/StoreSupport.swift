public import Foundation
import ReciprocityCore

/// How every backend stores a time: whole milliseconds since 1970, so that times compare the same everywhere
/// and a copy from one backend to another is exact.
public enum StoredTime {
    public static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    public static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}

extension StoreError {
    /// A row that does not decode (a stored key, token or note of the wrong size) is the server's fault, not
    /// the caller's: runs `body` and reports such a failure as corrupt data, never as invalid input.
    public static func mappingStoredData<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ReciprocityError {
            throw StoreError(.corruptData, "a stored record is malformed (\(error.code))")
        }
    }

    /// The quota refusal, worded the same by every backend.
    public static func quotaExceeded(maxMarks: Int) -> StoreError {
        StoreError(
            .quotaExceeded,
            "the program allows \(maxMarks) marks per member per epoch, pending or matched; withdraw a pending mark first"
        )
    }

    /// The refusal of a rotation beyond `StoreLimits.rotationsPerWindow`, retryable once the oldest rotation
    /// in the window (at `oldest` milliseconds) leaves it.
    public static func rotationLimited(oldest: Int64, windowStart: Int64) -> StoreError {
        var error = StoreError(
            .rotationLimited,
            "at most \(StoreLimits.rotationsPerWindow) key rotations per member in \(Int(StoreLimits.rotationWindow / 3600)) hours"
        )
        error.retryAfter = Int((oldest - windowStart) / 1000) + 1
        return error
    }
}
