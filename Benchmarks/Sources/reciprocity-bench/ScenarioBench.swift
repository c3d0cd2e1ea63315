import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import ReciprocityAPI
import ReciprocityCore

#if canImport(Glibc)
import Glibc
#endif

/// `reciprocity-bench scenario`: a program's members each mark `--marks` people in one request, end to end
/// through a real server; the server's CPU (from /proc) and the members' derivations against the same
/// mutual-interest detection done pairwise with OpenMined PSI, in the same run.
struct ScenarioBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Members mark people in one request each; our CPU against pairwise OpenMined PSI for the same pairs.",
        discussion: """
            Member i marks its 10 nearest neighbours on a ring (i-5..i+5, all reciprocated) and the rest at \
            random (seeded), all as peers, each mark with a sealed note. `ours_cpu_s` is the server's CPU for \
            the submissions (on PostgreSQL, plus the `postgres` processes' CPU when the server runs on this machine) \
            plus the members' derivations; `psi_cpu_s` runs one OpenMined PSI protocol (client \
            and server, in one Python process) for every mark, the marker's set against the marked member's \
            set, which is what each member would need to learn whether their mark is returned. PSI needs \
            `openmined-psi` (in the test tools' virtual environment, scripts/tools.sh).
            """)

    @OptionGroup var options: ServerBenchOptions
    @Option(help: "Members in the program.") var members = 1000
    @Option(help: "Marks per member, in one request.") var marks = 20
    @Option(help: "Concurrent connections submitting.") var connections = 8
    @Option(
        help:
            "A postgres:// URL of a server to benchmark on (a database of its own is created and dropped); default: SQLite."
    )
    var database: String?
    @Option(help: "Python with openmined-psi; 'none' skips the PSI side.") var python = ".venv-test/bin/python3"
    @Option(help: "Seed of the random marks.") var seed: UInt64 = 1

    func run() async throws {
        guard marks >= 10, marks < members else {
            throw BenchFailure("--marks must be at least 10 and below --members")
        }
        // Checked before the minutes of our side, not after them.
        guard python == "none" || FileManager.default.fileExists(atPath: "scripts/psi_pairwise.py") else {
            throw BenchFailure(
                "scripts/psi_pairwise.py is not in this folder: run from the repository's root, or give --python none")
        }
        let keys = try (0..<members).map { _ in try PrivateKey() }
        let parties = try keys.enumerated().map {
            try Party(handle: Handle("member\($0.offset)"), publicKey: $0.element.publicKey)
        }
        let targets = markedMembers()

        // The members' side: derive every mark and seal its note, as the client library does.
        let context = InterestContext(program: try ProgramID("bench"), relation: .peer, epoch: 0)
        let clientStart = processCPUSeconds()
        let batches = try (0..<members).map { member in
            try targets[member].map { target in
                let pairwise = try KeySchedule.derive(
                    context: context, me: keys[member], handle: parties[member].handle, role: .peer,
                    other: parties[target])
                return Mark(
                    token: pairwise.token, tag: pairwise.ownTag, note: try pairwise.sealNote("Hello from \(member)"))
            }
        }
        let clientCPU = processCPUSeconds() - clientStart

        let fixture = try await ServerFixture(
            members: members, port: options.port, postgresServer: database, publicKeys: keys.map(\.publicKey))
        let client = makeClient(connections: connections)
        try await fixture.start(binary: options.serverBinary, client: client)
        let requests = try batches.enumerated().map { try fixture.submitRequest(member: $0.offset, marks: $0.element) }
        guard let serverBefore = fixture.serverCPUSeconds() else {
            throw BenchFailure("cannot read the server's CPU time")
        }
        let databaseBefore = database == nil ? nil : ServerFixture.postgresCPUSeconds()
        let start = ContinuousClock.now
        let matched = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<connections {
                group.addTask {
                    var matched = 0
                    for index in stride(from: worker, to: requests.count, by: connections) {
                        matched += try await matches(client, requests[index])
                    }
                    return matched
                }
            }
            return try await group.reduce(0, +)
        }
        let wall = elapsedSeconds(ContinuousClock.now - start)
        let serverCPU = (fixture.serverCPUSeconds() ?? .nan) - serverBefore
        // On PostgreSQL the database's own processes do part of the work: counted in, when they run here.
        let databaseCPU = databaseBefore.map { (ServerFixture.postgresCPUSeconds() ?? .nan) - $0 }
        fixture.stop()
        try await client.shutdown()
        await fixture.dropDatabase()

        let pairs = Set((0..<members).flatMap { member in targets[member].map { [min(member, $0), max(member, $0)] } })
        let mutual = pairs.filter { targets[$0[0]].contains($0[1]) && targets[$0[1]].contains($0[0]) }.count
        guard matched == mutual else {
            throw BenchFailure("the server made \(matched) matches, the marks hold \(mutual)")
        }
        let ours = serverCPU + (databaseCPU ?? 0) + clientCPU
        report("members", Double(members))
        report("marks", Double(members * marks))
        report("matches", Double(matched))
        report("submit_wall_s", wall, decimals: 2)
        report("server_cpu_s", serverCPU, decimals: 2)
        report("server_cpu_us_per_mark", serverCPU / Double(members * marks) * 1e6, decimals: 1)
        if let databaseCPU {
            report("postgres_cpu_s", databaseCPU, decimals: 2)
            report("postgres_cpu_us_per_mark", databaseCPU / Double(members * marks) * 1e6, decimals: 1)
        }
        report("client_derive_cpu_s", clientCPU, decimals: 2)
        report("ours_cpu_s", ours, decimals: 2)
        guard python != "none" else { return }
        let (psiCPU, psiMutual) = try runPSI(targets: targets)
        guard psiMutual == mutual else {
            throw BenchFailure("PSI found \(psiMutual) mutual pairs, the marks hold \(mutual)")
        }
        report("psi_runs", Double(members * marks))
        report("psi_cpu_s", psiCPU, decimals: 1)
        report("ratio", psiCPU / ours, decimals: 1)
    }

    /// Whom each member marks: the ring neighbours, then distinct random others.
    func markedMembers() -> [[Int]] {
        var random = SeededGenerator(seed: seed)
        return (0..<members).map { member in
            var chosen = (1...5).flatMap { [(member + $0) % members, (member - $0 + members) % members] }
            while chosen.count < marks {
                let other = Int.random(in: 0..<members, using: &random)
                if other != member, !chosen.contains(other) { chosen.append(other) }
            }
            return chosen
        }
    }

    /// Runs scripts/psi_pairwise.py on the same marks; returns its CPU seconds and the mutual pairs it found.
    func runPSI(targets: [[Int]]) throws -> (Double, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "scripts/psi_pairwise.py"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do {
            try process.run()
        } catch {
            throw BenchFailure("cannot run \(python) (scripts/tools.sh sets up .venv-test; or give --python): \(error)")
        }
        // A Python that exits at once (missing, or without openmined-psi) closes the pipe: its own message
        // below says why, rather than a write error.
        try? input.fileHandleForWriting.write(contentsOf: try JSONEncoder().encode(targets))
        try? input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var figures: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespaces)) {
                figures[String(parts[0])] = value
            }
        }
        guard process.terminationStatus == 0, let cpu = figures["psi_cpu_s"], let mutual = figures["psi_mutual_pairs"]
        else {
            throw BenchFailure("scripts/psi_pairwise.py failed (is openmined-psi installed?):\n\(text)")
        }
        return (cpu, Int(mutual))
    }
}

/// Submits one request and returns how many of its marks matched.
private func matches(_ client: HTTPClient, _ request: HTTPClientRequest) async throws -> Int {
    let response = try await client.execute(request, timeout: .seconds(60))
    let body = try await response.body.collect(upTo: 1 << 20)
    guard response.status == .ok else { throw BenchFailure("HTTP \(response.status.code): \(String(buffer: body))") }
    return try APICoding.decoder().decode(SubmitMarksResponse.self, from: body).results.filter { $0.status == .matched }
        .count
}

/// CPU seconds (user and system) this process has used.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
