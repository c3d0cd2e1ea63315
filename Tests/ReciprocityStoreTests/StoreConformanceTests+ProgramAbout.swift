import Foundation
import GRDB
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Testing

@testable import ReciprocityPostgres
@testable import ReciprocitySQLite

/// A program's description and code of conduct (`ProgramAbout`), on every backend: stored under the one rule,
/// carried by every read of the program, and empty in a database from before them.
extension StoreConformanceTests {
    @Test(arguments: Backend.enabled)
    func programTextsAreStoredNormalisedAndComeWithTheProgram(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, members) = try await StoreHarness.members(store, count: 1)
        #expect(program.about == ProgramAbout())
        // Line breaks become \n, the text is NFC and trimmed: "e" + combining acute is stored as one "é".
        let set = try await store.setAbout(
            program: program.name,
            about: ProgramAbout(
                description: "  Mentoring for Caf\u{65}\u{301} staff.\r\n", conduct: "1. Be kind.\r\n2. No\tspam."))
        let expected = ProgramAbout(description: "Mentoring for Caf\u{e9} staff.", conduct: "1. Be kind.\n2. No\tspam.")
        #expect(set.about == expected)
        #expect(try await store.program(named: program.name)?.about == expected)
        #expect(try await store.program(id: program.id)?.about == expected)
        #expect(try await store.programs().map(\.about) == [expected])
        let reopened = try await harness.reopen()
        #expect(try await reopened.program(id: program.id)?.about == expected)
        try await StoreHarness.close(reopened)
        _ = members
        // Texts at their bounds fit; one character more is refused and nothing changes.
        let longest = ProgramAbout(
            description: String(repeating: "\u{1F600}", count: ProgramAbout.maxDescription),
            conduct: String(repeating: "a", count: ProgramAbout.maxConduct))
        #expect(try await store.setAbout(program: program.name, about: longest).about == longest)
        for bad in [
            ProgramAbout(description: String(repeating: "a", count: ProgramAbout.maxDescription + 1)),
            ProgramAbout(conduct: String(repeating: "a", count: ProgramAbout.maxConduct + 1)),
            ProgramAbout(description: "bell \u{7}"), ProgramAbout(conduct: "escape \u{1B}[2J"),
            ProgramAbout(description: "right-to-left \u{202E}override"), ProgramAbout(conduct: "zero\u{200B}"),
            ProgramAbout(description: "x" + String(repeating: "\u{301}", count: Profile.maxCombiningMarks + 1)),
        ] {
            await #expect(throws: ReciprocityError.self) {
                _ = try await store.setAbout(program: program.name, about: bad)
            }
        }
        #expect(try await store.program(id: program.id)?.about == longest)
        // Empty texts clear; an unknown program is refused.
        #expect(try await store.setAbout(program: program.name, about: ProgramAbout()).about == ProgramAbout())
        await #expect(throws: StoreError(.programNotFound, "no program named 'nowhere'")) {
            _ = try await store.setAbout(program: ProgramID("nowhere"), about: expected)
        }
    }

    /// The join's and authentication's program records carry the texts too: what the join answer and GET /v1/me
    /// send.
    @Test(arguments: Backend.enabled)
    func joinAndAuthenticationCarryTheTexts(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let program = try await store.createProgram(name: ProgramID("acme"), maxMarks: 4, epoch: 0)
        let about = ProgramAbout(description: "About acme.", conduct: "Be kind.")
        _ = try await store.setAbout(program: program.name, about: about)
        let invite = try BearerSecret.generate(.invite)
        _ = try await store.createInvite(program: program.name, codeDigest: invite.digest, uses: 1, expiresAt: nil)
        let credential = try BearerSecret.generate(.memberCredential)
        let (_, joined) = try await store.join(
            program: program.name, inviteDigest: invite.digest, handle: Handle("amy"),
            publicKey: PrivateKey().publicKey,
            profile: Profile(displayName: "Amy"), credentialDigest: credential.digest, now: Date())
        #expect(joined.about == about)
        #expect(try await store.authenticate(credentialDigest: credential.digest)?.1.about == about)
    }

    /// A program of a database from before the texts has none after the migration, and can be given them.
    @Test(.enabled(if: PostgresTestDatabase.partitions == nil), arguments: Backend.enabled)
    func theProgramTextsMigrationLeavesExistingProgramsWithout(_ backend: Backend) async throws {
        let store: any ReciprocityStore
        let harness = try StoreHarness()
        var database: PostgresTestDatabase?
        if backend == .sqlite {
            let path = harness.directory.appendingPathComponent("v5.sqlite").path
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator.migrate(queue, upTo: "v5-directory-versions")
            try await queue.write { db in
                try db.execute(
                    sql: "INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 3, 0)")
            }
            try queue.close()
            store = try SQLiteStore(path: path)
        } else {
            let created = try await PostgresTestDatabase.create()
            database = created
            let earlier = PostgresStore.migrations.prefix { $0.name != "v5-program-about" }
            try await PostgresStore.administer(
                created.location,
                [PostgresStore.migrationTable] + earlier.flatMap(\.statements)
                    + earlier.map { "INSERT INTO reciprocity_migration (name) VALUES ('\($0.name)')" }
                    + ["INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 3, 0)"])
            store = try await created.store()
        }
        let program = try #require(try await store.program(id: 1))
        #expect(program.about == ProgramAbout() && program.epoch == 3)
        let about = ProgramAbout(description: "Now described.")
        #expect(try await store.setAbout(program: program.name, about: about).about == about)
        try await StoreHarness.close(store)
        await database?.drop()
    }
}
