import ArgumentParser
import AsyncHTTPClient
import Foundation
import GRDB
import PostgresNIO
import ReciprocityCore
import ReciprocityPostgres
import ReciprocitySQLite
import ReciprocityStore

#if canImport(Glibc)
import Glibc
#endif

/// How ingestion benchmarks submit: batch size and concurrent connections.
struct IngestOptions: ParsableArguments {
    @Option(help: "Marks per request.") var batchSize = 256
    @Option(help: "Concurrent connections.") var workers = 4
}

/// Options every server benchmark shares.
struct ServerBenchOptions: ParsableArguments {
    @Option(help: "Path of the reciprocityd binary (default: next to this one).")
    var serverBinary: String?

    @Option(help: "Loopback port for the server.")
    var port = 18080
}

func makeClient(connections: Int) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(
        idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}

func elapsedSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Submits `tokens` dummy marks in batches of `batchSize` over `workers` connections; returns tokens/s.
/// Request bodies are encoded before the clock starts, as the raw loop's tokens are.
/// Members from `firstMember` on submit, each up to the 10,000 marks its quota allows.
func ingest(
    _ fixture: ServerFixture, client: HTTPClient, tokens: Int, batchSize: Int, workers: Int, firstMember: Int = 0
) async throws -> Double {
    let perMember = 10_000 / batchSize
    let batches = tokens / batchSize
    guard firstMember + (batches + perMember - 1) / perMember <= fixture.credentials.count else {
        throw BenchFailure("not enough members for \(tokens) tokens")
    }
    let requests = try (0..<batches).map { index in
        try fixture.submitRequest(
            member: firstMember + index / perMember, marks: (0..<batchSize).map { _ in try Mark.dummy() })
    }
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<workers {
            group.addTask {
                for index in stride(from: worker, to: requests.count, by: workers) {
                    try await send(client, requests[index])
                }
            }
        }
        try await group.waitForAll()
    }
    return Double(batches * batchSize) / elapsedSeconds(ContinuousClock.now - start)
}

/// The same rows, schema and batch size as the server, inserted in a plain prepared-statement loop.
func rawInsertRate(tokens: Int, batchSize: Int) async throws -> Double {
    let fixture = try await ServerFixture(members: 1, port: 0)
    let marks = try (0..<tokens).map { _ in try Mark.dummy() }
    return try rawInsertLoop(path: fixture.databasePath, marks: marks, batchSize: batchSize)
}

private func rawInsertLoop(path: String, marks: [Mark], batchSize: Int) throws -> Double {
    let (queue, insert) = try rawSQLite(path: path)
    let start = ContinuousClock.now
    for batchStart in stride(from: 0, to: marks.count, by: batchSize) {
        try queue.write { db in
            for mark in marks[batchStart..<min(batchStart + batchSize, marks.count)] { try insert(db, mark) }
        }
    }
    return Double(marks.count) / elapsedSeconds(ContinuousClock.now - start)
}

/// The fixture's SQLite file opened as the raw loops use it (the server's durability setting: WAL,
/// synchronous=NORMAL), and their prepared one-row insert, held by the program's last member.
private func rawSQLite(path: String) throws -> (DatabaseQueue, insert: (Database, Mark) throws -> Void) {
    var configuration = Configuration()
    configuration.prepareDatabase { try $0.execute(sql: "PRAGMA synchronous = NORMAL") }
    let queue = try DatabaseQueue(path: path, configuration: configuration)
    let ids = try queue.read { db in
        (
            try Int64.fetchOne(db, sql: "SELECT id FROM program")!,
            try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM member")!
        )
    }
    return (
        queue,
        { db, mark in
            try db.cachedStatement(
                sql:
                    "INSERT INTO mark (token, program_id, epoch, member_id, tag, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            ).execute(arguments: [
                mark.token.rawRepresentation, ids.0, 0, ids.1, mark.tag.rawRepresentation, mark.note?.rawRepresentation,
                1,
            ])
        }
    )
}

/// The same rows, schema and batch size as the server, inserted into a fresh PostgreSQL database of
/// `server` by one connection: one transaction per batch, one prepared INSERT per row.
func rawPostgresInsertRate(server: String, tokens: Int, batchSize: Int) async throws -> Double {
    let fixture = try await ServerFixture(members: 1, port: 0, postgresServer: server)
    let rate = try await rawPostgresInsertRate(fixture.postgres!, tokens: tokens, batchSize: batchSize)
    await fixture.dropDatabase()
    return rate
}

/// `tokens` rows held by the database's last member, in transactions of `batchSize` rows, by one connection.
func rawPostgresInsertRate(_ location: PostgresLocation, tokens: Int, batchSize: Int) async throws -> Double {
    let marks = try (0..<tokens).map { _ in try Mark.dummy() }
    return try await withPostgresConnection(location) { connection, ids, logger in
        let start = ContinuousClock.now
        for batchStart in stride(from: 0, to: marks.count, by: batchSize) {
            try await connection.query("BEGIN", logger: logger)
            for mark in marks[batchStart..<min(batchStart + batchSize, marks.count)] {
                try await insert(mark, ids, on: connection, logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        }
        return Double(marks.count) / elapsedSeconds(ContinuousClock.now - start)
    }
}

/// One mark per transaction for `seconds` by one connection (each INSERT its own transaction).
func rawPostgresSingleRowRate(_ location: PostgresLocation, seconds: Double) async throws -> Double {
    try await withPostgresConnection(location) { connection, ids, logger in
        let start = ContinuousClock.now
        var rows = 0
        while elapsedSeconds(ContinuousClock.now - start) < seconds {
            try await insert(try Mark.dummy(), ids, on: connection, logger: logger)
            rows += 1
        }
        return Double(rows) / elapsedSeconds(ContinuousClock.now - start)
    }
}

private func insert(_ mark: Mark, _ ids: (Int64, Int64), on connection: PostgresConnection, logger: Logger) async throws
{
    try await connection.query(
        """
        INSERT INTO mark (program_id, epoch, token, member_id, tag, note, created_at)
        VALUES (\(ids.0), 0, \(mark.token.rawRepresentation), \(ids.1), \(mark.tag.rawRepresentation),
                \(mark.note?.rawRepresentation), 1)
        """, logger: logger)
}

/// Runs `body` on one connection to `location`, with the ids of the program and of the last member.
private func withPostgresConnection(
    _ location: PostgresLocation,
    _ body: @escaping @Sendable (PostgresConnection, (Int64, Int64), Logger) async throws -> Double
) async throws -> Double {
    let client = PostgresClient(configuration: location.clientConfiguration(poolSize: 1))
    return try await withThrowingTaskGroup(of: Double?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await client.withConnection { connection in
            let logger = Logger(label: "bench")
            var ids: (Int64, Int64) = (0, 0)
            for try await row in try await connection.query(
                "SELECT (SELECT id FROM program) AS p, (SELECT MAX(id) FROM member) AS m", logger: logger
            ).decode((Int64, Int64).self) { ids = row }
            return try await body(connection, ids, logger)
        }
    }
}

/// One mark per transaction for `seconds` into the fixture's SQLite file.
func rawSQLiteSingleRowRate(path: String, seconds: Double) throws -> Double {
    let (queue, insert) = try rawSQLite(path: path)
    return try measureRate(seconds: seconds, batch: 16) {
        let mark = try Mark.dummy()
        try queue.write { try insert($0, mark) }
    }
}

struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract:
            "Batch ingestion through the real server against a raw insert loop (same schema, batch size), on SQLite or PostgreSQL."
    )

    @OptionGroup var options: ServerBenchOptions
    @OptionGroup var load: IngestOptions
    @Option(help: "Tokens to submit.") var tokens = 200_000
    @Option(
        help:
            "A postgres:// URL of a server to benchmark on (a database of its own is created and dropped); default: SQLite."
    )
    var database: String?

    func run() async throws {
        let members = tokens / (10_000 / load.batchSize * load.batchSize) + 1
        if let database {
            guard PostgresLocation.isPostgres(database) else {
                throw BenchFailure("--database must be a postgres:// URL")
            }
            let raw = try await rawPostgresInsertRate(server: database, tokens: tokens, batchSize: load.batchSize)
            let fixture = try await ServerFixture(members: members, port: options.port, postgresServer: database)
            let client = makeClient(connections: load.workers)
            try await fixture.start(binary: options.serverBinary, client: client)
            let served = try await ingest(
                fixture, client: client, tokens: tokens, batchSize: load.batchSize, workers: load.workers)
            fixture.stop()
            try await client.shutdown()
            await fixture.dropDatabase()
            report("ingest_tokens_per_s", served)
            report("raw_postgres_tokens_per_s", raw)
            report("ratio", served / raw, decimals: 3)
            return
        }
        // The raw loop runs first, so that neither side inherits the other's dirty page cache.
        let raw = try await rawInsertRate(tokens: tokens, batchSize: load.batchSize)
        let fixture = try await ServerFixture(members: members, port: options.port)
        let client = makeClient(connections: load.workers)
        try await fixture.start(binary: options.serverBinary, client: client)
        let served = try await ingest(
            fixture, client: client, tokens: tokens, batchSize: load.batchSize, workers: load.workers)
        let rss = fixture.serverPeakRSSMiB()
        fixture.stop()
        try await client.shutdown()
        report("ingest_tokens_per_s", served)
        report("raw_sqlite_tokens_per_s", raw)
        report("bytes_per_token", try fixture.bytesPerToken(), decimals: 1)
        if let rss { report("server_peak_rss_mib", rss, decimals: 1) }
        report("ratio", served / raw, decimals: 3)
    }
}

struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Ingestion rate with N tokens already stored against the rate on an empty store.",
        discussion: """
            Each round measures a fresh empty store and then the large one (preloaded once); `ratio` is the \
            best large-store rate over the best empty-store rate, as `derive` takes the best of its rounds, \
            and every round is printed.
            """)

    @OptionGroup var options: ServerBenchOptions
    @OptionGroup var load: IngestOptions
    @Option(help: "Tokens stored before measuring.") var tokens = 1_000_000
    @Option(help: "Tokens submitted in each measurement.") var measure = 100_000
    @Option(help: "Measurements of each store.") var rounds = 3
    @Flag(
        help: "Give every preloaded mark a 540-byte sealed note, as real marks have (a much larger file; SQLite only).")
    var withNotes = false
    @Option(
        help: """
            A postgres:// URL of a server to benchmark on (databases of their own are created and dropped); each round \
            then also runs the raw insert loop into the large database and into an empty one; default: SQLite.
            """)
    var database: String?

    func run() async throws {
        if let database, !PostgresLocation.isPostgres(database) {
            throw BenchFailure("--database must be a postgres:// URL")
        }
        // Members for one measurement; the large store gets a fresh set per round (quotas), and one more
        // member that holds the preloaded tokens.
        let perRound = measure / (10_000 / load.batchSize * load.batchSize) + 1
        let large = try await ServerFixture(
            members: perRound * rounds + 1, port: options.port, postgresServer: database)
        let start = ContinuousClock.now
        try await large.preload(tokens: tokens, notes: withNotes)
        report("preload_seconds", elapsedSeconds(ContinuousClock.now - start), decimals: 1)
        let largeClient = makeClient(connections: load.workers)
        try await large.start(binary: options.serverBinary, client: largeClient)
        var emptyRates: [Double] = []
        var largeRates: [Double] = []
        var rawEmptyRates: [Double] = []
        var rawLargeRates: [Double] = []
        var emptyBytesPerToken = 0.0
        for round in 1...rounds {
            let empty = try await ServerFixture(members: perRound, port: options.port + 1, postgresServer: database)
            let emptyClient = makeClient(connections: load.workers)
            try await empty.start(binary: options.serverBinary, client: emptyClient)
            // Each measurement starts with no other writes pending: the kernel would otherwise still be writing
            // the previous store's pages back while the next one is measured.
            sync()
            emptyRates.append(
                try await ingest(
                    empty, client: emptyClient, tokens: measure, batchSize: load.batchSize, workers: load.workers))
            empty.stop()
            try await emptyClient.shutdown()
            if empty.postgres == nil { emptyBytesPerToken = try empty.bytesPerToken() }
            await empty.dropDatabase()
            sync()
            largeRates.append(
                try await ingest(
                    large, client: largeClient, tokens: measure, batchSize: load.batchSize, workers: load.workers,
                    firstMember: (round - 1) * perRound))
            report("round_\(round)_empty_store_tokens_per_s", emptyRates.last!)
            report("round_\(round)_large_store_tokens_per_s", largeRates.last!)
            if let database, let location = large.postgres {
                // The engine alone, the same rows and batch size, into an empty database and into the large one.
                sync()
                rawEmptyRates.append(
                    try await rawPostgresInsertRate(server: database, tokens: measure, batchSize: load.batchSize))
                sync()
                rawLargeRates.append(
                    try await rawPostgresInsertRate(location, tokens: measure, batchSize: load.batchSize))
                report("round_\(round)_raw_empty_tokens_per_s", rawEmptyRates.last!)
                report("round_\(round)_raw_large_tokens_per_s", rawLargeRates.last!)
            }
        }
        let rss = large.serverPeakRSSMiB()
        large.stop()
        try await largeClient.shutdown()
        report("empty_store_tokens_per_s", emptyRates.max()!)
        report("stored_tokens", Double(tokens))
        report("large_store_tokens_per_s", largeRates.max()!)
        if large.postgres == nil {
            report("bytes_per_token", try large.bytesPerToken(), decimals: 1)
            report("empty_store_bytes_per_token", emptyBytesPerToken, decimals: 1)
        }
        await large.dropDatabase()
        if let rss { report("server_peak_rss_mib", rss, decimals: 1) }
        let ratios = zip(largeRates, emptyRates).map { $0 / $1 }.sorted()
        report("median_round_ratio", ratios[ratios.count / 2], decimals: 3)
        report("ratio", largeRates.max()! / emptyRates.max()!, decimals: 3)
        if let rawLarge = rawLargeRates.max(), let rawEmpty = rawEmptyRates.max() {
            report("raw_empty_tokens_per_s", rawEmpty)
            report("raw_large_tokens_per_s", rawLarge)
            report("raw_ratio", rawLarge / rawEmpty, decimals: 3)
        }
    }
}

struct RequestsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract:
            "Single-mark requests/s at full load against the storage engine's own one-mark-per-transaction rate, then p50/p99 latency at half the load (needs wrk).",
        discussion: """
            Every request carries one mark with a 540-byte sealed note, as a client's marks do. The raw loop \
            inserts the same row, one transaction each, with the server's durability setting, on a database of \
            its own, measured first. `ratio` is requests/s over that rate.
            """)

    @OptionGroup var options: ServerBenchOptions
    @Option(help: "Seconds per phase.") var seconds = 10
    @Option(help: "Concurrent connections for the throughput phase.") var connections = 32
    @Option(
        help:
            "A postgres:// URL of a server to benchmark on (a database of its own is created and dropped); default: SQLite."
    )
    var database: String?
    @Option(help: "reciprocityd processes on the one database (PostgreSQL only), each loaded by its own wrk.")
    var instances = 1

    func run() async throws {
        if let database, !PostgresLocation.isPostgres(database) {
            throw BenchFailure("--database must be a postgres:// URL")
        }
        guard instances == 1 || database != nil else { throw BenchFailure("--instances needs --database postgres://") }
        let raw = try await ServerFixture(members: 1, port: 0, postgresServer: database)
        let rawRate: Double
        if let location = raw.postgres {
            rawRate = try await rawPostgresSingleRowRate(location, seconds: Double(seconds))
            await raw.dropDatabase()
        } else {
            rawRate = try rawSQLiteSingleRowRate(path: raw.databasePath, seconds: Double(seconds))
        }
        let fixture = try await ServerFixture(members: 64, port: options.port, postgresServer: database)
        let client = makeClient(connections: 1)
        try await fixture.start(binary: options.serverBinary, client: client, instances: instances)
        try await client.shutdown()
        let wrk = Wrk(fixture: fixture)
        // Throughput: every connection sends its next request as soon as the last is answered.
        let cpuBefore = fixture.serverCPUSeconds()
        let full = try wrk.run(instances: instances, threads: 2, connections: connections, seconds: seconds)
        let cpuPerRequest = fixture.serverCPUSeconds().flatMap { after in
            cpuBefore.map { (after - $0) / (full.requestsPerSecond * Double(seconds)) }
        }
        // Latency: 16 connections paced so that together they offer half the measured rate. wrk measures from
        // each send, so at this load (no queue builds up) its percentiles are the server's response times.
        let target = full.requestsPerSecond / 2
        let paced = try wrk.run(
            instances: instances, threads: instances, connections: 16, seconds: seconds, delayMs: 16_000 / target)
        let rss = fixture.serverPeakRSSMiB()
        fixture.stop()
        await fixture.dropDatabase()
        guard full.failed == 0, paced.failed == 0 else {
            throw BenchFailure("\(full.failed + paced.failed) requests failed")
        }
        report("instances", Double(instances))
        report("requests_per_s", full.requestsPerSecond)
        report(database == nil ? "raw_sqlite_single_row_tx_per_s" : "raw_postgres_single_row_tx_per_s", rawRate)
        report("ratio", full.requestsPerSecond / rawRate, decimals: 3)
        if let cpuPerRequest { report("server_cpu_us_per_request", cpuPerRequest * 1e6, decimals: 1) }
        report("latency_phase_requests_per_s", paced.requestsPerSecond)
        report("p50_ms", paced.latencyMs[50] ?? .nan, decimals: 2)
        report("p99_ms", paced.latencyMs[99] ?? .nan, decimals: 2)
        report("full_load_p99_ms", full.latencyMs[99] ?? .nan, decimals: 2)
        if let rss { report("server_peak_rss_mib", rss, decimals: 1) }
    }
}
