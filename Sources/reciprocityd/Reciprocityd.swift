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

/// `--database PATH|URL`, else `RECIPROCITY_DATABASE`, else `./reciprocity.sqlite`. A `postgres://` URL
/// means PostgreSQL; anything else is a SQLite file.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "SQLite database file, or postgres://USER@HOST:PORT/DATABASE (env RECIPROCITY_DATABASE; default ./reciprocity.sqlite).")
    var database: String?

    @Option(help: "File whose first line is the PostgreSQL password (env RECIPROCITY_DATABASE_PASSWORD_FILE).")
    var databasePasswordFile: String?

    @Option(help: "Most PostgreSQL connections this process holds open (env RECIPROCITY_DATABASE_POOL_SIZE; default 10).")
    var databasePoolSize: Int?

    var path: String { database ?? environment["RECIPROCITY_DATABASE"] ?? "reciprocity.sqlite" }

    var isPostgres: Bool { PostgresLocation.isPostgres(path) }

    /// What logs and messages may show: the path, or the URL without its password.
    var displayName: String { (try? postgresLocation().redacted) ?? path }

    func postgresLocation() throws -> PostgresLocation {
        do {
            return try PostgresLocation(
                url: path, passwordFile: databasePasswordFile ?? environment["RECIPROCITY_DATABASE_PASSWORD_FILE"])
        } catch {
            throw CLIFailure("\(error)")
        }
    }

    func poolSize() throws -> Int {
        guard let text = databasePoolSize.map(String.init) ?? environment["RECIPROCITY_DATABASE_POOL_SIZE"] else { return 10 }
        guard let value = Int(text), (1...1000).contains(value) else {
            throw CLIFailure("the database pool size must be 1 to 1000, got '\(text)'")
        }
        return value
    }

    /// Opens the database this option names, migrating it; a SQLite file must exist unless `creating`.
    func open(creating: Bool = false, durability: SQLiteStore.Durability = .normal) async throws -> OpenStore {
        if isPostgres {
            let location = try postgresLocation()
            do {
                return .postgres(try await PostgresStore(location: location, poolSize: try poolSize()))
            } catch let error as StoreError {
                throw CLIFailure(error.message)
            }
        }
        guard creating || FileManager.default.fileExists(atPath: path) else {
            throw CLIFailure(
                "there is no database at '\(path)'; check --database (or RECIPROCITY_DATABASE), or create one with 'reciprocityd admin program create'")
        }
        do {
            return .sqlite(try SQLiteStore(path: path, durability: durability))
        } catch {
            throw CLIFailure("cannot open database '\(path)': \(error)")
        }
    }
}

/// An open database of either backend, closed the way its backend needs.
enum OpenStore {
    case sqlite(SQLiteStore)
    case postgres(PostgresStore)

    var store: any ReciprocityStore {
        switch self {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    func close() async throws {
        switch self {
        case .sqlite(let store): try store.close()
        case .postgres(let store): await store.close()
        }
    }
}

/// `--log-key-file PATH`, else `RECIPROCITY_LOG_KEY_FILE`, else the SQLite database path with `.log-key`
/// appended. With PostgreSQL there is no default: every instance must sign with the same key, so the operator
/// names the one file they all read.
struct LogKeyOptions: ParsableArguments {
    @Option(help: "Key-log signing key file, created on first start (env RECIPROCITY_LOG_KEY_FILE; default <database>.log-key).")
    var logKeyFile: String?

    func path(database: DatabaseOptions) throws -> String {
        if let path = logKeyFile ?? environment["RECIPROCITY_LOG_KEY_FILE"] { return path }
        guard !database.isPostgres else {
            throw CLIFailure(
                "with a PostgreSQL database, give --log-key-file (or RECIPROCITY_LOG_KEY_FILE): every instance must sign the key log with the same key")
        }
        return database.path + ".log-key"
    }

    func load(database: DatabaseOptions) throws -> (key: LogSigningKey, created: Bool) {
        let path = try path(database: database)
        do {
            return try LogKeyFile.loadOrCreate(path: path)
        } catch {
            throw CLIFailure("\(error)")
        }
    }
}
