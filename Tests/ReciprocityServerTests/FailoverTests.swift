import Foundation
import ReciprocityAPI
import ReciprocityCore
import ReciprocityPostgres
import ReciprocityStore
import Synchronization
import Testing

/// The failover drill of `scripts/failover.sh run`, which sets up a primary with a synchronous streaming
/// replica and the `RECIPROCITY_FAILOVER_*` variables; without them the test does not run.
@Suite(.serialized) struct FailoverTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test(.enabled(if: environment["RECIPROCITY_FAILOVER_PRIMARY_URL"] != nil))
    func killingThePrimaryMidStormLosesNothingAcknowledged() async throws {
        let primary = try #require(Self.environment["RECIPROCITY_FAILOVER_PRIMARY_URL"])
        let replica = try #require(Self.environment["RECIPROCITY_FAILOVER_REPLICA_URL"])
        let cluster = try #require(Self.environment["RECIPROCITY_FAILOVER_DIR"])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "reciprocity-fo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let logKey = folder.appendingPathComponent("log.key").path
        let members = 200
        let pairs = 50

        try Reciprocityd.admin(["program", "create", "acme", "--max-marks", "16"], database: primary)
        let invite = try Reciprocityd.admin(
            ["invite", "create", "--program", "acme", "--uses", "\(members)"], database: primary)
        let before = [
            try Reciprocityd(database: primary, logKey: logKey, folder: folder, name: "a"),
            try Reciprocityd(database: primary, logKey: logKey, folder: folder, name: "b"),
        ]
        let credentials = try await MultiProcessTests.concurrently(members, width: 16) { index in
            try await before[index % 2].join(handle: "member\(index)", invite: invite)
        }
        let tokens = try (0..<pairs).map { _ in try Mark.dummy().token }
        for pair in 0..<pairs {
            for side in 0..<2 {
                _ = try await before[side].submit(
                    [Mark(token: tokens[pair], tag: try .random())], credential: credentials[pair * 2 + side])
            }
        }
        // The heads clients saw before the failover.
        let seen = [try await before[0].head(credentials[0]), try await before[1].head(credentials[1])]

        // A write storm through both servers; kill -9 the primary in the middle of it, then promote.
        let acknowledged = Mutex<[(Int, InterestToken)]>([])
        let stopped = Mutex(false)
        let storm = Task {
            try await MultiProcessTests.concurrently(2000, width: 32) { index in
                guard !stopped.withLock({ $0 }) else { return 0 }
                let member = index % members
                let token = try Mark.dummy().token
                let answer = try? await before[index % 2].submit(
                    [Mark(token: token, tag: try .random())], credential: credentials[member], timeout: 10)
                if answer?.1 == 200 { acknowledged.withLock { $0.append((member, token)) } }
                return 0
            }
        }
        while acknowledged.withLock({ $0.count }) < 200 { try await Task.sleep(for: .milliseconds(5)) }
        try Self.script("kill-primary", cluster)
        // The servers lose their database; they are stopped as an orchestrator would, and the storm ends.
        try await Task.sleep(for: .seconds(1))
        stopped.withLock { $0 = true }
        for server in before { server.kill() }
        _ = try? await storm.value
        try Self.script("promote", cluster)

        // The servers, pointed at the promoted replica.
        let after = try Reciprocityd(database: replica, logKey: logKey, folder: folder, name: "c")
        let store = try await PostgresStore(location: try PostgresLocation(url: replica), poolSize: 2)
        let ids = try await store.members(programID: 1).reduce(into: [String: Int64]()) {
            $0[$1.handle.rawValue] = $1.id
        }
        var lost = 0
        let acked = acknowledged.withLock { $0 }
        for (member, token) in acked {
            let pending = try await store.pendingMarks(memberID: ids["member\(member)"]!)
            let matched = try await store.matches(memberID: ids["member\(member)"]!, after: nil, limit: 100)
            if !pending.contains(where: { $0.token == token }) && !matched.contains(where: { $0.token == token }) {
                lost += 1
            }
        }
        #expect(acked.count >= 200 && lost == 0, "\(lost) of \(acked.count) acknowledged marks lost")
        for pair in 0..<pairs {
            #expect(
                try await store.matches(memberID: ids["member\(pair * 2)"]!, after: nil, limit: 100).map(\.token)
                    .contains(tokens[pair]))
        }
        // The key log verifies against every head seen before: the same root at the old size.
        let head = try await after.head(credentials[2])
        var log = MerkleLog()
        for record in try await store.keyLog(programID: 1, from: 0, limit: 10_000) {
            log.append(leafHash: record.entry.leafHash)
        }
        #expect(head.treeSize == UInt64(log.count))
        for old in seen {
            #expect(Base64URL.encode(log.root(size: Int(old.treeSize))) == old.rootHash)
        }
        // The promoted replica takes writes.
        #expect(try await after.submit([try .dummy()], credential: credentials[members - 1]).1 == 200)
        after.stop()
        await store.close()
        print(
            "failover: \(acked.count) marks acknowledged before kill -9 of the primary, \(lost) lost; \(pairs) matches and key log (\(log.count) entries) intact on the promoted replica"
        )
    }

    static func script(_ step: String, _ cluster: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/failover.sh")
        process.arguments = [step, cluster]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessFailure("failover.sh \(step) failed") }
    }
}
