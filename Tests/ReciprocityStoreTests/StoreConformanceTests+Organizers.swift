import Foundation
import GRDB
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

@testable import ReciprocityPostgres
@testable import ReciprocitySQLite

/// Organizers, revocable invites and the audit log (#27), on every backend.
extension StoreConformanceTests {
    static func event(_ action: AuditAction, subject: String? = nil, detail: String? = nil, at: Date = Date())
        -> AuditEvent
    {
        AuditEvent(actor: .organizer("lead"), action: action, subject: subject, detail: detail, at: at)
    }

    @Test(arguments: Backend.enabled)
    func organizersAreScopedStoredByDigestAndRevoked(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let acme = try await store.createProgram(name: ProgramID("acme"), maxMarks: 4, epoch: 0)
        let beta = try await store.createProgram(name: ProgramID("beta"), maxMarks: 4, epoch: 0)
        let credential = try BearerSecret.generate(.organizerCredential)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let created = try await store.createOrganizer(
            name: "lead", credentialDigest: credential.digest, programs: [beta.name, acme.name, acme.name],
            actor: .operator, now: now)
        #expect(created.name == "lead" && created.programs == [acme.name, beta.name] && created.createdAt == now)
        #expect(try await store.organizer(credentialDigest: credential.digest) == created)
        #expect(try await store.organizer(credentialDigest: BearerSecret.digest(of: credential.text + "x")) == nil)
        // A name or a credential once only; an unknown program or a bad name stores nothing.
        await #expect(throws: StoreError(.organizerExists, "an organizer named 'lead' exists already")) {
            _ = try await store.createOrganizer(
                name: "lead", credentialDigest: Data(repeating: 1, count: 32), programs: [acme.name],
                actor: .operator, now: now)
        }
        await #expect(throws: StoreError(.organizerExists, "an organizer named 'other' exists already")) {
            _ = try await store.createOrganizer(
                name: "other", credentialDigest: credential.digest, programs: [acme.name], actor: .operator, now: now)
        }
        await #expect(throws: StoreError(.programNotFound, "no program named 'nowhere'")) {
            _ = try await store.createOrganizer(
                name: "other", credentialDigest: Data(repeating: 2, count: 32),
                programs: [acme.name, ProgramID("nowhere")], actor: .operator, now: now)
        }
        await #expect(throws: StoreError.self) {
            _ = try await store.createOrganizer(
                name: "Not A Name", credentialDigest: Data(repeating: 3, count: 32), programs: [acme.name],
                actor: .operator, now: now)
        }
        #expect(try await store.organizers().map(\.name) == ["lead"])
        // Each grant is in its program's audit log, in the same transaction as the organizer.
        for program in [acme, beta] {
            let entries = try await store.auditLog(programID: program.id, before: nil, limit: 10)
            #expect(entries.map(\.action) == ["organizer-granted"])
            #expect(entries.first?.actor == "operator" && entries.first?.subject == "lead")
        }
        let reopened = try await harness.reopen()
        #expect(try await reopened.organizer(credentialDigest: credential.digest) == created)
        try await StoreHarness.close(reopened)
        // Revoked: gone, the credential unknown at once, and the revocation logged in each program.
        #expect(try await store.revokeOrganizer(name: "lead", actor: .commandLine, now: now) == created)
        #expect(try await store.organizer(credentialDigest: credential.digest) == nil)
        #expect(try await store.organizers().isEmpty)
        let latest = try await store.auditLog(programID: acme.id, before: nil, limit: 1)
        #expect(latest.map(\.action) == ["organizer-revoked"] && latest.first?.actor == "operator (command line)")
        await #expect(throws: StoreError(.organizerNotFound, "no organizer named 'lead'")) {
            _ = try await store.revokeOrganizer(name: "lead", actor: .operator, now: now)
        }
    }

    @Test(arguments: Backend.enabled)
    func revokedInvitesAreListedAndRefusedLikeUnknownOnes(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let acme = try await store.createProgram(name: ProgramID("acme"), maxMarks: 4, epoch: 0)
        let beta = try await store.createProgram(name: ProgramID("beta"), maxMarks: 4, epoch: 0)
        let first = try BearerSecret.generate(.invite)
        let second = try BearerSecret.generate(.invite)
        let betas = try BearerSecret.generate(.invite)
        let expiry = Date(timeIntervalSince1970: 4_000_000_000)
        let created = try await store.createInvite(
            program: acme.name, codeDigest: first.digest, uses: 3, expiresAt: nil, audit: Self.event(.inviteCreated))
        #expect(created.id == InviteID.of(codeDigest: first.digest) && created.id.count == 22)
        try await Task.sleep(for: .milliseconds(5))
        _ = try await store.createInvite(program: acme.name, codeDigest: second.digest, uses: 1, expiresAt: expiry)
        _ = try await store.createInvite(program: beta.name, codeDigest: betas.digest, uses: 1, expiresAt: nil)
        let listed = try await store.invites(programID: acme.id)
        #expect(listed.map(\.id) == [InviteID.of(codeDigest: second.digest), created.id])
        #expect(listed.map(\.usesLeft) == [1, 3] && listed[0].expiresAt == expiry && listed[1].expiresAt == nil)
        #expect(listed.allSatisfy { $0.revokedAt == nil })

        let at = Date(timeIntervalSince1970: 1_900_000_000)
        let revoked = try await store.revokeInvite(
            program: acme.name, id: created.id, audit: Self.event(.inviteRevoked, subject: created.id, at: at))
        #expect(revoked.revokedAt == at && revoked.id == created.id)
        // Twice: the first time stands, and one audit entry.
        _ = try await store.revokeInvite(
            program: acme.name, id: created.id, audit: Self.event(.inviteRevoked, at: Date()))
        #expect(try await store.invites(programID: acme.id).last?.revokedAt == at)
        #expect(
            try await store.auditLog(programID: acme.id, before: nil, limit: 10).map(\.action) == [
                "invite-revoked", "invite-created",
            ])
        // Another program's invite, a made-up id and text that is no id are all not found, and change nothing.
        for id in [InviteID.of(codeDigest: betas.digest), String(repeating: "A", count: 22), "x", ""] {
            await #expect(throws: StoreError(.inviteNotFound, "program 'acme' has no invite '\(id)'")) {
                _ = try await store.revokeInvite(program: acme.name, id: id, audit: nil)
            }
        }
        #expect(try await store.invites(programID: beta.id).first?.revokedAt == nil)

        // The revoked code is refused with the very error of a code that never existed.
        func join(_ invite: Data, _ handle: String) async throws {
            _ = try await store.join(
                program: acme.name, inviteDigest: invite, handle: Handle(handle), publicKey: PrivateKey().publicKey,
                profile: Profile(displayName: handle),
                credentialDigest: BearerSecret.generate(.memberCredential).digest,
                now: Date())
        }
        let refusal = StoreError(.inviteInvalid, "the invite code is not valid for this program")
        await #expect(throws: refusal) { try await join(first.digest, "amy") }
        await #expect(throws: refusal) { try await join(BearerSecret.generate(.invite).digest, "amy") }
        try await join(second.digest, "amy")
        // Housekeeping deletes revoked invites with the used-up ones; the unrevoked one of beta stays.
        #expect(try await store.purge(now: Date(), matchRetention: 3600).invites == 2)
        #expect(try await store.invites(programID: acme.id).isEmpty)
        #expect(try await store.invites(programID: beta.id).count == 1)
    }

    @Test(arguments: Backend.enabled)
    func theAuditLogIsWrittenWithEachChangePagedAndPurged(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, members) = try await StoreHarness.members(store, count: 1)
        let old = Date().addingTimeInterval(-500 * 86_400)
        _ = try await store.setEpoch(
            program: program.name, epoch: 1, audit: Self.event(.epochChanged, detail: "epoch 1", at: old))
        _ = try await store.setAbout(
            program: program.name, about: ProgramAbout(description: "Hello"), audit: Self.event(.programDescribed))
        #expect(
            try await store.setMaxMarks(program: program.name, maxMarks: 5, audit: Self.event(.quotaChanged)).maxMarks
                == 5)
        #expect(try await store.program(id: program.id)?.maxMarks == 5)
        await #expect(throws: StoreError(.invalidArgument, "max marks must be 1 to 10000")) {
            _ = try await store.setMaxMarks(program: program.name, maxMarks: 0, audit: Self.event(.quotaChanged))
        }
        _ = try await store.setStatus(
            program: program.name, handle: members[0].handle, status: .suspended,
            audit: Self.event(.memberSuspended, subject: members[0].handle.rawValue, detail: "spam, twice"))
        // A change that fails writes no entry: the entry is in the change's transaction.
        await #expect(throws: StoreError.self) {
            _ = try await store.setStatus(
                program: program.name, handle: Handle("nobody"), status: .suspended,
                audit: Self.event(.memberSuspended, subject: "nobody"))
        }
        await #expect(throws: StoreError.self) {
            _ = try await store.createProgram(
                name: program.name, maxMarks: 4, epoch: 0, audit: Self.event(.programCreated))
        }
        let other = try await store.createProgram(
            name: ProgramID("other"), maxMarks: 4, epoch: 0, audit: Self.event(.programCreated))
        let all = try await store.auditLog(programID: program.id, before: nil, limit: 100)
        try #require(all.map(\.action) == ["member-suspended", "quota-changed", "program-described", "epoch-changed"])
        #expect(all[0].subject == members[0].handle.rawValue && all[0].detail == "spam, twice")
        #expect(all[0].actor == "organizer:lead" && all[3].at == StoredTime.date(StoredTime.millis(old)))
        #expect(all.map(\.id) == all.map(\.id).sorted(by: >))
        #expect(
            try await store.auditLog(programID: other.id, before: nil, limit: 100).map(\.action) == ["program-created"])
        // Pages: newest first, below `before`.
        let page = try await store.auditLog(programID: program.id, before: nil, limit: 2)
        #expect(page == Array(all.prefix(2)))
        #expect(try await store.auditLog(programID: program.id, before: page[1].id, limit: 2) == Array(all[2...]))
        // Entries older than the retention go; the rest stay.
        let purged = try await store.purge(now: Date(), matchRetention: 3600, auditRetention: 400 * 86_400)
        #expect(purged.auditEntries == 1)
        #expect(
            try await store.auditLog(programID: program.id, before: nil, limit: 100).map(\.action) == [
                "member-suspended", "quota-changed", "program-described",
            ])
        #expect(
            try await store.purge(now: Date(), matchRetention: 3600, auditRetention: 400 * 86_400).auditEntries == 0)
    }
}

/// A database from before organizers: its invites stay usable (none revoked), listed with their ids, and the new
/// tables start empty.
extension StoreConformanceTests {
    @Test(.enabled(if: PostgresTestDatabase.partitions == nil), arguments: Backend.enabled)
    func theOrganizersMigrationKeepsExistingInvitesUsable(_ backend: Backend) async throws {
        let store: any ReciprocityStore
        let harness = try StoreHarness()
        var database: PostgresTestDatabase?
        let code = BearerSecret(text: "rcpi_from-before")
        let insert = [
            "INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 0, 0)",
            "INSERT INTO directory_counter (program_id, generation, version) VALUES (1, 'g', 0)",
            "INSERT INTO invite (id, program_id, code_digest, uses_left, created_at) VALUES (1, 1, "
                + (backend == .sqlite ? "X'\(Hex.encode(code.digest))'" : "'\\x\(Hex.encode(code.digest))'")
                + ", 2, 1000)",
        ]
        if backend == .sqlite {
            let path = harness.directory.appendingPathComponent("v6.sqlite").path
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator.migrate(queue, upTo: "v6-program-about")
            try await queue.write { db in for statement in insert { try db.execute(sql: statement) } }
            try queue.close()
            store = try SQLiteStore(path: path)
        } else {
            let created = try await PostgresTestDatabase.create()
            database = created
            let earlier = PostgresStore.migrations.prefix { $0.name != "v6-organizers" }
            try await PostgresStore.administer(
                created.location,
                [PostgresStore.migrationTable] + earlier.flatMap(\.statements)
                    + earlier.map { "INSERT INTO reciprocity_migration (name) VALUES ('\($0.name)')" } + insert)
            store = try await created.store()
        }
        let listed = try await store.invites(programID: 1)
        #expect(listed.map(\.id) == [InviteID.of(codeDigest: code.digest)] && listed[0].revokedAt == nil)
        #expect(try await store.organizers().isEmpty)
        #expect(try await store.auditLog(programID: 1, before: nil, limit: 10).isEmpty)
        _ = try await store.join(
            program: ProgramID("acme"), inviteDigest: code.digest, handle: Handle("amy"),
            publicKey: PrivateKey().publicKey, profile: Profile(displayName: "Amy"),
            credentialDigest: BearerSecret.generate(.memberCredential).digest, now: Date())
        try await StoreHarness.close(store)
        await database?.drop()
    }
}

extension StoreConformanceTests {
    /// A database from before per-program audit numbers: its entries, interleaved between two programs, are
    /// numbered 1, 2, 3, … within each program in the order written, and each program's next entry follows on.
    @Test(.enabled(if: PostgresTestDatabase.partitions == nil), arguments: Backend.enabled)
    func theAuditNumbersMigrationNumbersEachProgramsEntriesInOrder(_ backend: Backend) async throws {
        let store: any ReciprocityStore
        let harness = try StoreHarness()
        var database: PostgresTestDatabase?
        let rows =
            [
                "INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 0, 0), (2, 'beta', 16, 0, 0)",
                "INSERT INTO directory_counter (program_id, generation, version) VALUES (1, 'g', 0), (2, 'h', 0)",
            ]
            + [(1, 1), (2, 2), (3, 2), (4, 1), (5, 2), (6, 1)].map { id, program in
                "INSERT INTO audit_entry (id, program_id, at, actor, action) VALUES (\(id), \(program), \(id), 'operator', 'epoch-changed')"
            }
        if backend == .sqlite {
            let path = harness.directory.appendingPathComponent("v10.sqlite").path
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator.migrate(queue, upTo: "v10-notices")
            try await queue.write { db in for row in rows { try db.execute(sql: row) } }
            try queue.close()
            store = try SQLiteStore(path: path)
        } else {
            let created = try await PostgresTestDatabase.create()
            database = created
            let earlier = PostgresStore.migrations.prefix { $0.name != "v11-side-channels" }
            try await PostgresStore.administer(
                created.location,
                [PostgresStore.migrationTable] + earlier.flatMap(\.statements)
                    + earlier.map { "INSERT INTO reciprocity_migration (name) VALUES ('\($0.name)')" } + rows
                    + ["SELECT setval(pg_get_serial_sequence('audit_entry', 'id'), 6)"])
            store = try await created.store()
        }
        let written = { (millis: [Double]) in millis.map { Date(timeIntervalSince1970: $0 / 1000) } }
        let acme = try await store.auditLog(programID: 1, before: nil, limit: 10)
        let beta = try await store.auditLog(programID: 2, before: nil, limit: 10)
        #expect(acme.map(\.id) == [3, 2, 1] && acme.map(\.at) == written([6, 4, 1]))
        #expect(beta.map(\.id) == [3, 2, 1] && beta.map(\.at) == written([5, 3, 2]))
        _ = try await store.setEpoch(
            program: ProgramID("beta"), epoch: 1, audit: AuditEvent(actor: .operator, action: .epochChanged))
        #expect(try await store.auditLog(programID: 2, before: nil, limit: 1).map(\.id) == [4])
        #expect(try await store.auditLog(programID: 1, before: 3, limit: 10).map(\.id) == [2, 1])
        try await StoreHarness.close(store)
        await database?.drop()
    }
}
