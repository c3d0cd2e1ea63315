public import Foundation
import ReciprocityCore
import ReciprocityPostgres
public import ReciprocitySQLite
public import ReciprocityStore

/// A real database for one test: a SQLite file in a fresh temporary folder, or a fresh PostgreSQL database.
public final class StoreHarness: Sendable {
    public let backend: Backend
    public let directory: URL
    /// The SQLite file, or the PostgreSQL database's URL.
    public let databasePath: String
    public let store: any ReciprocityStore
    /// The PostgreSQL database, dropped with the harness.
    public let postgres: PostgresTestDatabase?

    /// A harness over a SQLite file.
    public convenience init() throws {
        let directory = Self.makeDirectory()
        let path = directory.appendingPathComponent("test.sqlite").path
        self.init(backend: .sqlite, directory: directory, path: path, store: try SQLiteStore(path: path), postgres: nil)
    }

    private init(
        backend: Backend, directory: URL, path: String, store: any ReciprocityStore, postgres: PostgresTestDatabase?
    ) {
        self.backend = backend
        self.directory = directory
        self.databasePath = path
        self.store = store
        self.postgres = postgres
    }

    /// A harness over `backend`.
    public static func make(_ backend: Backend) async throws -> StoreHarness {
        guard backend == .postgres else { return try StoreHarness() }
        let database = try await PostgresTestDatabase.create()
        return StoreHarness(
            backend: .postgres, directory: makeDirectory(), path: database.url, store: try await database.store(),
            postgres: database)
    }

    private static func makeDirectory() -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "reciprocity-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The SQLite store, for tests of what only SQLite has (its files, WAL, backups).
    public var sqlite: SQLiteStore { store as! SQLiteStore }

    /// The temporary folder goes. A PostgreSQL test database stays until the throw-away cluster is removed:
    /// a test may go on using `store` after its last use of the harness, which may already have released it.
    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A second, independent store on the same database, as after a restart or in another server process.
    public func reopen() async throws -> any ReciprocityStore {
        if let postgres { return try await postgres.store() }
        return try SQLiteStore(path: databasePath)
    }

    /// Closes a store `reopen` returned.
    public static func close(_ store: any ReciprocityStore) async throws {
        if let store = store as? PostgresStore { await store.close() }
        if let store = store as? SQLiteStore { try store.close() }
    }

    /// Joins `count` members to a fresh program directly through the store.
    public static func members(
        _ store: any ReciprocityStore, count: Int, maxMarks: Int = 16, program name: String = "acme"
    )
        async throws -> (ProgramRecord, [MemberRecord])
    {
        let program = try await store.createProgram(name: ProgramID(name), maxMarks: maxMarks, epoch: 0)
        let invite = try BearerSecret.generate(.invite)
        _ = try await store.createInvite(program: program.name, codeDigest: invite.digest, uses: count, expiresAt: nil)
        var members: [MemberRecord] = []
        for index in 0..<count {
            let (member, _) = try await store.join(
                program: program.name, inviteDigest: invite.digest, handle: Handle("member\(index)"),
                publicKey: try PrivateKey().publicKey, profile: Profile(displayName: "M\(index)"),
                credentialDigest: try BearerSecret.generate(.memberCredential).digest, now: Date())
            members.append(member)
        }
        return (program, members)
    }
}
