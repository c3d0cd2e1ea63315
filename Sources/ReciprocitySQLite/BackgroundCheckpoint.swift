import GRDB
import GRDBSQLite
import Synchronization

/// Copies the WAL into the database file from a connection of its own, so that the writer does not.
///
/// SQLite's automatic checkpoint runs in the connection that commits, once the WAL holds 1,000 pages: that
/// commit's caller waits for every page to be copied and for the database file's fsync. In the requests
/// benchmark those stalls were most of the 99th-percentile latency (50 ms against 10 ms without them) and a
/// fifth of the throughput. Here the writer's commit hook only notes the WAL's length; past
/// `backgroundFrames` a passive checkpoint runs on this object's connection, beside the writer.
///
/// A passive checkpoint never waits for the writer, and SQLite starts the WAL over only when a write begins
/// after the whole WAL was copied. Under constant load that moment may not come, so past `writerFrames` the
/// writer checkpoints itself, as SQLite's own hook would (most pages are copied by then, so it is short).
///
/// The WAL scrub (a truncating checkpoint after deletes, `SQLiteStore.scrubWAL`) is unchanged, except that it
/// waits for a background checkpoint in progress (`exclusively`). Frames written since the last scrub hold no
/// row that was deleted, so a WAL that is started over rather than truncated holds nothing the scrub promise
/// covers.
final class BackgroundCheckpoint: Sendable {
    static let backgroundFrames = 1000
    static let writerFrames = 8000

    private let connection: DatabaseQueue
    private let running = Atomic(false)
    private let closed = Atomic(false)
    /// Held by a checkpoint in progress: a background one, or the WAL scrub.
    private let checkpointing = Mutex(())

    init(path: String, configuration: Configuration) throws {
        connection = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Replaces SQLite's automatic checkpoint on the writer connection `db` with this one.
    func install(on db: Database) {
        // The hook's context outlives the connection's use of it: a small object, retained for good, that
        // reaches this checkpointer weakly.
        let context = Unmanaged.passRetained(HookContext(self)).toOpaque()
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, frames in
                if frames >= BackgroundCheckpoint.writerFrames {
                    sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                } else if frames >= BackgroundCheckpoint.backgroundFrames {
                    Unmanaged<HookContext>.fromOpaque(context!).takeUnretainedValue().checkpoint?.start()
                }
                return SQLITE_OK
            }, context)
    }

    /// One passive checkpoint at a time; a request while one runs is dropped (the next commit asks again).
    func start() {
        guard !closed.load(ordering: .acquiring),
            running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        connection.asyncWriteWithoutTransaction { db in
            self.exclusively { _ = try? db.checkpoint(.passive) }
            self.running.store(false, ordering: .releasing)
        }
    }

    /// Closes the connection once a checkpoint in progress is done, and starts none after. Until then the
    /// connection keeps the database open, so the writer's close would not be the last one, which checkpoints
    /// the WAL and removes it.
    func close() throws {
        closed.store(true, ordering: .releasing)
        try connection.close()
    }

    /// Runs `body` (a checkpoint) once no background checkpoint is in progress, and starts none meanwhile.
    /// SQLite refuses a second checkpoint at once, without calling its busy handler: the WAL scrub must not
    /// meet one.
    func exclusively(_ body: () -> Void) {
        checkpointing.withLock { _ in body() }
    }

    /// Set once, before the hook can run; a weak reference reads atomically.
    private final class HookContext: @unchecked Sendable {
        weak var checkpoint: BackgroundCheckpoint?
        init(_ checkpoint: BackgroundCheckpoint) { self.checkpoint = checkpoint }
    }
}
