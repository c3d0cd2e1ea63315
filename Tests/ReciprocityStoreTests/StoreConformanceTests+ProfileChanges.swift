import Foundation
import PostgresNIO
import ReciprocityCore
import ReciprocityStore
import ReciprocityTestSupport
import Synchronization
import Testing

@testable import ReciprocityPostgres

/// The directory replica's source (`profileChanges`), on every backend: what a change is, the cursor rules,
/// and that versions follow commit order under concurrent writers.
extension StoreConformanceTests {
    /// A replica built from pages as a client builds it: a reset starts it over, a change without a profile
    /// drops the handle.
    struct Replica {
        var profiles: [String: Profile] = [:]
        var cursor: DirectoryCursor?

        mutating func sync(_ store: any ReciprocityStore, programID: Int64, limit: Int = 1000) async throws {
            var more = true
            while more {
                let page = try await store.profileChanges(programID: programID, since: cursor, limit: limit)
                if page.reset { profiles = [:] }
                for change in page.changes { profiles[change.handle.rawValue] = change.profile }
                cursor = page.cursor
                more = page.more
            }
        }
    }

    static func profile(_ name: String) -> Profile {
        Profile(displayName: name, headline: "about \(name)", tags: ["t-\(name.lowercased())"], offersMentoring: true)
    }

    @Test(arguments: Backend.enabled)
    func profileChangesFollowJoinsUpdatesAndChangesOfStatus(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, members) = try await StoreHarness.members(store, count: 4)
        let first = try await store.profileChanges(programID: program.id, since: nil, limit: 1000)
        #expect(first.reset && !first.more)
        #expect(first.changes.map(\.handle.rawValue) == ["member0", "member1", "member2", "member3"])
        #expect(first.changes.map(\.version) == [1, 2, 3, 4])
        #expect(first.changes[1].profile == members[1].profile && first.changes[1].joinedAt == members[1].joinedAt)
        #expect(first.cursor.version == 4)

        // Nothing changed: an empty page, the same cursor.
        let idle = try await store.profileChanges(programID: program.id, since: first.cursor, limit: 1000)
        #expect(idle == ProfileChangesPage(changes: [], cursor: first.cursor, more: false, reset: false))

        // An update, a suspension, an update of the suspended member's neighbour, and key rotation (not a
        // directory change): each changed handle once, at its latest state, in the order of the changes.
        _ = try await store.updateProfile(memberID: members[2].id, profile: Self.profile("Two"))
        _ = try await store.setStatus(program: program.name, handle: members[1].handle, status: .suspended)
        _ = try await store.updateProfile(memberID: members[2].id, profile: Self.profile("Deux"))
        _ = try await store.rotateKey(memberID: members[0].id, publicKey: try PrivateKey().publicKey, now: Date())
        let changed = try await store.profileChanges(programID: program.id, since: first.cursor, limit: 1000)
        #expect(!changed.reset && !changed.more)
        #expect(changed.changes.map(\.handle.rawValue) == ["member1", "member2"])
        #expect(changed.changes[0].profile == nil && changed.changes[0].joinedAt == nil)
        #expect(changed.changes[1].profile == Self.profile("Deux"))
        #expect(changed.cursor.version == 7)
        // Suspending twice is no change; reinstating is one, with the profile back.
        _ = try await store.setStatus(program: program.name, handle: members[1].handle, status: .suspended)
        _ = try await store.setStatus(program: program.name, handle: members[1].handle, status: .active)
        let back = try await store.profileChanges(programID: program.id, since: changed.cursor, limit: 1000)
        #expect(back.changes.map(\.handle.rawValue) == ["member1"] && back.changes[0].profile == members[1].profile)

        // A full listing holds only active members, and pages follow the cursor.
        _ = try await store.setStatus(program: program.name, handle: members[3].handle, status: .suspended)
        var handles: [String] = []
        var cursor: DirectoryCursor?
        var pages: [ProfileChangesPage] = []
        repeat {
            let page = try await store.profileChanges(programID: program.id, since: cursor, limit: 1)
            pages.append(page)
            handles += page.changes.compactMap { $0.profile == nil ? nil : $0.handle.rawValue }
            cursor = page.cursor
        } while pages.last!.more
        #expect(pages.first!.reset && pages.dropFirst().allSatisfy { !$0.reset })
        #expect(Set(handles) == ["member0", "member1", "member2"])
    }

    @Test(arguments: Backend.enabled)
    func aCursorThisDatabaseCannotContinueFromStartsTheListingOver(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = harness.store
        let (program, members) = try await StoreHarness.members(store, count: 3)
        let (other, _) = try await StoreHarness.members(store, count: 1, program: "other")
        let current = try await store.profileChanges(programID: program.id, since: nil, limit: 1000).cursor
        let otherCursor = try await store.profileChanges(programID: other.id, since: nil, limit: 1000).cursor
        #expect(current.generation != otherCursor.generation)
        _ = try await store.updateProfile(memberID: members[0].id, profile: Self.profile("Zero"))
        for since in [
            DirectoryCursor(generation: DirectoryCursor.newGeneration(), version: 1),  // another database
            DirectoryCursor(generation: current.generation, version: current.version + 2),  // from the future
            otherCursor,  // another program
        ] {
            let page = try await store.profileChanges(programID: program.id, since: since, limit: 1000)
            #expect(page.reset, "\(since)")
            #expect(page.changes.map(\.handle.rawValue) == ["member1", "member2", "member0"])
        }
        // The cursor's text round-trips; anything else is not a cursor.
        #expect(DirectoryCursor(current.text) == current)
        for text in [
            "", "1", "\(current.generation)", "\(current.generation).", "\(current.generation).-1",
            "\(current.generation).1.2", "\(current.generation.dropLast()).1",
            "\(current.generation).1234567890123456789",
            "\(current.generation.dropLast())=.1", "\(current.generation).1e3",
        ] {
            #expect(DirectoryCursor(text) == nil, "\(text)")
        }
    }

    /// Profile updates from two stores at once (on PostgreSQL two connection pools, as two server processes)
    /// while a reader follows the cursor: each member is updated once, so a change the reader skipped would
    /// stay missing from its replica.
    @Test(arguments: Backend.enabled)
    func aReaderFollowingConcurrentChangesMissesNone(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let second = try await harness.reopen()
        let stores = [harness.store, second]
        let (program, members) = try await StoreHarness.members(harness.store, count: 60)
        var replica = Replica()
        try await replica.sync(harness.store, programID: program.id)
        let finished = Flag()
        let writers = Task {
            defer { finished.set() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, member) in members.enumerated() {
                    group.addTask {
                        let store = stores[index % 2]
                        if index % 5 == 4 {
                            _ = try await store.setStatus(
                                program: program.name, handle: member.handle, status: .suspended)
                        } else {
                            _ = try await store.updateProfile(memberID: member.id, profile: Self.profile("New\(index)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        var syncs = 0
        while !finished.isSet || syncs == 0 {
            try await replica.sync(stores[syncs % 2], programID: program.id, limit: 7)
            syncs += 1
        }
        try await writers.value
        try await replica.sync(second, programID: program.id, limit: 7)
        var expected: [String: Profile] = [:]
        for (index, member) in members.enumerated() where index % 5 != 4 {
            expected[member.handle.rawValue] = Self.profile("New\(index)")
        }
        #expect(replica.profiles == expected)
        try await StoreHarness.close(second)
    }
}

extension PostgresStoreTests {
    /// The case a sequence gets wrong: one transaction takes its version and has not committed when a later
    /// change commits. Here the later change waits for the counter row, so a reader between the two sees
    /// neither, and afterwards sees both; with versions taken outside the transaction's locks (as `nextval`
    /// takes them) the reader would see the later one first and its cursor would pass the earlier one.
    @Test(arguments: Backend.postgresOnly)
    func aChangeThatCommitsLaterCannotTakeAnEarlierVersion(_ backend: Backend) async throws {
        let harness = try await StoreHarness.make(backend)
        let store = try #require(harness.store as? PostgresStore)
        let second = try #require(try await harness.reopen() as? PostgresStore)
        let (program, members) = try await StoreHarness.members(store, count: 2)
        let start = try await store.profileChanges(programID: program.id, since: nil, limit: 1000).cursor
        let (stamped, stampedSignal) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseSignal) = AsyncStream.makeStream(of: Void.self)
        let slow = Task {
            try await store.transaction { connection in
                try await store.execute(
                    "UPDATE member SET display_name = 'Slow' WHERE id = \(members[0].id)", on: connection)
                try await store.stampDirectoryChange(connection, programID: program.id, memberID: members[0].id)
                stampedSignal.yield()
                for await _ in release { break }
            }
        }
        for await _ in stamped { break }
        let fast = Task {
            try await second.updateProfile(memberID: members[1].id, profile: StoreConformanceTests.profile("Fast"))
        }
        try await Task.sleep(for: .milliseconds(300))
        let between = try await store.profileChanges(programID: program.id, since: start, limit: 1000)
        releaseSignal.yield()
        try await slow.value
        _ = try await fast.value
        let after = try await store.profileChanges(programID: program.id, since: between.cursor, limit: 1000)
        let seen = (between.changes + after.changes).map(\.handle.rawValue)
        #expect(
            Set(seen) == ["member0", "member1"],
            "between: \(between.changes.map(\.handle)), after: \(after.changes.map(\.handle))")
        #expect(between.changes.isEmpty)
        try await StoreHarness.close(second)
    }
}

extension PostgresStoreTests {
    /// Members of a database from before directory versions get them in join order, and each program a
    /// counter at its member count under a generation of the cursor's form. It builds the older schema itself,
    /// so it runs where test databases start empty: not in the partitioned run, whose databases come migrated
    /// and partitioned (the migration itself is the same there: it touches `member` and a new table only).
    @Test(.enabled(if: PostgresTestDatabase.partitions == nil), arguments: Backend.postgresOnly)
    func theDirectoryVersionsMigrationNumbersExistingMembers(_ backend: Backend) async throws {
        let database = try await PostgresTestDatabase.create()
        let earlier = PostgresStore.migrations.prefix { $0.name != "v3-directory-versions" }
        let key = { Hex.encode(try PrivateKey().publicKey.rawRepresentation) }
        try await PostgresStore.administer(
            database.location,
            [
                "CREATE TABLE reciprocity_migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            ]
                + earlier.flatMap(\.statements)
                + earlier.map { "INSERT INTO reciprocity_migration (name) VALUES ('\($0.name)')" }
                + [
                    "INSERT INTO program (id, name, max_marks, epoch, created_at) VALUES (1, 'acme', 16, 0, 0), (2, 'empty', 16, 0, 0)",
                    """
                    INSERT INTO member (id, program_id, handle, public_key, credential_digest, display_name, headline,
                                        offers_mentoring, seeks_mentoring, status, joined_at)
                    VALUES (7, 1, 'zed', '\\x\(try key())', '\\x01', 'Z', '', false, false, 'active', 2000),
                           (8, 1, 'amy', '\\x\(try key())', '\\x02', 'A', '', false, false, 'suspended', 1000),
                           (9, 1, 'bob', '\\x\(try key())', '\\x03', 'B', '', false, false, 'active', 3000)
                    """,
                ])
        let store = try await database.store()
        let listing = try await store.profileChanges(programID: 1, since: nil, limit: 10)
        #expect(listing.changes.map { "\($0.version) \($0.handle)" } == ["2 zed", "3 bob"])
        let removed = try await store.profileChanges(
            programID: 1, since: DirectoryCursor(generation: listing.cursor.generation, version: 0), limit: 10)
        #expect(
            !removed.reset
                && removed.changes.map { "\($0.version) \($0.handle) \($0.profile == nil)" } == [
                    "1 amy true", "2 zed false", "3 bob false",
                ])
        let empty = try await store.profileChanges(programID: 2, since: nil, limit: 10)
        #expect(
            empty.changes.isEmpty && empty.cursor.version == 0 && DirectoryCursor(empty.cursor.text) == empty.cursor)
        #expect(empty.cursor.generation != listing.cursor.generation)
        // New changes continue the count.
        _ = try await store.updateProfile(memberID: 7, profile: Profile(displayName: "Zed"))
        let next = try await store.profileChanges(programID: 1, since: listing.cursor, limit: 10)
        #expect(next.changes.map { "\($0.version) \($0.handle)" } == ["4 zed"])
        await store.close()
        await database.drop()
    }
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}
