import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityCore
import ReciprocityServer
import ReciprocityStore

/// The server executable: `serve` runs the HTTP API, `admin` manages programs, invites and members directly
/// in the same database file, whether or not the server is running.
@main
struct Reciprocityd: OneLineErrors {
    static let configuration = CommandConfiguration(
        commandName: "reciprocityd",
        abstract: "The Reciprocity matching server.",
        subcommands: [Serve.self, Admin.self, Healthcheck.self]
    )

    /// The store's sentence without its code name (`programNotFound: ...`).
    static func sentence(for error: any Error) -> String? { (error as? StoreError)?.message }
}

/// One-line failures, visible to every file of this executable.
typealias CLIFailure = CommandLineEdge.CLIFailure

/// The process environment, read once.
let environment = ProcessInfo.processInfo.environment

/// `--database PATH`, else `RECIPROCITY_DATABASE`, else `./reciprocity.sqlite`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database file (env RECIPROCITY_DATABASE; default ./reciprocity.sqlite).")
    var database: String?

    var path: String { database ?? environment["RECIPROCITY_DATABASE"] ?? "reciprocity.sqlite" }
}

/// `--log-key-file PATH`, else `RECIPROCITY_LOG_KEY_FILE`, else the database path with `.log-key` appended.
struct LogKeyOptions: ParsableArguments {
    @Option(help: "Key-log signing key file, created on first start (env RECIPROCITY_LOG_KEY_FILE; default <database>.log-key).")
    var logKeyFile: String?

    func path(database: DatabaseOptions) -> String {
        logKeyFile ?? environment["RECIPROCITY_LOG_KEY_FILE"] ?? database.path + ".log-key"
    }

    func load(database: DatabaseOptions) throws -> (key: LogSigningKey, created: Bool) {
        do {
            return try LogKeyFile.loadOrCreate(path: path(database: database))
        } catch {
            throw CLIFailure("\(error)")
        }
    }
}
