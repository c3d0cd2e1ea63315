import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ReciprocityAPI
import ReciprocityCore
import ReciprocityPostgres
import ReciprocityStore
import ReciprocityTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two real `reciprocityd serve` processes on one PostgreSQL database, driven over HTTP on loopback: the
/// guarantees of a single process must hold across them.
@Suite(.serialized) struct MultiProcessTests {
    static let pairs = Int(ProcessInfo.processInfo.environment["RECIPROCITY_MULTIPROCESS_PAIRS"] ?? "") ?? 1000

    @Test(arguments: Backend.postgresOnly)
    func twoServersOnOneDatabaseKeepEveryGuarantee(_ backend: Backend) async throws {
        let database = try await PostgresTestDatabase.create()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "reciprocity-mp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let logKey = folder.appendingPathComponent("log.key").path
        let members = Self.pairs * 2 + 1
        try Reciprocityd.admin(["program", "create", "acme", "--max-marks", "10"], database: database.url)
        let invite = try Reciprocityd.admin(
            ["invite", "create", "--program", "acme", "--uses", "\(members + 10)"], database: database.url)
        let a = try Reciprocityd(database: database.url, logKey: logKey, folder: folder, name: "a")
        let b = try Reciprocityd(database: database.url, logKey: logKey, folder: folder, name: "b")
        let servers = [a, b]

        // Joins through both processes at once: one key log, every index once.
        let credentials = try await Self.concurrently(members, width: 16) { index in
            try await servers[index % 2].join(handle: "member\(index)", invite: invite)
        }
        let heads = try await [a.head(credentials[0]), b.head(credentials[1])]
        #expect(heads[0].treeSize == UInt64(members) && heads[0].rootHash == heads[1].rootHash)

        // Reciprocal races: the two members of a pair send the same token at once, each to another process.
        let tokens = try (0..<Self.pairs).map { _ in try Mark.dummy().token }
        let outcomes = try await Self.concurrently(Self.pairs * 2, width: 32) { index in
            let pair = index / 2
            let side = index % 2
            let mark = Mark(token: tokens[pair], tag: try .random())
            return try await servers[side].submit([mark], credential: credentials[pair * 2 + side]).0
        }
        var wrong = 0
        for pair in 0..<Self.pairs where Set([outcomes[pair * 2], outcomes[pair * 2 + 1]]) != ["matched", "pending"] {
            wrong += 1
        }
        #expect(wrong == 0, "\(wrong) of \(Self.pairs) pairs did not get exactly one match")
        let store = try await database.store(poolSize: 2)
        let statistics = try await store.statistics()
        #expect(statistics.matches == Self.pairs && statistics.pendingMarks == 0)

        // Racing batches of one member through both processes: 1 mark used, 10 allowed, batches of 3.
        let last = credentials[members - 1]
        _ = try await a.submit([try .dummy()], credential: last)
        let statuses = try await Self.concurrently(40, width: 40) { index in
            try await servers[index % 2].submit([try .dummy(), try .dummy(), try .dummy()], credential: last).1
        }
        #expect(statuses.filter { $0 == 200 }.count == 3 && statuses.filter { $0 == 409 }.count == 37, "\(statuses)")

        // kill -9 of one process during a write storm: every acknowledged mark is in the database.
        let acknowledged = Mutex<[(Int, InterestToken)]>([])
        let storm = Task {
            try await Self.concurrently(Self.pairs, width: 32) { index in
                let token = try Mark.dummy().token
                if try await a.submit([Mark(token: token, tag: try .random())], credential: credentials[index]).1 == 200
                {
                    acknowledged.withLock { $0.append((index, token)) }
                }
                return 0
            }
        }
        while acknowledged.withLock({ $0.count }) < min(100, Self.pairs / 4) {
            try await Task.sleep(for: .milliseconds(5))
        }
        a.kill()
        _ = try? await storm.value
        let acked = acknowledged.withLock { $0 }
        var lost = 0
        let ids = try await store.members(programID: 1).reduce(into: [String: Int64]()) {
            $0[$1.handle.rawValue] = $1.id
        }
        for (index, token) in acked {
            let pending = try await store.pendingMarks(memberID: ids["member\(index)"]!)
            if !pending.contains(where: { $0.token == token }) { lost += 1 }
        }
        #expect(acked.count >= 25 && lost == 0, "\(lost) of \(acked.count) acknowledged marks lost")
        // The other process goes on serving, with the same head.
        #expect(try await b.head(credentials[1]).treeSize == UInt64(members))
        b.stop()
        await store.close()
        await database.drop()
        print(
            "multi-process: \(members) joins, \(Self.pairs) reciprocal races, \(acked.count) marks acknowledged before kill -9, none lost"
        )
    }

    /// Runs `body` for 0..<count with at most `width` at once; results in index order.
    static func concurrently<T: Sendable>(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) async throws -> T)
        async throws -> [T]
    {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var next = 0
            while next < min(width, count) {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
            while let (index, value) = try await group.next() {
                results[index] = value
                if next < count {
                    let index = next
                    group.addTask { (index, try await body(index)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }
}

/// A `reciprocityd serve` process on a loopback port.
final class Reciprocityd: @unchecked Sendable {
    static let binDirectory: URL = {
        if let dir = ProcessInfo.processInfo.environment["RECIPROCITY_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug")
    }()

    let process = Process()
    let port: Int

    init(database: String, logKey: String, folder: URL, name: String) throws {
        port = try Self.freePort()
        process.executableURL = Self.binDirectory.appendingPathComponent("reciprocityd")
        process.arguments = [
            "serve", "--database", database, "--port", "\(port)", "--log-key-file", logKey, "--rate-limit", "0",
            "--join-rate-limit", "0", "--log-level", "error", "--database-pool-size", "8",
        ]
        let log = folder.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        for _ in 0..<600 {
            if (try? RawConnection(port: port)) != nil { return }
            guard process.isRunning else {
                throw HarnessFailure(
                    "reciprocityd \(name) exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            usleep(50_000)
        }
        throw HarnessFailure("reciprocityd \(name) did not start listening")
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Runs `reciprocityd admin ARGS --database URL` and returns what it printed.
    @discardableResult
    static func admin(_ arguments: [String], database: String) throws -> String {
        let process = Process()
        process.executableURL = binDirectory.appendingPathComponent("reciprocityd")
        process.arguments = ["admin"] + arguments + ["--database", database]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessFailure("admin \(arguments): \(error)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw HarnessFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func request(
        _ method: HTTPMethod, _ path: String, credential: String? = nil, body: (any Encodable)? = nil,
        timeout: Int64 = 60
    ) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let credential { request.headers.add(name: "Authorization", value: "Bearer \(credential)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try APICoding.encoder().encode(body)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(buffer: bytes))
    }

    /// Joins program acme and returns the member's credential.
    func join(handle: String, invite: String) async throws -> String {
        let key = try PrivateKey()
        let (status, body) = try await request(
            .POST, "/v1/programs/acme/members",
            body: JoinRequest(
                invite: invite, handle: handle, publicKey: key.publicKey.base64URL,
                profile: Profile(displayName: handle)))
        guard status == 201 else {
            throw HarnessFailure("join \(handle): \(status) \(String(decoding: body, as: UTF8.self))")
        }
        return try APICoding.decoder().decode(JoinResponse.self, from: body).credential
    }

    /// Submits marks; the first result's status ("pending", "matched") or the problem, and the HTTP status.
    func submit(_ marks: [Mark], credential: String, timeout: Int64 = 60) async throws -> (String, Int) {
        let (status, body) = try await request(
            .POST, "/v1/marks", credential: credential,
            body: SubmitMarksRequest(epoch: 0, marks: marks.map(MarkItem.init)),
            timeout: timeout)
        guard status == 200 else { return ("\(status)", status) }
        return (try APICoding.decoder().decode(SubmitMarksResponse.self, from: body).results[0].status.rawValue, status)
    }

    func head(_ credential: String) async throws -> TreeHeadInfo {
        let (status, body) = try await request(.GET, "/v1/log/head", credential: credential)
        guard status == 200 else { throw HarnessFailure("head: \(status)") }
        return try APICoding.decoder().decode(LogHeadResponse.self, from: body).treeHead
    }
}
