import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocitySQLite
import ReciprocityServer
import ReciprocityStore
import Synchronization
import Testing

@Suite struct OperationsTests {
    @Test func healthReadinessAndMetricsWithoutPrivateLabels() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            #expect(try await client.send(.get, "/healthz").status == .ok)
            #expect(try await client.send(.get, "/readyz").status == .ok)
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let aliceMark = try alice.mark(.mentee, on: bob)
            _ = try await client.submit(alice, [aliceMark.mark, try Mark.dummy()])
            _ = try await client.send(.delete, "/v1/marks/\(aliceMark.token.base64URL)", headers: alice.auth)
            let metrics = String(
                buffer: try await client.send(
                    .get, "/metrics", headers: [.authorization: "Bearer \(harness.metricsCredential)"]
                ).body)
            #expect(metrics.contains(#"http_requests_total{method="POST",route="/v1/marks",status="200"} 1"#))
            #expect(metrics.contains(#"route="/v1/marks/{token}""#))
            #expect(metrics.contains("reciprocity_marks_submitted_total 2"))
            #expect(metrics.contains("reciprocity_members 2"))
            #expect(metrics.contains("reciprocity_pending_marks 1"))
            #expect(metrics.contains("reciprocity_database_bytes"))
            for secret in [
                aliceMark.token.base64URL, aliceMark.ownTag.base64URL, alice.credential, bob.credential,
                "alice", "bob", bob.key.publicKey.base64URL,
            ] {
                #expect(!metrics.contains(secret), "metrics mention a member or a secret")
            }
        }
    }

    @Test func readinessFailsWhenTheDatabaseCannotBeWritten() async throws {
        let harness = try Harness()
        try await harness.application().test(.live) { client in
            // Another connection holds SQLite's write lock until told to let go: the server cannot write now.
            let path = harness.databasePath
            let locked = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let holder = Thread {
                let blocker = try! DatabaseQueue(path: path)
                try! blocker.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        locked.signal()
                        release.wait()
                        return .rollback
                    }
                }
            }
            holder.start()
            await withCheckedContinuation { done in
                DispatchQueue.global().async {
                    locked.wait()
                    done.resume()
                }
            }
            let response = try await client.send(.get, "/readyz")
            release.signal()
            #expect(response.status == .serviceUnavailable)
            #expect(try response.problem().code == "not-ready")
            // Once the lock is gone the server is ready again.
            var ready = false
            for _ in 0..<50 where !ready {
                ready = try await client.send(.get, "/readyz").status == .ok
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(ready)
        }
    }

    @Test func onlineBackupUnderWriteLoadKeepsEveryAcknowledgedMark() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program(maxMarks: 10_000)
        let store = harness.sqlite
        let programRecord = try #require(try await store.program(named: program))
        // Members join through the store (the writer below needs their ids).
        var members: [MemberRecord] = []
        for index in 0..<4 {
            let (member, _) = try await store.join(
                program: program, inviteDigest: BearerSecret.digest(of: invite), handle: Handle("writer\(index)"),
                publicKey: try PrivateKey().publicKey, profile: Profile(displayName: "W"),
                credentialDigest: try BearerSecret.generate(.memberCredential).digest, now: Date())
            members.append(member)
        }
        let writers = members
        let acknowledged = AcknowledgedMarks()
        let stop = AcknowledgedMarks()
        // Writers keep submitting while the backup runs.
        let load = Task {
            var round = 0
            while stop.isEmpty {
                let member = writers[round % writers.count]
                let batch = try (0..<8).map { _ in try Mark.dummy() }
                _ = try await store.submitMarks(
                    memberID: member.id, programID: programRecord.id, epoch: 0, marks: batch, now: Date())
                acknowledged.add(batch.map(\.token))
                round += 1
            }
        }
        // Let the writers get going (on a loaded machine this takes longer than on an idle one).
        let deadline = ContinuousClock.now + .seconds(30)
        while acknowledged.all.count < 200, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let before = acknowledged.all
        let backup = harness.directory.appendingPathComponent("backup.sqlite").path
        try store.backup(to: backup)
        // Writes go on after the backup (waited for, not guessed with a sleep).
        let after = ContinuousClock.now + .seconds(30)
        while acknowledged.all.count <= before.count, ContinuousClock.now < after {
            try await Task.sleep(for: .milliseconds(20))
        }
        stop.add([try InterestToken.random()])
        try await load.value
        #expect(before.count > 100)
        #expect(acknowledged.all.count > before.count)

        // Restore into a fresh path and check every mark acknowledged before the backup began.
        let restored = harness.directory.appendingPathComponent("restored.sqlite").path
        try SQLiteStore.restore(from: backup, to: restored)
        try SQLiteStore.verify(path: restored)
        let copy = try SQLiteStore(path: restored)
        var present: Set<InterestToken> = []
        for member in writers { present.formUnion(try await copy.pendingMarks(memberID: member.id).map(\.token)) }
        #expect(before.isSubset(of: present))
        // A directory replica synced from the live database starts over on the restored one (whose versions
        // may since have gone to other changes), even where its cursor is not from the future there.
        let live = try await store.profileChanges(programID: programRecord.id, since: nil, limit: 10)
        let onRestored = try await copy.profileChanges(programID: programRecord.id, since: live.cursor, limit: 10)
        #expect(
            onRestored.reset && onRestored.changes == live.changes
                && onRestored.cursor.generation != live.cursor.generation)
        // Backups never overwrite, and a damaged file is refused.
        #expect(throws: StoreError.self) { try store.backup(to: backup) }
        let garbage = harness.directory.appendingPathComponent("garbage.sqlite").path
        try Data(repeating: 7, count: 8192).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: (any Error).self) { try SQLiteStore.restore(from: garbage, to: restored) }
    }

    @Test func corruptStoredDataIsAServerErrorNotTheCallersFault() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            try await DatabaseQueue(path: harness.databasePath).write {
                try $0.execute(sql: "UPDATE member SET public_key = x'0102'")
            }
            let response = try await client.send(.get, "/v1/directory", headers: alice.auth)
            #expect(response.status == .internalServerError)
            #expect(try response.problem().code == "internal")
            #expect(harness.logs.all.contains { $0.contains("corrupt stored data") })
        }
    }

    @Test func housekeepingPurgesExpiredInvitesAndPastEpochMarks() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        let operations = AdminOperations(store: harness.store)
        _ = try await operations.createInvite(
            program: "acme", uses: 1, expiresIn: 60, now: Date().addingTimeInterval(-120))
        let programRecord = try #require(try await harness.store.program(named: program))
        let (member, _) = try await harness.store.join(
            program: program, inviteDigest: BearerSecret.digest(of: invite), handle: Handle("alice"),
            publicKey: try PrivateKey().publicKey, profile: Profile(displayName: "A"),
            credentialDigest: try BearerSecret.generate(.memberCredential).digest, now: Date())
        _ = try await harness.store.submitMarks(
            memberID: member.id, programID: programRecord.id, epoch: 0, marks: [try Mark.dummy()], now: Date())
        // An epoch change made behind the store's back (an older server, a manual edit) leaves stale marks. The
        // store's writer may still be scrubbing the WAL after the answer: wait for it, as its own connections do.
        var waiting = Configuration()
        waiting.busyMode = .timeout(10)
        try await DatabaseQueue(path: harness.databasePath, configuration: waiting).write {
            try $0.execute(sql: "UPDATE program SET epoch = 1")
        }
        let retention = Double(StoreLimits.defaultMatchRetentionDays) * 86_400
        let purged = try await harness.store.purge(now: Date(), matchRetention: retention)
        #expect(purged == PurgeResult(invites: 1, marks: 1, matches: 0))
        #expect(
            try await harness.store.purge(now: Date(), matchRetention: retention)
                == PurgeResult(invites: 0, marks: 0, matches: 0))
    }
}

/// A thread-safe set of tokens shared between the load task and the test.
final class AcknowledgedMarks: Sendable {
    private let tokens = Mutex<Set<InterestToken>>([])
    func add(_ new: [InterestToken]) { tokens.withLock { $0.formUnion(new) } }
    var all: Set<InterestToken> { tokens.withLock { $0 } }
    var isEmpty: Bool { all.isEmpty }
}
