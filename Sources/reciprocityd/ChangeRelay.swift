import Foundation
import ReciprocityPostgres
import ReciprocityServer
import ServiceLifecycle

/// With PostgreSQL, passes this process's changes for `GET /v1/events` to the other processes on the same
/// database and theirs to this one's streams (LISTEN/NOTIFY, `PostgresStore+Changes`). With SQLite there is one
/// process and nothing to pass.
struct ChangeRelay: Service {
    let store: PostgresStore
    let changes: ChangeFeed
    /// Tells this process's own notifications apart from the others'.
    let origin = UUID().uuidString

    func run() async throws {
        let (store, origin) = (store, origin)
        changes.publish { memberIDs in
            Task { try? await store.notifyChanges(memberIDs: memberIDs, origin: origin) }
        }
        let changes = changes
        try? await cancelWhenGracefulShutdown {
            await store.listenForChanges(origin: origin) { changes.deliver(memberIDs: $0) }
        }
    }
}
