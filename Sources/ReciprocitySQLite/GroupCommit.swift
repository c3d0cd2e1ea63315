import GRDB
import Synchronization

/// Group commit for the writes that dominate load (mark submissions), with no timer.
///
/// A write is queued here. If no group is being written, the write schedules one on the database's writer
/// queue; when the writer gets to it, it takes **every** write queued by then, applies them one after another
/// in one transaction, commits once, and answers them all. Writes that arrive meanwhile form the next group,
/// which is scheduled behind whatever else waits for the writer (joins, withdrawals), so nothing starves.
/// Under light load a group is one write and costs what a plain transaction did; under load, one commit
/// serves many requests.
///
/// A write that fails before it changed a row (every refusal of a submission is decided before its first
/// change) gets its own error and the group goes on. A write that fails after changing rows, or an error that
/// ends SQLite's transaction (a full disk), rolls the whole group back, and each of its writes is then applied
/// again in a transaction of its own, so the failing one rolls back alone; the WAL is scrubbed afterwards,
/// since a large transaction may have spilled pages into it before it was rolled back. Savepoints would give
/// the same outcome without the second pass, but SQLite copies every page a savepoint changes into a
/// sub-journal first: in a profile of 20-mark submissions that was 45% of the server's writes to disk.
///
/// Every group ends with a WAL scrub (a truncating checkpoint, with its fsync) before its answers, whether or
/// not a write in it deleted rows. A match deletes the first marker's pending row, so a scrub owed only after
/// deletes made every write in a group wait for it when someone else's write matched: a member submitting
/// beside others read from their own response time whether another member's mark had been waiting (#23;
/// medians 1.5 against 0.5 ms straight on the store). If more writes are queued by a group's commit, they are
/// committed first, as the next group, up to `groupsPerScrub` groups, and one scrub then serves them all:
/// under load the scrub, most of a submission's cost, is paid once per burst instead of once per group.
///
/// Nothing is answered before its group's commit, and a write that deleted rows (or failed) not before the
/// scrub either; a write that deleted nothing is answered at its commit, so its time does not depend on what
/// the others in its group did. A crash loses only unanswered writes, and a write's changes are either all in
/// the commit or not at all.
final class GroupCommit: Sendable {
    struct Write: Sendable {
        /// Runs inside a transaction; keeps its own outcome and says whether it failed, and whether it deleted
        /// anything that the WAL must be scrubbed of before its answer.
        let apply: @Sendable (Database) -> Applied
        /// Called after the group: with nil once it committed, or with the error that made it fail.
        let finish: @Sendable ((any Error)?) -> Void
    }

    enum Applied {
        case failed
        case succeeded(deleted: Bool)
    }

    /// A write failed after changing rows: the group's transaction must not commit.
    private struct PartlyApplied: Error {}

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

    /// Writes waiting for the next group.
    var queued: Int { queue.withLock { $0.writes.count } }

    /// Runs `body` in the next group and returns its result once the group committed, and once the WAL was
    /// scrubbed too if `deleted` says the result means rows were deleted.
    func write<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T, deleted: @escaping @Sendable (T) -> Bool
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            enqueue(
                Write(
                    apply: { db in
                        do {
                            let value = try body(db)
                            outcome.withLock { $0 = .success(value) }
                            return .succeeded(deleted: deleted(value))
                        } catch {
                            outcome.withLock { $0 = .failure(error) }
                            return .failed
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
        var afterScrub: [(Write, (any Error)?)] = []
        // Commit the queued writes as a group, and whatever queued meanwhile too, before the one scrub.
        for _ in 0..<Self.groupsPerScrub {
            let writes = queue.withLock { queue in
                defer { queue.writes = [] }
                return queue.writes
            }
            guard !writes.isEmpty else { break }
            for (write, failure, deleted) in Self.commit(writes, db) {
                if deleted { afterScrub.append((write, failure)) } else { write.finish(failure) }
            }
        }
        scrub(db)
        for (write, failure) in afterScrub { write.finish(failure) }
        // Writes that came in meanwhile form the next group, behind whatever else is waiting for the writer.
        let again = queue.withLock { queue in
            queue.scheduled = !queue.writes.isEmpty
            return queue.scheduled
        }
        if again { pool.asyncWriteWithoutTransaction { db in self.writeGroup(db) } }
    }

    /// Applies `writes` in one transaction; if one of them fails after changing rows, applies each in a
    /// transaction of its own instead (pages of the rolled-back one may have been spilled into the WAL: the
    /// scrub that ends every group removes them, and their answers wait for it). Returns each write's answer,
    /// and whether it waits for the scrub.
    private static func commit(_ writes: [Write], _ db: Database) -> [(Write, (any Error)?, Bool)] {
        var deletes: [Bool] = []
        do {
            try db.inTransaction(.immediate) {
                for write in writes {
                    let changes = db.totalChangesCount
                    switch write.apply(db) {
                    case .failed:
                        // Its error is its own only if nothing of it is left in the transaction.
                        guard db.totalChangesCount == changes, db.isInsideTransaction else { throw PartlyApplied() }
                        deletes.append(false)
                    case .succeeded(let deleted):
                        deletes.append(deleted)
                    }
                }
                return .commit
            }
            // A failed write's outcome holds its error: finish(nil) passes it on.
            return zip(writes, deletes).map { ($0, nil, $1) }
        } catch is PartlyApplied {
            return alone(writes, db).map { ($0, $1, true) }
        } catch {
            return writes.map { ($0, error, true) }
        }
    }

    /// Each write in a transaction of its own, rolled back if it failed.
    private static func alone(_ writes: [Write], _ db: Database) -> [(Write, (any Error)?)] {
        writes.map { write in
            do {
                try db.inTransaction(.immediate) {
                    switch write.apply(db) {
                    case .failed: .rollback
                    case .succeeded: .commit
                    }
                }
                return (write, nil)
            } catch {
                return (write, error)
            }
        }
    }
}
