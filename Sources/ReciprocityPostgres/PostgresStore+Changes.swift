import Foundation
import PostgresNIO
import ReciprocityStore

// Live delivery across processes (`GET /v1/events`): a process that stores a change for members NOTIFYs their
// ids on one channel; every process LISTENs and tells the members' open streams it holds. The payload is the
// sending process's random origin and the members' internal row ids, numbers that mean something only to a
// process reading the database: no handle, token, content or count.
extension PostgresStore {
    static let changesChannel = "reciprocity_changes"

    /// Tells every listening process (`listenForChanges`) that members `memberIDs` have something new.
    public func notifyChanges(memberIDs: [Int64], origin: String) async throws {
        let payload = origin + ":" + memberIDs.map(String.init).joined(separator: ",")
        try await read { connection in
            try await self.execute("SELECT pg_notify(\(Self.changesChannel), \(payload))", on: connection)
        }
    }

    /// Until cancelled, on a connection of its own: LISTENs, and hands the member ids of each notification sent
    /// by another origin to `deliver`. After a lost connection it connects again a second later (changes
    /// meanwhile reach the members at their next poll).
    public func listenForChanges(origin: String, deliver: @escaping @Sendable ([Int64]) -> Void) async {
        while !Task.isCancelled {
            try? await Self.withDirectConnection(location, logger: logger) { connection in
                try await connection.listen(on: Self.changesChannel) { notifications in
                    for try await notification in notifications {
                        let parts = notification.payload.split(separator: ":", maxSplits: 1)
                        guard parts.count == 2, parts[0] != origin else { continue }
                        deliver(parts[1].split(separator: ",").compactMap { Int64($0) })
                    }
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
