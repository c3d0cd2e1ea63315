import ArgumentParser
import Foundation

/// The server executable: `serve` runs the HTTP API, `admin` manages programs, invites and members directly
/// in the same database file, whether or not the server is running.
@main
struct Reciprocityd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reciprocityd",
        abstract: "The Reciprocity matching server.",
        subcommands: [Serve.self, Admin.self, Healthcheck.self]
    )
}

/// A one-line failure for the operator (`Error: ...`, exit 1), without usage text.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The process environment, read once.
let environment = ProcessInfo.processInfo.environment

/// `--database PATH`, else `RECIPROCITY_DATABASE`, else `./reciprocity.sqlite`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database file (env RECIPROCITY_DATABASE; default ./reciprocity.sqlite).")
    var database: String?

    var path: String { database ?? environment["RECIPROCITY_DATABASE"] ?? "reciprocity.sqlite" }
}
