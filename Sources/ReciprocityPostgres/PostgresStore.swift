public import Foundation
import Logging
import NIOCore
import PostgresNIO
public import ReciprocityCore
public import ReciprocityStore
public import ServiceLifecycle

/// The PostgreSQL backend, for several server processes on one database. Each method is one transaction.
/// Where SQLite serialises every write through one writer, this backend locks only what a change needs:
/// the member's own row for their marks (quota and idempotence), the unique key of `mark` and `match` for a
/// token (exactly one match per pair), and a per-program advisory lock for the key log (gap-free indexes).
public final class PostgresStore: ReciprocityStore, Service {
    /// How the store's connection pool runs.
    public enum PoolLifecycle: Sendable {
        /// In a task of the store's own, from `init` until `close()`: tools and tests.
        case ownTask
        /// While `run()` runs: the store is a `Service` in the caller's `ServiceGroup`, ahead of the services
        /// that use it, and its pool stops when the group shuts it down (`reciprocityd serve`).
        case service
    }

    public let location: PostgresLocation
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>?

    /// Connects, checks the database answers, and applies every migration this build knows (under an advisory
    /// lock, so that processes starting together do not race), on one direct connection, so that a wrong
    /// address, user or password is one clear sentence at start. `poolSize` is the most connections the pool
    /// holds open; a connection idle for `idleTimeout` is closed.
    public init(
        location: PostgresLocation, poolSize: Int = 10, idleTimeout: Duration = .seconds(60),
        pool lifecycle: PoolLifecycle = .ownTask
    ) async throws {
        guard poolSize >= 1, poolSize <= 1000 else {
            throw StoreError(.invalidArgument, "the pool size must be 1 to 1000")
        }
        var logger = Logger(label: "reciprocity.postgres")
        logger.logLevel = .error
        self.logger = logger
        self.location = location
        var configuration = location.clientConfiguration(poolSize: poolSize)
        configuration.options.connectionIdleTimeout = idleTimeout
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = lifecycle == .ownTask ? Task { await client.run() } : nil
        do {
            try await Self.withDirectConnection(location, logger: logger) { try await migrate(on: $0) }
        } catch {
            await close()
            throw error
        }
    }

    /// Runs the connection pool until graceful shutdown or cancellation; only for a store made with
    /// `pool: .service` (the pool of an `.ownTask` store already runs).
    public func run() async {
        await client.run()
    }

    /// Runs `body` on one direct connection outside the pool, then closes it.
    static func withDirectConnection<T>(
        _ location: PostgresLocation, logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await connect(location: location, logger: logger)
        do {
            let value = try await body(connection)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// One direct connection, outside the pool.
    static func connect(location: PostgresLocation, logger: Logger) async throws -> PostgresConnection {
        let configuration = location.clientConfiguration(poolSize: 1)
        var connectionConfiguration: PostgresConnection.Configuration
        if let path = configuration.unixSocketPath {
            connectionConfiguration = .init(
                unixSocketPath: path, username: location.username, password: location.password,
                database: location.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            switch location.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            connectionConfiguration = .init(
                host: location.host, port: location.port, username: location.username, password: location.password,
                database: location.database, tls: tls)
        }
        connectionConfiguration.options.connectTimeout = .seconds(5)
        do {
            return try await PostgresConnection.connect(
                on: PostgresClient.defaultEventLoopGroup.next(), configuration: connectionConfiguration, id: 0,
                logger: logger
            ).get()
        } catch {
            throw StoreError(.invalidArgument, "cannot connect to \(location.redacted): \(Self.reason(error))")
        }
    }

    /// What went wrong, in words that never include the password or a query's values.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            switch error.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown: return "the server cannot be reached"
            case .sslUnsupported: return "the server does not offer TLS (use sslmode=disable or prefer)"
            default: return "\(error.code)"
            }
        }
        let text = "\(error)"
        if text.contains("refused") { return "connection refused" }
        if text.contains("timed out") || text.contains("Timeout") { return "timed out" }
        return "the server cannot be reached"
    }

    /// Stops the pool of an `.ownTask` store and closes every connection (a `.service` store's pool stops with
    /// its service group).
    public func close() async {
        runner?.cancel()
        await runner?.value
    }

    // MARK: Helpers

    /// Runs `body` in one transaction on one pooled connection, retrying a few times when PostgreSQL aborts it
    /// to break a deadlock or a serialisation conflict (nothing of it was committed).
    func transaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await retrying {
            try await client.withConnection { connection in try await transaction(on: connection, body) }
        }
    }

    /// Runs `body` in one transaction on `connection`.
    func transaction<T: Sendable>(
        on connection: PostgresConnection, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await connection.query("BEGIN", logger: logger)
        do {
            let value = try await StoreError.mappingStoredRecords { try await body(connection) }
            try await connection.query("COMMIT", logger: logger)
            return value
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Runs `attempt` again, a few times, when PostgreSQL aborted it to break a deadlock or a serialisation
    /// conflict.
    func retrying<T: Sendable>(_ attempt: () async throws -> T) async throws -> T {
        var retries = 0
        while true {
            do {
                return try await attempt()
            } catch let error as PSQLError where retries < 8 && Self.isRetryable(error) {
                retries += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << retries))))
            }
        }
    }

    /// A read outside any explicit transaction (one statement sees one snapshot).
    func read<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await StoreError.mappingStoredRecords { try await body(connection) }
        }
    }

    static func isRetryable(_ error: PSQLError) -> Bool {
        ["40001", "40P01"].contains(error.serverInfo?[.sqlState])
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }

    /// Every row of `query`, each addressable by column name.
    func rows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    func row(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> PostgresRandomAccessRow? {
        try await rows(query, on: connection).first
    }

    /// Runs a statement and returns how many rows it returned (use `RETURNING 1` to count changed rows).
    @discardableResult
    func execute(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
        var count = 0
        for try await _ in try await connection.query(query, logger: logger) { count += 1 }
        return count
    }

    static func millis(_ date: Date) -> Int64 { StoredTime.millis(date) }
    static func date(_ millis: Int64) -> Date { StoredTime.date(millis) }

    static func programRecord(_ row: PostgresRandomAccessRow) throws -> ProgramRecord {
        ProgramRecord(
            id: try row["id"].decode(Int64.self), name: try ProgramID(try row["name"].decode(String.self)),
            maxMarks: Int(try row["max_marks"].decode(Int32.self)), epoch: UInt32(try row["epoch"].decode(Int64.self)),
            createdAt: date(try row["created_at"].decode(Int64.self)),
            about: ProgramAbout(
                description: try row["description"].decode(String.self), conduct: try row["conduct"].decode(String.self)
            ),
            nextRoundAt: try row["next_round_at"].decode(Int64?.self).map(date),
            nextRoundBy: try row["next_round_by"].decode(String?.self))
    }

    func fetchProgram(_ connection: PostgresConnection, name: ProgramID) async throws -> ProgramRecord? {
        try await row("SELECT * FROM program WHERE name = \(name.rawValue)", on: connection).map(Self.programRecord)
    }

    func requireProgram(_ connection: PostgresConnection, name: ProgramID) async throws -> ProgramRecord {
        guard let record = try await fetchProgram(connection, name: name) else {
            throw StoreError(.programNotFound, "no program named '\(name)'")
        }
        return record
    }

    func fetchMember(_ connection: PostgresConnection, id: Int64) async throws -> MemberRecord? {
        guard let row = try await row("SELECT * FROM member WHERE id = \(id)", on: connection) else { return nil }
        return try await memberRecord(connection, row)
    }

    /// A member from its `member` row, with its tags.
    func memberRecord(_ connection: PostgresConnection, _ row: PostgresRandomAccessRow) async throws -> MemberRecord {
        let id = try row["id"].decode(Int64.self)
        let tags = try await rows(
            "SELECT tag FROM member_tag WHERE member_id = \(id) ORDER BY position", on: connection
        ).map { try $0["tag"].decode(String.self) }
        return try Self.memberRecord(row, tags: tags)
    }

    /// A member from its `member` row and its tags.
    static func memberRecord(_ row: PostgresRandomAccessRow, tags: [String]) throws -> MemberRecord {
        MemberRecord(
            id: try row["id"].decode(Int64.self), programID: try row["program_id"].decode(Int64.self),
            handle: try Handle(try row["handle"].decode(String.self)),
            publicKey: try PublicKey(rawRepresentation: try row["public_key"].decode(Data.self)),
            profile: Profile(
                displayName: try row["display_name"].decode(String.self),
                headline: try row["headline"].decode(String.self),
                tags: tags, offersMentoring: try row["offers_mentoring"].decode(Bool.self),
                seeksMentoring: try row["seeks_mentoring"].decode(Bool.self)),
            status: MemberStatus(rawValue: try row["status"].decode(String.self)) ?? .suspended,
            joinedAt: date(try row["joined_at"].decode(Int64.self)))
    }

    func writeTags(_ connection: PostgresConnection, memberID: Int64, tags: [String]) async throws {
        try await execute("DELETE FROM member_tag WHERE member_id = \(memberID)", on: connection)
        for (position, tag) in tags.enumerated() {
            try await execute(
                "INSERT INTO member_tag (member_id, position, tag) VALUES (\(memberID), \(Int32(position)), \(tag))",
                on: connection)
        }
    }
}

extension StoreError {
    /// `mappingStoredData` for the asynchronous bodies of this backend.
    static func mappingStoredRecords<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ReciprocityError {
            throw StoreError(.corruptData, "a stored record is malformed (\(error.code))")
        }
    }
}

extension PostgresStore {
    /// Runs `statements` one by one on a direct connection outside any transaction (as `CREATE DATABASE`
    /// needs), for tools and tests that prepare a server.
    public static func administer(_ location: PostgresLocation, _ statements: [String]) async throws {
        var logger = Logger(label: "reciprocity.postgres")
        logger.logLevel = .error
        try await withDirectConnection(location, logger: logger) { connection in
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }
}
