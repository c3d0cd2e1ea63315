import Foundation
import GRDB
import ReciprocityCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The built executables: `$RECIPROCITY_BIN_DIR`, else the package's `.build/debug`.
let binDirectory: URL = {
    if let dir = ProcessInfo.processInfo.environment["RECIPROCITY_BIN_DIR"] { return URL(fileURLWithPath: dir) }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug")
}()

struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
    /// Ended by a signal (a crash, a trap) rather than an exit.
    var crashed = false
}

/// Runs one of the executables to completion.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil)
    throws -> CommandResult
{
    let process = Process()
    process.executableURL = binDirectory.appendingPathComponent(executable)
    process.currentDirectoryURL = directory
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self), crashed: process.terminationReason == .uncaughtSignal)
}

/// A real `reciprocityd serve` process over a real SQLite file in a temporary folder, on a loopback port.
final class ServerProcess: @unchecked Sendable {
    let directory: URL
    let database: String
    private(set) var port: Int
    private var process: Process?
    private var hasStarted = false

    /// Ports handed out in order from a random base below Linux's ephemeral range (32768-60999), so two
    /// servers of one test run never pick the same port, and no outgoing connection holds ours.
    private static let nextPort = Atomic<Int>(Int.random(in: 20_000..<28_000))
    private static func allocatePort() -> Int { nextPort.add(1, ordering: .relaxed).oldValue }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "reciprocity-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = directory.appendingPathComponent("server.sqlite").path
        port = Self.allocatePort()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var url: String { "http://127.0.0.1:\(port)" }
    /// The bearer credential the server is started with for `/metrics`.
    static let metricsCredential = "metrics_" + String(repeating: "m", count: 40)
    /// The key-log signing key file `reciprocityd serve` creates next to the database.
    var logKeyFile: String { database + ".log-key" }

    /// A running server with program acme and an invite for it.
    static func withProgram(uses: Int = 20, maxMarks: Int = 16) throws -> (ServerProcess, String) {
        let server = try ServerProcess()
        _ = try server.admin(["program", "create", "acme", "--max-marks", "\(maxMarks)"])
        let invite = try server.admin(["invite", "create", "--program", "acme", "--uses", "\(uses)"])
        try server.start()
        return (server, invite)
    }

    /// Where the server's log goes (at `error` level unless `start` is given another).
    var logURL: URL { directory.appendingPathComponent("server.log") }
    private(set) var lastExitStatus: Int32?

    func start(logLevel: String = "error") throws {
        let process = Process()
        process.executableURL = binDirectory.appendingPathComponent("reciprocityd")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        process.standardError = handle
        // A port another program holds: before the first start the server has no clients yet, so take the
        // next one; after it, the clients' folders are named after the port, so the test fails.
        while Self.canConnect(port: port) {
            guard !hasStarted else { throw E2EFailure("port \(port) was taken while reciprocityd was stopped") }
            port = Self.allocatePort()
        }
        process.arguments = ["serve", "--database", database, "--port", "\(port)", "--log-level", logLevel]
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["RECIPROCITY_METRICS_CREDENTIAL": Self.metricsCredential]) { $1 }
        try process.run()
        self.process = process
        // Ready when the port accepts a connection; a process that exited is reported with its status.
        for _ in 0..<600 {
            if Self.canConnect(port: port) {
                hasStarted = true
                return
            }
            if !process.isRunning {
                self.process = nil
                let log = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
                throw E2EFailure(
                    "reciprocityd exited with status \(process.terminationStatus) on port \(port): "
                        + (log.split(separator: "\n").last.map(String.init) ?? "no log"))
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw E2EFailure("reciprocityd did not start on port \(port) in 30 s")
    }

    /// SIGTERM, then wait: a graceful shutdown.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        lastExitStatus = process.terminationStatus
        self.process = nil
    }

    /// SIGKILL: the process gets no chance to finish anything.
    func kill() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func restart() throws {
        stop()
        try start()
    }

    /// `reciprocityd admin ...` on this server's database.
    func admin(_ arguments: [String]) throws -> String {
        let result = try run("reciprocityd", ["admin"] + arguments + ["--database", database])
        guard result.status == 0 else { throw E2EFailure("admin \(arguments): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Direct SQL on the server's file: what a malicious operator could do.
    func tamper(_ sql: String, _ arguments: StatementArguments = []) throws {
        try openDatabase().write { try $0.execute(sql: sql, arguments: arguments) }
    }

    /// One integer from the server's file (a count, say).
    func count(_ sql: String) throws -> Int {
        try openDatabase().read { try Int.fetchOne($0, sql: sql) ?? 0 }
    }

    func rows(_ sql: String) throws -> [Row] {
        try openDatabase().read { try Row.fetchAll($0, sql: sql) }
    }

    /// The server's file, opened as another process would: waiting for the server's own writes (a just-started
    /// server runs housekeeping, which writes and checkpoints) rather than failing at once with "locked".
    private func openDatabase() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: database, configuration: configuration)
    }

    /// Appends an entry to program acme's key log, as a malicious operator with the database could.
    func appendLogEntry(_ event: KeyLogEvent, handle: String, key: Data) throws {
        try tamper(
            """
            INSERT INTO key_log (program_id, idx, event, handle, public_key, created_at)
            SELECT id, (SELECT COALESCE(MAX(idx) + 1, 0) FROM key_log WHERE program_id = program.id), ?, ?, ?, 0
            FROM program WHERE name = 'acme'
            """, [event.rawValue, handle, key])
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A member driven through the `reciprocity` CLI with its own home folder.
struct CLIMember {
    let handle: String
    let home: URL
    let server: ServerProcess

    init(_ handle: String, server: ServerProcess) {
        self.handle = handle
        self.server = server
        home = server.directory.appendingPathComponent("home-\(handle)")
    }

    @discardableResult
    func cli(_ arguments: [String]) throws -> CommandResult {
        try run("reciprocity", arguments, environment: ["RECIPROCITY_HOME": home.path])
    }

    /// Runs a command that must succeed; returns its standard output.
    @discardableResult
    func ok(_ arguments: [String]) throws -> String {
        let result = try cli(arguments)
        guard result.status == 0 else {
            throw E2EFailure("\(handle): reciprocity \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }

    func join(invite: String, program: String = "acme", extra: [String] = []) throws {
        try ok(["join", "--server", server.url, "--program", program, "--invite", invite, "--handle", handle] + extra)
    }

    /// Every file under the home folder and its bytes, to prove a failed command changed nothing.
    func snapshot() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: home.path)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = home.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = FileManager.default.contents(atPath: full)
            }
        }
        return files
    }

    /// What the member owns on this device, byte for byte: the key, the credential, pinned keys, the padding
    /// and every real mark; without what a command may refresh whether or not it succeeds (the verified
    /// head and replica of the key log, the directory replica, the epoch seen, and the dummy marks a refused command still replaces
    /// so that the server sees the same requests as for one that goes through).
    func memberFacts() throws -> [String: Data] {
        // The directory replica is a copy of public profiles that any command may refresh.
        var facts = try snapshot().filter { !$0.key.hasSuffix("directory.json") }
        for (path, data) in facts where path.hasSuffix("state.json") {
            guard var state = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            // (and the padding's default, recorded at first use)
            for key in ["treeHead", "replica", "ownLogKey", "epoch", "padTo"] { state[key] = nil }
            state["marks"] = (state["marks"] as? [[String: Any]] ?? []).filter { $0["handle"] != nil }
            facts[path] = try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys])
        }
        return facts
    }

    struct MatchEntry: Decodable {
        var handle: String
        var wants: String?
        var verified: Bool
        var problem: String?
        var note: String?
        var noteProblem: String?
    }

    func matches() throws -> [MatchEntry] {
        try JSONDecoder().decode([MatchEntry].self, from: Data(try ok(["matches", "--json"]).utf8))
    }
}

struct E2EFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
