import Foundation
import Logging
import PostgresNIO
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

@testable import ReciprocityPostgres

/// Row locks on PostgreSQL that an audited action must not take: a mark submission holds the program row in
/// share mode and then locks its member's row, so an audited action that locked a member and then wrote the
/// program row (the audit counter once was a program column) waited for every submission in flight, and with
/// the same member deadlocked with one (PostgreSQL then aborts one of the two).
@Suite struct PostgresLockTests {
    /// A suspension and a reinstatement, audited, finish while another transaction holds the program row as a
    /// submission does; the audit entries are numbered as ever.
    @Test(arguments: Backend.postgresOnly)
    func anAuditedActionDoesNotWaitForASubmissionInFlight(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let location = try #require(harness.postgres?.location)
        let store = harness.store
        let (program, members) = try await StoreHarness.members(store, count: 1)
        let client = PostgresClient(configuration: location.clientConfiguration(poolSize: 1))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        let logger = Logger(label: "test")
        try await client.withConnection { connection in
            _ = try await connection.query("BEGIN", logger: logger)
            _ = try await connection.query(
                "SELECT 1 FROM program WHERE id = \(program.id) FOR SHARE", logger: logger)
            let audited = Task {
                let changes = [(MemberStatus.suspended, AuditAction.memberSuspended), (.active, .memberReinstated)]
                for (status, action) in changes {
                    _ = try await store.setStatus(
                        program: program.name, handle: members[0].handle, status: status,
                        audit: AuditEvent(actor: .operator, action: action, subject: members[0].handle.rawValue))
                }
                return Date()
            }
            try await Task.sleep(for: .seconds(3))
            let released = Date()
            _ = try await connection.query("ROLLBACK", logger: logger)
            let finished = try await audited.value
            #expect(finished < released, "the audited actions waited for the program row")
        }
        let log = try await store.auditLog(programID: program.id, before: nil, limit: 10)
        #expect(log.prefix(2).map(\.action) == ["member-reinstated", "member-suspended"])
        #expect(log.count >= 2 && log[0].id == log[1].id + 1)
    }
}
