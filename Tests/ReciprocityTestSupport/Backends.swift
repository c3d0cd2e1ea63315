import Foundation
public import ReciprocityPostgres
public import Testing

/// A storage backend the suites run against.
public enum Backend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    public var testDescription: String { rawValue }

    /// The PostgreSQL server to test against (`scripts/test.sh` starts a throw-away one and sets it); without
    /// it only SQLite is tested.
    public static let postgresURL = ProcessInfo.processInfo.environment["RECIPROCITY_TEST_POSTGRES_URL"]

    /// SQLite always; PostgreSQL when `RECIPROCITY_TEST_POSTGRES_URL` is set; PostgreSQL alone for the run on
    /// partitioned tables (`RECIPROCITY_TEST_POSTGRES_PARTITIONS`), which has nothing to check on SQLite.
    public static let enabled: [Backend] =
        postgresURL == nil ? [.sqlite] : PostgresTestDatabase.partitions == nil ? [.sqlite, .postgres] : [.postgres]

    /// PostgreSQL alone, or nothing when it is not configured.
    public static let postgresOnly: [Backend] = postgresURL == nil ? [] : [.postgres]
}

/// A database of its own on the test server, created empty and dropped when the test's harness goes.
public struct PostgresTestDatabase: Sendable {
    public let name: String
    public let server: PostgresLocation
    public let location: PostgresLocation

    public static func create() async throws -> PostgresTestDatabase {
        let server = try PostgresLocation(url: try #require(Backend.postgresURL))
        let name = "reciprocity_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await PostgresStore.administer(server, ["CREATE DATABASE \(name)"])
        var location = server
        location.database = name
        let database = PostgresTestDatabase(name: name, server: server, location: location)
        if let partitions = partitions { try await database.partitionByToken(partitions) }
        return database
    }

    /// With `RECIPROCITY_TEST_POSTGRES_PARTITIONS=N`, every test database is migrated and then converted by
    /// `scripts/partition-by-token.sql` into N hash partitions of marks and matches by token, so that the suites
    /// check the partitioned layout of Specs/scaling.md.
    public static let partitions = ProcessInfo.processInfo.environment["RECIPROCITY_TEST_POSTGRES_PARTITIONS"].flatMap {
        Int($0)
    }

    private func partitionByToken(_ partitions: Int) async throws {
        // Opening a store applies the migrations; the script converts their tables, in one statement on one
        // connection (through PostgresNIO, not psql: a child process's pipes beside NIO's descriptors are
        // how a test process once lost a descriptor). The script checks the partition count itself.
        await (try await store()).close()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../scripts/partition-by-token.sql")
        try await PostgresStore.administer(
            location, ["SET reciprocity.partitions = '\(partitions)'", try String(contentsOf: script, encoding: .utf8)])
    }

    /// `postgres://` URL of this database, password included, for server processes started by a test.
    public var url: String {
        let password = location.password.map { ":\($0)" } ?? ""
        let socket = location.socketFolder.map { "&host=\($0)" } ?? ""
        return
            "postgres://\(location.username)\(password)@\(location.host):\(location.port)/\(name)?sslmode=\(location.tls.rawValue)\(socket)"
    }

    /// A store on this database whose idle connections close soon: tests leave stores behind (see Harness).
    public func store(poolSize: Int = 6) async throws -> PostgresStore {
        try await PostgresStore(location: location, poolSize: poolSize, idleTimeout: .seconds(3))
    }

    public func drop() async {
        try? await PostgresStore.administer(server, ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }
}
