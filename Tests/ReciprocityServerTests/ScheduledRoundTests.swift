import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReciprocityAPI
import ReciprocityCore
import ReciprocitySQLite
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// Scheduled rounds (#27): the admin API sets and cancels them with clear refusals, members see the time with
/// their program, and real `reciprocityd serve` processes start a due round once, however many run.
@Suite(.serialized) struct ScheduledRoundTests {
    @Test(arguments: Backend.enabled)
    func organizersScheduleAndCancelARoundAndMembersSeeWhen(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let path = "/v1/admin/programs/\(program)/next-round"
            let joined = try await client.send(
                .post, "/v1/programs/\(program)/members",
                json: JoinRequest(
                    invite: invite, handle: "amy", publicKey: try PrivateKey().publicKey.base64URL,
                    profile: Profile(displayName: "Amy")))
            let member: HTTPFields = [.authorization: "Bearer \(try joined.decode(JoinResponse.self).credential)"]
            #expect(!String(buffer: try await client.send(.get, "/v1/me", headers: member).body).contains("nextRound"))

            for (body, code) in [
                (#"{"at":"tomorrow"}"#, "invalid-time"), (#"{"at":"2027-01-31T18:00:00"}"#, "invalid-time"),
                (#"{"at":"2001-01-31T18:00:00Z"}"#, "time-passed"), (#"{"at":"2999-01-31T18:00:00Z"}"#, "invalid-time"),
                (#"{"at":12}"#, "invalid-body"), (#"{}"#, "invalid-body"),
            ] {
                let refused = try await client.send(.put, path, headers: admin, raw: body)
                #expect(refused.status == .badRequest, "\(body)")
                #expect(try refused.problem().code == code, "\(body)")
            }
            let at = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3 * 86_400).rounded())
            let scheduled = try await client.send(
                .put, path, headers: admin, raw: #"{"at":"\#(at.formatted(.iso8601))"}"#)
            #expect(scheduled.status == .ok)
            #expect(try scheduled.decode(ProgramInfo.self).nextRoundAt == at)
            let listed = try await client.send(.get, "/v1/admin/programs", headers: admin).decode([ProgramInfo].self)
            #expect(listed.map(\.nextRoundAt) == [at])
            // The member's program says when the round closes: the same for every member.
            #expect(
                try await client.send(.get, "/v1/me", headers: member).decode(SelfInfo.self).program.nextRoundAt == at)
            // A member cannot schedule one.
            #expect(
                try await client.send(.put, path, headers: member, raw: #"{"at":"2030-01-01T00:00:00Z"}"#).status
                    == .unauthorized)

            let cancelled = try await client.send(.delete, path, headers: admin)
            #expect(cancelled.status == .ok)
            #expect(try cancelled.decode(ProgramInfo.self).nextRoundAt == nil)
            #expect(try await client.send(.delete, path, headers: admin).status == .ok, "none scheduled is no error")
            let audit = try await client.send(.get, "/v1/admin/programs/\(program)/audit", headers: admin)
                .decode(AuditLogResponse.self)
            #expect(audit.entries.prefix(2).map(\.action) == ["round-cancelled", "round-scheduled"])
            #expect(audit.entries.filter { $0.action == "epoch-changed" }.isEmpty)
        }
    }

    /// Two processes on PostgreSQL, one on SQLite: the round starts within seconds of its time, exactly once.
    @Test(arguments: Backend.enabled)
    func aDueRoundIsStartedByOneServerProcess(_ backend: Backend) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reciprocity-round-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let postgres = backend == .postgres ? try await PostgresTestDatabase.create() : nil
        let database = postgres?.url ?? folder.appendingPathComponent("round.sqlite").path
        let logKey = folder.appendingPathComponent("log.key").path
        try Reciprocityd.admin(["program", "create", "acme"], database: database)
        let invite = try Reciprocityd.admin(
            ["invite", "create", "--program", "acme", "--uses", "2"], database: database)
        let servers = try (backend == .postgres ? ["a", "b"] : ["a"]).map {
            try Reciprocityd(database: database, logKey: logKey, folder: folder, name: $0)
        }
        let credential = try await servers[0].join(handle: "amy", invite: invite)
        #expect(try await servers[0].submit([try .dummy()], credential: credential) == ("pending", 200))

        let at = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 2).rounded(.up))
        let said = try Reciprocityd.admin(
            ["program", "schedule-round", "acme", "--at", at.formatted(.iso8601)], database: database)
        #expect(said.contains("moves to epoch 1"))
        let store: any ReciprocityStore = try await postgres?.store(poolSize: 2) ?? SQLiteStore(path: database)
        var epoch: UInt32 = 0
        while epoch == 0 && Date() < at + 10 {
            try await Task.sleep(for: .milliseconds(100))
            epoch = try await store.program(named: ProgramID("acme"))?.epoch ?? 0
        }
        let startedAt = Date()
        #expect(epoch == 1)
        #expect(startedAt >= at && startedAt < at + 4, "started \(startedAt.timeIntervalSince(at)) s after its time")
        try await Task.sleep(for: .seconds(2))
        let program = try #require(try await store.program(named: ProgramID("acme")))
        #expect(program.epoch == 1 && program.nextRoundAt == nil)
        let members = try await store.members(programID: program.id)
        #expect(try await store.pendingMarks(memberID: members[0].id).isEmpty)
        let audit = try await store.auditLog(programID: program.id, before: nil, limit: 10)
        #expect(audit.filter { $0.action == "epoch-changed" }.count == 1, "\(audit)")
        #expect(audit.first?.actor == "operator (command line)")
        for server in servers { server.stop() }
        try await StoreHarness.close(store)
        await postgres?.drop()
    }
}
