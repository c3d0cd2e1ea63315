import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import ReciprocityAPI
import ReciprocityCore
import ReciprocityPostgres
import ReciprocitySQLite
import ReciprocityStore

#if canImport(Glibc)
import Glibc
#endif

/// A database prepared for a benchmark (one program, members with known credentials) and, once started, a
/// real `reciprocityd serve` process on a loopback port. Set up and torn down by one task; the load tasks only
/// read the credentials and the port, hence `@unchecked Sendable`.
final class ServerFixture: @unchecked Sendable {
    let directory: URL
    let databasePath: String
    /// The fixture's own PostgreSQL database, when the benchmark runs on PostgreSQL.
    private(set) var postgres: PostgresLocation?
    let port: Int
    private(set) var credentials: [String] = []
    /// The running `reciprocityd` processes: the first on `port`, each further one on the next port.
    private var processes: [Process] = []
    let program = try! ProgramID("bench")

    /// `postgresServer`: a `postgres://` URL of a server where the fixture creates a database of its own
    /// (dropped by `dropDatabase()`); without it the fixture is a SQLite file.
    /// `publicKeys`: the members' keys, for benchmarks that derive as the members (random ones otherwise).
    /// `profile`: member `i`'s profile (a display name alone otherwise).
    init(
        members: Int, port: Int, postgresServer: String? = nil, publicKeys: [PublicKey]? = nil,
        profile: ((Int) -> Profile)? = nil
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "reciprocity-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        databasePath = directory.appendingPathComponent("bench.sqlite").path
        self.port = port
        let store: any ReciprocityStore
        if let postgresServer {
            let server = try PostgresLocation(url: postgresServer)
            var location = server
            location.database =
                "reciprocity_bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try await PostgresStore.administer(server, ["CREATE DATABASE \(location.database)"])
            postgres = location
            store = try await PostgresStore(location: location, poolSize: 4)
        } else {
            store = try SQLiteStore(path: databasePath)
        }
        _ = try await store.createProgram(name: program, maxMarks: 10_000, epoch: 0)
        let invite = try BearerSecret.generate(.invite)
        if members > 0 {
            _ = try await store.createInvite(program: program, codeDigest: invite.digest, uses: members, expiresAt: nil)
        }
        for index in 0..<members {
            let credential = try BearerSecret.generate(.memberCredential)
            _ = try await store.join(
                program: program, inviteDigest: invite.digest, handle: Handle("member\(index)"),
                publicKey: try publicKeys?[index] ?? PrivateKey().publicKey,
                profile: profile?(index) ?? Profile(displayName: "Member \(index)"),
                credentialDigest: credential.digest, now: Date())
            credentials.append(credential.text)
        }
        if let store = store as? PostgresStore { await store.close() }
    }

    /// The `--database` the server is started with: the SQLite file or the PostgreSQL URL.
    var databaseArgument: String {
        guard let postgres else { return databasePath }
        let password = postgres.password.map { ":\($0)" } ?? ""
        return
            "postgres://\(postgres.username)\(password)@\(postgres.host):\(postgres.port)/\(postgres.database)?sslmode=\(postgres.tls.rawValue)"
    }

    /// Drops the fixture's PostgreSQL database.
    func dropDatabase() async {
        guard var server = postgres else { return }
        let name = server.database
        server.database = "postgres"
        try? await PostgresStore.administer(server, ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Inserts `count` random pending marks straight into the file, all held by the last member (the quota does
    /// not apply here: this only makes the store large; the last member must not be used for measuring).
    /// With `notes`, each carries a random 540-byte sealed note, as real marks do.
    func preload(tokens count: Int, notes: Bool = false) async throws {
        if let postgres {
            guard !notes else { throw BenchFailure("--with-notes is for SQLite only") }
            return try await Self.preloadPostgres(postgres, tokens: count)
        }
        try preloadSQLite(tokens: count, notes: notes)
    }

    private func preloadSQLite(tokens count: Int, notes: Bool) throws {
        let queue = try DatabaseQueue(path: databasePath)
        let programID = try queue.read { try Int64.fetchOne($0, sql: "SELECT id FROM program")! }
        let memberID = try queue.read { try Int64.fetchOne($0, sql: "SELECT MAX(id) FROM member")! }
        var remaining = count
        while remaining > 0 {
            let chunk = min(remaining, 20_000)
            try queue.write { db in
                let insert = try db.makeStatement(
                    sql:
                        "INSERT INTO mark (token, program_id, epoch, member_id, tag, note, created_at) VALUES (?, ?, 0, ?, ?, ?, 0)"
                )
                for _ in 0..<chunk {
                    let mark = try Mark.dummy()
                    try insert.execute(arguments: [
                        mark.token.rawRepresentation, programID, memberID, mark.tag.rawRepresentation,
                        notes ? mark.note?.rawRepresentation : nil,
                    ])
                }
            }
            remaining -= chunk
        }
    }

    /// PostgreSQL's preload: the server makes the rows itself (two MD5s of random numbers give 32 uniformly
    /// random bytes, as a token is), 100,000 to a statement, so that 10 million take minutes, not hours.
    private static func preloadPostgres(_ location: PostgresLocation, tokens count: Int) async throws {
        let random = "decode(md5(random()::text || random()::text) || md5(random()::text || random()::text), 'hex')"
        let statements = stride(from: 0, to: count, by: 100_000).map { chunkStart in
            """
            INSERT INTO mark (program_id, epoch, token, member_id, tag, note, created_at)
            SELECT (SELECT id FROM program), 0, \(random), (SELECT MAX(id) FROM member), \(random), NULL, 0
            FROM generate_series(1, \(min(100_000, count - chunkStart))) ON CONFLICT DO NOTHING
            """
        }
        try await PostgresStore.administer(location, statements + ["VACUUM ANALYZE mark"])
    }

    /// Starts `instances` `reciprocityd serve` processes (found next to this executable unless given) on one
    /// database and one log key, on `port`, `port + 1`, ..., one after the other, each answering before the next.
    func start(binary: String?, client: HTTPClient, instances: Int = 1) async throws {
        let executable =
            binary
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("reciprocityd").path
        for instance in 0..<instances {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            // No rate limit: the benchmarks drive few members much harder than people would.
            process.arguments = [
                "serve", "--database", databaseArgument, "--port", "\(port + instance)", "--log-level", "warning",
                "--rate-limit", "0", "--log-key-file", directory.appendingPathComponent("log.key").path,
            ]
            try process.run()
            processes.append(process)
            try await waitUntilAnswering(port: port + instance, client: client)
        }
    }

    private func waitUntilAnswering(port: Int, client: HTTPClient) async throws {
        for _ in 0..<200 {
            let probe = HTTPClientRequest(url: "http://127.0.0.1:\(port)/openapi.yaml")
            if let response = try? await client.execute(probe, timeout: .seconds(1)), response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchFailure("reciprocityd did not start on port \(port)")
    }

    func stop() {
        for process in processes where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        processes = []
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// The largest peak resident set size of the server processes, in MiB (VmHWM from /proc).
    func serverPeakRSSMiB() -> Double? {
        processes.compactMap { process -> Double? in
            guard
                let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
            else { return nil }
            return kib / 1024
        }.max()
    }

    /// File size of the database (after a checkpoint) per pending mark stored.
    func bytesPerToken() throws -> Double {
        let queue = try DatabaseQueue(path: databasePath)
        try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let count = try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM mark")! }
        let size = try FileManager.default.attributesOfItem(atPath: databasePath)[.size] as! Int
        return Double(size) / Double(max(count, 1))
    }

    /// CPU seconds (user and system) the server processes have used so far, together, from /proc. Unlike
    /// rates, this hardly moves with what else the machine is doing.
    func serverCPUSeconds() -> Double? {
        let ticks = processes.map { cpuTicks(processStat: "/proc/\($0.processIdentifier)/stat") }
        guard !ticks.isEmpty, !ticks.contains(nil) else { return nil }
        return ticks.reduce(0) { $0 + $1! } / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds of every `postgres` process on this machine (the server benchmarked against runs here, and
    /// its backends stay connected through a run): PostgreSQL's share of the work, which `serverCPUSeconds`
    /// does not see. nil when no such process runs here.
    static func postgresCPUSeconds() -> Double? {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { Int($0) != nil } ?? []
        let ticks = processes.compactMap { pid -> Double? in
            guard (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("postgres") == true
            else { return nil }
            return cpuTicks(processStat: "/proc/\(pid)/stat")
        }
        return ticks.isEmpty ? nil : ticks.reduce(0, +) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A POST /v1/marks request for `marks` from member `member`.
    func submitRequest(member: Int, marks: [Mark]) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url("/v1/marks"))
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(credentials[member])")
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try APICoding.encoder().encode(SubmitMarksRequest(epoch: 0, marks: marks.map(MarkItem.init)))
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Sends a request and checks for 200, draining the body.
func send(_ client: HTTPClient, _ request: HTTPClientRequest) async throws {
    let response = try await client.execute(request, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 1 << 20)
    guard response.status == .ok else {
        throw BenchFailure("HTTP \(response.status.code): \(String(buffer: body))")
    }
}

extension ServerFixture {
    /// A fresh single-use invite code for the fixture's program.
    func invite() async throws -> String {
        let code = try BearerSecret.generate(.invite)
        _ = try await SQLiteStore(path: databasePath).createInvite(
            program: program, codeDigest: code.digest, uses: 1, expiresAt: nil)
        return code.text
    }
}

/// utime + stime, in clock ticks, of the process whose /proc stat file this is.
private func cpuTicks(processStat path: String) -> Double? {
    guard let stat = try? String(contentsOfFile: path, encoding: .utf8), let end = stat.lastIndex(of: ")") else {
        return nil
    }
    // Fields after the command's closing parenthesis start at field 3; utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: end)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return user + system
}
