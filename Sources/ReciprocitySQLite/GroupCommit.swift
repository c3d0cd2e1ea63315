import GRDB
import Synchronization

/// Group commit for the writes that dominate load (mark submissions), with no timer.
///
/// A write is queued here. If no group is being written, the write schedules one on the database's writer
/// queue; when the writer gets to it, it takes **every** write queued by then, applies each in a savepoint of
/// its own (one that fails rolls back alone and gets its own error), commits once, and answers them all.
/// Writes that arrive meanwhile form the next group, which is scheduled behind whatever else waits for the
/// writer (joins, withdrawals), so nothing starves. Under light load a group is one write and costs what a
/// plain transaction did; under load, one commit serves many requests.
///
/// A group that deleted rows owes a WAL scrub (a truncating checkpoint, with its fsync) before its answers.
/// If more writes are queued by its commit, they are committed first, as the next group, up to
/// `groupsPerScrub` groups, and one scrub then serves them all: under load the scrub, most of a submission's
/// cost, is paid once per burst instead of once per group; with nothing queued it runs at once, as before.
///
/// Nothing is answered before its group's commit (and its scrub, if one is owed), so a crash loses only
/// unanswered writes, and a savepoint's work is either all in the commit or not at all.
final class GroupCommit: Sendable {
    struct Write: Sendable {
        /// Runs inside the group's transaction, in its own savepoint; keeps its own outcome and says whether it
        /// deleted anything that the WAL must be scrubbed of.
        let apply: @Sendable (Database) -> Bool
        /// Called after the group: with nil once it committed, or with the error that made it fail.
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct Queue {
        var writes: [Write] = []
        var scheduled = false
    }

    /// The most groups one WAL scrub may serve (their answers wait for it).
    static let groupsPerScrub = 8

    private let queue = Mutex(Queue())
    private let pool: DatabasePool
    private let scrub: @Sendable (Database) -> Void

    init(pool: DatabasePool, scrub: @escaping @Sendable (Database) -> Void) {
        self.pool = pool
        self.scrub = scrub
    }

    /// Runs `body` in the next group, in a savepoint of its own, and returns its result once the group committed.
    /// `scrubs`: whether the result means rows were deleted (the group then ends with one WAL scrub).
    func write<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T, scrubs: @escaping @Sendable (T) -> Bool
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            enqueue(
                Write(
                    apply: { db in
                        do {
                            var value: T?
                            try db.inSavepoint {
                                value = try body(db)
                                return .commit
                            }
                            outcome.withLock { $0 = .success(value!) }
                            return scrubs(value!)
                        } catch {
                            outcome.withLock { $0 = .failure(error) }
                            return false
                        }
                    },
                    finish: { failure in
                        if let failure {
                            continuation.resume(throwing: failure)
                        } else {
                            continuation.resume(with: outcome.withLock { $0! })
                        }
                    }))
        }
    }

    private func enqueue(_ write: Write) {
        let schedule = queue.withLock { queue in
            queue.writes.append(write)
            defer { queue.scheduled = true }
            return !queue.scheduled
        }
        if schedule { pool.asyncWriteWithoutTransaction { db in self.writeGroup(db) } }
    }

    private func writeGroup(_ db: Database) {
        var answers: [(Write, (any Error)?)] = []
        var scrubs = false
        // Commit the queued writes as a group; while a scrub is owed, commit whatever queued meanwhile too.
        for _ in 0..<Self.groupsPerScrub {
            let writes = queue.withLock { queue in
                defer { queue.writes = [] }
                return queue.writes
            }
            guard !writes.isEmpty else { break }
            var failure: (any Error)?
            var groupScrubs = false
            do {
                try db.inTransaction(.immediate) {
                    for write in writes where write.apply(db) { groupScrubs = true }
                    return .commit
                }
            } catch {
                failure = error
            }
            scrubs = scrubs || (groupScrubs && failure == nil)
            answers += writes.map { ($0, failure) }
            if !scrubs { break }
        }
        if scrubs { scrub(db) }
        for (write, failure) in answers { write.finish(failure) }
        // Writes that came in meanwhile form the next group, behind whatever else is waiting for the writer.
        let again = queue.withLock { queue in
            queue.scheduled = !queue.writes.isEmpty
            return queue.scheduled
        }
        if again { pool.asyncWriteWithoutTransaction { db in self.writeGroup(db) } }
    }
}
