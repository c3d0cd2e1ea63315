import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityCore
import ReciprocityPostgres
import ReciprocitySQLite
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

/// The admin commands' `--database`, `--database-password-file` and `--database-pool-size`: the rows of
/// `Setting.table` that `serve` reads, made into a `DatabaseConfiguration` the same way.
struct DatabaseOptions: SettingOptions {
    @Option(setting: "database") var database: GivenSetting
    @Option(setting: "database-password-file") var databasePasswordFile: GivenSetting
    @Option(setting: "database-pool-size") var databasePoolSize: GivenSetting

    func configuration() throws -> DatabaseConfiguration { try DatabaseConfiguration(Settings(given)) }

    /// Opens the database these options name, migrating it; a SQLite file must exist unless `creating`.
    func open(creating: Bool = false) async throws -> OpenStore { try await configuration().open(creating: creating) }
}

/// `--log-key-file`, the row of `Setting.table` that `serve` reads (`admin log-key`).
struct LogKeyOptions: SettingOptions {
    @Option(setting: "log-key-file") var logKeyFile: GivenSetting

    /// The key of the file these options name, for `database`, created when there is none.
    func load(database: DatabaseOptions) throws -> (key: LogSigningKey, created: Bool) {
        try LogKeyFile.load(try database.configuration().logKeyFile(try Settings(given).logKeyFile))
    }
}

extension LogKeyFile {
    /// The key at `path`, created when there is none; a failure is one sentence.
    static func load(_ path: String) throws -> (key: LogSigningKey, created: Bool) {
        do {
            return try loadOrCreate(path: path)
        } catch {
            throw CLIFailure("\(error)")
        }
    }
}
