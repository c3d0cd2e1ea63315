import ArgumentParser
import Foundation
import ReciprocityClient
import ReciprocityCore

/// `reciprocity-bench interest`: how long marking N people in one call takes, as the library and as the CLI.
struct InterestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interest",
        abstract: "Time 'interest add' for N handles in one call (directory fetch, N derivations, one request).")

    @OptionGroup var options: ServerBenchOptions
    @Option(help: "Handles to mark in one call.") var handles = 100
    // The fixture's program allows 10,000 marks, and the client pads to the program's limit by default: a
    // request that size is beyond the server's 320 KiB body limit, so both sides pad to this instead.
    @Option(help: "Marks kept pending, real and dummies (--pad-to of 'interest add'); at least --handles.") var padTo =
        128

    func run() async throws {
        guard padTo >= handles else { throw BenchFailure("--pad-to must be at least --handles") }
        let fixture = try await ServerFixture(members: handles, port: options.port)
        let client = makeClient(connections: 1)
        try await fixture.start(binary: options.serverBinary, client: client)
        try await client.shutdown()
        let targets = (0..<handles).map { "member\($0)" }

        // The library: one Membership, one addInterest call.
        let home = fixture.directory.appendingPathComponent("home-library")
        var membership = try await Membership.join(
            home: home, server: fixture.url(""), program: "bench", invite: try await fixture.invite(),
            handle: "bench-library", profile: Profile(displayName: "Library"))
        let start = ContinuousClock.now
        let results = try await membership.addInterest(targets, wants: .mentor, padTo: padTo)
        let library = elapsedSeconds(ContinuousClock.now - start)
        guard results.count == handles else { throw BenchFailure("expected \(handles) results") }

        // The CLI: a whole `reciprocity interest add` process, start to exit.
        let cliHome = fixture.directory.appendingPathComponent("home-cli")
        let cli = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("reciprocity").path
        try runCLI(
            cli, home: cliHome,
            [
                "join", "--server", fixture.url(""), "--program", "bench", "--invite", try await fixture.invite(),
                "--handle", "bench-cli",
            ])
        let cliStart = ContinuousClock.now
        try runCLI(cli, home: cliHome, ["interest", "add"] + targets + ["--as", "mentee", "--pad-to", "\(padTo)"])
        let process = elapsedSeconds(ContinuousClock.now - cliStart)
        fixture.stop()
        report("handles", Double(handles))
        report("library_add_ms", library * 1000, decimals: 1)
        report("cli_process_ms", process * 1000, decimals: 1)
    }

    private func runCLI(_ path: String, home: URL, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["RECIPROCITY_HOME": home.path]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchFailure("reciprocity \(arguments[0]) failed") }
    }
}
