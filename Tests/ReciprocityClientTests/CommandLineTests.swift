import Foundation
import ReciprocityCore
import Testing

/// One command of an executable, as ArgumentParser describes it (`--experimental-dump-help`).
struct CommandInfo: Decodable {
    struct Argument: Decodable {
        var kind: String
        var names: [Name]?
        var valueName: String?
        var abstract: String?
        var shouldDisplay: Bool
        var isOptional: Bool
    }

    struct Name: Decodable {
        var kind: String
        var name: String
    }

    var commandName: String
    var abstract: String?
    var subcommands: [CommandInfo]?
    var arguments: [Argument]?

    /// Every command below this one, as the words that name it (`["interest", "add"]`), with its description.
    func walk(_ path: [String] = []) -> [([String], CommandInfo)] {
        [(path, self)]
            + (subcommands ?? []).filter { $0.commandName != "help" }.flatMap { $0.walk(path + [$0.commandName]) }
    }

    /// The leaves: the commands that run something.
    func leaves() -> [([String], CommandInfo)] { walk().filter { $0.1.subcommands?.isEmpty ?? true } }

    static func load(_ executable: String) throws -> CommandInfo {
        struct Dump: Decodable { var command: CommandInfo }
        let result = try run(executable, ["--experimental-dump-help"])
        return try JSONDecoder().decode(Dump.self, from: Data(result.stdout.utf8)).command
    }
}

/// The command lines' help and their answers to bad input: every command, argument and option has a help line,
/// and no input makes a command crash or print more than one line of error.
@Suite struct CommandLineTests {
    @Test(arguments: ["reciprocity", "reciprocityd"])
    func everyCommandArgumentAndOptionHasAHelpLine(_ executable: String) throws {
        var missing: [String] = []
        for (path, command) in try CommandInfo.load(executable).walk() {
            let name = ([executable] + path).joined(separator: " ")
            if (command.abstract ?? "").isEmpty { missing.append(name) }
            for argument in command.arguments ?? [] where argument.shouldDisplay && (argument.abstract ?? "").isEmpty {
                missing.append("\(name) \(argument.names?.first?.name ?? argument.valueName ?? "?")")
            }
            let help = try run(executable, path + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("USAGE:"), "\(name) --help: \(help.stderr)")
        }
        #expect(missing.isEmpty, "no help line: \(missing)")
    }

    /// The metrics credential may not be the admin credential (as the loader trims them), given as files, as
    /// variables or one of each: one sentence and a non-zero exit. The host is not an address of this machine,
    /// so that a server that accepted them would stop there instead of serving (its error is then another).
    @Test func serveRefusesAMetricsCredentialThatIsTheAdminCredential() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let secret = String(repeating: "s3cret-", count: 6)
        let admin = directory.appendingPathComponent("admin.secret").path
        let metrics = directory.appendingPathComponent("metrics.secret").path
        try (secret + "\n").write(toFile: admin, atomically: true, encoding: .utf8)
        try ("  " + secret + " \n\n").write(toFile: metrics, atomically: true, encoding: .utf8)
        let serve = [
            "serve", "--database", directory.appendingPathComponent("db.sqlite").path, "--host", "203.0.113.7",
        ]
        let forms: [(String, [String], [String: String])] = [
            ("files", ["--admin-credential-file", admin, "--metrics-credential-file", metrics], [:]),
            (
                "variables", [],
                ["RECIPROCITY_ADMIN_CREDENTIAL": secret, "RECIPROCITY_METRICS_CREDENTIAL": "\t\(secret)\n"]
            ),
            (
                "file and variable", ["--admin-credential-file", admin],
                ["RECIPROCITY_METRICS_CREDENTIAL": " \(secret)"]
            ),
            (
                "_FILE variables", [],
                ["RECIPROCITY_ADMIN_CREDENTIAL_FILE": admin, "RECIPROCITY_METRICS_CREDENTIAL_FILE": metrics]
            ),
        ]
        for (form, flags, variables) in forms {
            let result = try run("reciprocityd", serve + flags, environment: variables)
            #expect(result.status != 0 && !result.crashed, "\(form)")
            #expect(
                result.stderr == "Error: the metrics credential must differ from the admin credential\n",
                "\(form): \(result.stderr)")
        }
        // Different credentials pass this check: the same server stops at the host instead.
        let other = try run(
            "reciprocityd", serve + ["--admin-credential-file", admin],
            environment: ["RECIPROCITY_METRICS_CREDENTIAL": secret + "2"])
        #expect(other.status != 0 && !other.stderr.contains("metrics credential"), "\(other.stderr)")
    }

    @Test func serveHelpListsEveryLogLevelAndHealthcheckStatesItsDefaultsOnce() throws {
        let serve = try run("reciprocityd", ["serve", "--help"]).stdout
        for level in ["trace", "debug", "info", "notice", "warning", "error", "critical"] {
            #expect(serve.contains(level), "serve --help does not list \(level)")
        }
        let healthcheck = try run("reciprocityd", ["healthcheck", "--help"]).stdout
        #expect(healthcheck.components(separatedBy: "127.0.0.1").count == 2, "\(healthcheck)")
    }

    /// docs/operations.md's configuration table and `reciprocityd serve --help` list the same settings, each with
    /// the same environment variable and default: a setting added to, or changed in, only one of them fails.
    @Test func theOperationsTableAndServeHelpListTheSameSettings() throws {
        let help = try run("reciprocityd", ["serve", "--help"]).stdout
        // Each option's entry, its wrapped lines joined: `--rate-limit <rate-limit> Requests ... (env X; default Y).`
        let entries = help.components(separatedBy: "OPTIONS:").last!.components(separatedBy: "\n  -")
            .map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        var listed: [String: String] = [:]
        for entry in entries where entry.hasPrefix("-") && entry != "-h, --help Show help information." {
            let flag = String(entry.prefix { !$0.isWhitespace })
            let setting = entry.firstMatch(of: /\(env (\S+); default (\S+)\)\.$/)
            listed["-" + flag] = setting.map { "\($0.1) \($0.2)" } ?? "no '(env ...; default ...)' in '\(entry)'"
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let table = page.components(separatedBy: "## Configuration").last!.components(separatedBy: "\n## ").first!
        var documented: [String: String] = [:]
        for row in table.split(separator: "\n") where row.hasPrefix("| `--") {
            // The first three cells (flag, variable, default) hold no `|`; the flag cell may name the value
            // (`--database PATH`).
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let words = cells.prefix(3).map { cell in
                cell.replacingOccurrences(of: "`", with: "").split(separator: " ").first.map(String.init) ?? ""
            }
            documented[words[0]] = "\(words[1]) \(words[2])"
        }
        #expect(listed.count >= 20, "\(help)")
        for flag in Set(listed.keys).union(documented.keys).sorted() {
            #expect(
                listed[flag] == documented[flag],
                "\(flag): serve --help has \(listed[flag] ?? "nothing"), docs/operations.md \(documented[flag] ?? "nothing")"
            )
        }
    }
}

/// Property test of both command lines: every URL and number option of every command with each value of its
/// kind that broke commands before (ports out of range, negative and huge numbers, URLs without a scheme), the
/// other required options valid; then random argument lists for every command, drawn from its own options. No
/// input may crash a command; a failure is one line and a non-zero exit. The seed is printed;
/// `RECIPROCITY_FUZZ_SEED` replays it and `RECIPROCITY_FUZZ_RUNS` sets the number of random runs (default 160).
@Suite(.serialized) struct CommandLineFuzzTests {
    @Test func randomArgumentsNeverCrashACommand() throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["RECIPROCITY_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        let runs = environment["RECIPROCITY_FUZZ_RUNS"].flatMap(Int.init) ?? 160
        print("command-line fuzzing: seed \(seed), \(runs) runs (RECIPROCITY_FUZZ_SEED=\(seed) replays it)")
        var random = SplitMix64(seed: seed)
        let (server, invite) = try ServerProcess.withProgram(maxMarks: 4)
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        try alice.join(invite: invite)
        try bob.join(invite: invite)
        let numbers = [
            "-1", "0", "1", "3", "65536", "4294967296", "99999999999999999999999", "abc", "", "7d", "0s", "-5m",
        ]
        let urls = [
            "http://127.0.0.1:80800", "\(server.url)/", server.url.uppercased(), "localhost", "127.0.0.1:8080",
            "https://127.0.0.1:\(server.port)", "http://[::1", "http://u@h:1", "http://127.0.0.1:1", "http://h:-1", "",
        ]
        let words = [
            "bob", "alice", "Bob!", "acme", "nope-program", "mentor", "mentee", "peer", "boss", "ü", " ",
            String(repeating: "x", count: 600), "--", "-", "missing/dir/x", invite, "rcpi_nope", "--help",
        ]
        let values = numbers + urls + words
        /// Values of the kind an option takes, so that each run reaches the option's own checks.
        func edges(for option: String) -> [String] {
            if option == "--server" { return urls }
            let numeric = ["--limit", "--pad-to", "--uses", "--max-marks", "--epoch", "--port", "--expires"]
            return numeric.contains(option) ? numbers : values
        }
        /// A value the option accepts, so that the other options' values are what a run tests.
        let plausible = [
            "--server": server.url, "--program": "acme", "--invite": invite, "--as": "peer", "--handle": "hal",
        ]
        // The admin commands get a database of their own: a random `restore` must not replace the live server's.
        // Every command runs in `work`, so a path value ("missing/dir/x") that a command creates stays in it.
        let work = server.directory.appendingPathComponent("fuzz")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let database = work.appendingPathComponent("admin.sqlite").path
        try run("reciprocityd", ["admin", "program", "create", "acme", "--database", database])
        let commands =
            try CommandInfo.load("reciprocity").leaves().map { ("reciprocity", $0) }
            + CommandInfo.load("reciprocityd").leaves().filter { $0.0 != ["serve"] }.map { ("reciprocityd", $0) }
        // Every URL and number option of every command, with each value of its kind and the other required
        // options and arguments valid; then `runs` random argument lists.
        var cases: [(String, [String])] = []
        for (executable, (path, command)) in commands {
            let arguments = command.arguments ?? []
            let required = arguments.filter { !$0.isOptional }.flatMap { argument -> [String] in
                guard argument.kind != "positional" else { return ["bob"] }
                let name = "--" + (argument.names?.first { $0.kind == "long" }?.name ?? "")
                return argument.kind == "option" ? [name, plausible[name] ?? "bob"] : [name]
            }
            for argument in arguments where argument.kind == "option" {
                guard let name = argument.names?.first(where: { $0.kind == "long" }).map({ "--" + $0.name }),
                    edges(for: name) != values
                else { continue }
                let others =
                    required.firstIndex(of: name).map { Array(required[..<$0] + required[($0 + 2)...]) } ?? required
                for edge in edges(for: name) { cases.append((executable, path + [name, edge] + others)) }
            }
        }
        let swept = cases.count
        for index in 0..<runs {
            let (executable, (path, command)) = commands[index % commands.count]
            let options = (command.arguments ?? []).compactMap { argument in
                argument.names?.first { $0.kind == "long" && $0.name != "help" }.map {
                    (name: "--" + $0.name, takesValue: argument.kind == "option", required: !argument.isOptional)
                }
            }
            // The required options and half the others, each with an accepted value or, one time in two, a value
            // of its kind from the lists above; then the command's arguments, or loose values one time in four.
            var arguments = path
            for option in options.shuffled(using: &random) where option.required || Bool.random(using: &random) {
                arguments.append(option.name)
                guard option.takesValue else { continue }
                let edge = edges(for: option.name).randomElement(using: &random)!
                arguments.append(Bool.random(using: &random) ? plausible[option.name] ?? edge : edge)
            }
            let positional = (command.arguments ?? []).filter { $0.kind == "positional" }.count
            let loose =
                positional > 0
                ? Int.random(in: 1...positional + 1, using: &random) : Int.random(in: 0...3, using: &random) / 3
            for _ in 0..<loose { arguments.append(values.randomElement(using: &random)!) }
            cases.append((executable, arguments))
        }
        var failures = 0
        for (executable, arguments) in cases {
            let result = try run(
                executable, arguments,
                environment: ["RECIPROCITY_HOME": alice.home.path, "RECIPROCITY_DATABASE": database],
                in: work)
            let replay = "\(executable) \(arguments) (seed \(seed))"
            #expect(
                !result.crashed && !result.stderr.contains("Fatal error"),
                "crashed: \(replay): \(result.stderr.prefix(300))")
            if result.status != 0 {
                failures += 1
                #expect(
                    result.stderr.hasPrefix("Error: ") && result.stderr.split(separator: "\n").count == 1,
                    "not one line: \(replay): \(result.stderr.prefix(300))")
            }
        }
        print(
            "command-line fuzzing: \(swept) swept and \(runs) random runs over \(commands.count) commands, \(failures) refused"
        )
    }
}
