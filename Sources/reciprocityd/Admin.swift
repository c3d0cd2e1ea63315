import ArgumentParser
import Foundation
import ReciprocityAPI
import ReciprocityCore
import ReciprocityPostgres
import ReciprocitySQLite
import ReciprocityServer
import ReciprocityStore

/// `reciprocityd admin ...`: acts on the database directly (SQLite's locking, or PostgreSQL's transactions, make
/// this safe while servers run).
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage programs, invites, members and organizers in the database.",
        subcommands: [
            ProgramCommand.self, InviteCommand.self, MemberCommand.self, OrganizerCommand.self, CredentialCommand.self,
            ReportCommand.self, Backup.self, Restore.self, Purge.self, LogKey.self, Copy.self,
        ]
    )
}

extension DatabaseOptions {
    /// The operator's operations on the database, which must exist unless `creating` (only `program create`
    /// makes a new SQLite file): a mistyped `--database` is refused instead of silently creating an empty one.
    /// The audit log names the actor "operator (command line)".
    func operations(creating: Bool = false) async throws -> AdminOperations {
        AdminOperations(store: try await open(creating: creating).store, actor: .commandLine)
    }

    /// The SQLite store, for the commands that work on the file itself.
    func sqliteStore(for command: String) async throws -> SQLiteStore {
        guard case .sqlite(let store) = try await open() else {
            throw CLIFailure(
                "admin \(command) works on a SQLite file; with PostgreSQL use pg_dump, pg_basebackup and pg_restore (see docs/operations.md)"
            )
        }
        return store
    }
}

struct ProgramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "program",
        abstract: "Create, list, describe and re-key programs, and show their health and audit log.",
        subcommands: [
            Create.self, List.self, SetEpoch.self, ScheduleRound.self, SetMaxMarks.self, Describe.self, Show.self,
            Health.self, Audit.self,
        ])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a program.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name: 3-64 characters of a-z 0-9 . _ -") var name: String
        @Option(parsing: .unconditional, help: "Most pending marks per member, 1 to 10000 (default 16).") var maxMarks:
            Int?
        @Option(parsing: .unconditional, help: "Initial epoch, 0 to 4294967295 (default 0).") var epoch: UInt32?

        func run() async throws {
            let program = try await database.operations(creating: true).createProgram(
                name: name, maxMarks: maxMarks, epoch: epoch)
            print("created program \(program.name) (epoch \(program.epoch), max marks \(program.maxMarks))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List programs.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            for program in try await database.operations().programs() {
                let next = program.nextRoundAt.map { "\tnext round \($0.formatted(.iso8601))" } ?? ""
                print("\(program.name)\tepoch \(program.epoch)\tmax marks \(program.maxMarks)\(next)")
            }
        }
    }

    struct SetEpoch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-epoch",
            abstract: "Move a program to a new epoch; pending marks of other epochs are deleted.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var name: String
        // Collected as text, so that a negative number reaches the check below instead of reading as an option.
        @Argument(parsing: .allUnrecognized, help: "The new epoch, 0 to 4294967295.") var epoch: [String] = []

        func run() async throws {
            guard epoch.count == 1, let value = UInt32(epoch[0]) else {
                throw CLIFailure(
                    "give one epoch, a whole number from 0 to 4294967295; got '\(epoch.joined(separator: " "))'")
            }
            let program = try await database.operations().setEpoch(program: name, epoch: value)
            print("program \(program.name) is now in epoch \(program.epoch)")
        }
    }
}

extension ProgramCommand {
    struct SetMaxMarks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-max-marks",
            abstract: "Set a program's quota: the most marks a member may make per epoch, pending or matched.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var name: String
        @Argument(help: "The new quota, 1 to 10000.") var maxMarks: Int

        func run() async throws {
            let program = try await database.operations().setMaxMarks(program: name, maxMarks: maxMarks)
            print("program \(program.name) allows \(program.maxMarks) marks per member per epoch")
        }
    }
}

struct InviteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: "Create, list and revoke invite codes.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an invite and print its code (shown once; only its hash is stored).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Program the invite admits to.") var program: String
        @Option(parsing: .unconditional, help: "How many members may use it, 1 to 1000000 (default 1).") var uses: Int?
        @Option(help: "Lifetime, e.g. 30m, 12h, 7d (default: no expiry).") var expires: String?
        @Option(
            name: .customLong("public-url"),
            help:
                "The server's public base URL, e.g. https://mentoring.example.org, for the join link (env RECIPROCITY_PUBLIC_URL)."
        )
        var publicURL: String?

        func run() async throws {
            let base =
                publicURL
                ?? ProcessInfo.processInfo.environment["RECIPROCITY_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 }
            if let base,
                !(base.hasPrefix("https://") || base.hasPrefix("http://")) || base.contains("#") || base.contains("?")
            {
                throw ValidationError(
                    "--public-url must be an http:// or https:// URL without query or fragment, got '\(base)'")
            }
            let lifetime = try expires.map(parseDuration)
            let invite = try await database.operations().createInvite(program: program, uses: uses, expiresIn: lifetime)
            // stdout stays the code alone (scripts read it); the link for members goes to stderr. The code is in
            // the fragment, which browsers never send: it reaches no server log and no Referer.
            print(invite.code)
            let root = base.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? ""
            let link = "\(root)/join#program=\(program)&invite=\(invite.code)"
            FileHandle.standardError.write(
                Data(
                    "join link: \(link)\(base == nil ? " (prefix the server's public URL, or pass --public-url)" : "")\n"
                        .utf8))
        }
    }
}

/// Parses `90s`, `30m`, `12h`, `7d`.
func parseDuration(_ text: String) throws -> TimeInterval {
    let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    guard let unit = text.last.flatMap({ units[$0] }), let count = Int(text.dropLast()), count > 0 else {
        throw CLIFailure("duration must be a positive number followed by s, m, h or d (e.g. 7d), got '\(text)'")
    }
    return TimeInterval(count) * unit
}

struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "List, suspend and reinstate members.",
        subcommands: [List.self, Suspend.self, Reinstate.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a program's members.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Program name.") var program: String

        func run() async throws {
            let formatter = ISO8601DateFormatter()
            for member in try await database.operations().members(program: program) {
                print("\(member.handle)\t\(member.status)\tjoined \(formatter.string(from: member.joinedAt))")
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a member: their credential stops working.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Program name.") var program: String
        @Argument(help: "The member's handle.") var handle: String
        @Option(help: "Why, for the program's audit log only (one line, up to 500 characters).") var reason: String?

        func run() async throws {
            let member = try await database.operations().setStatus(
                program: program, handle: handle, status: .suspended, reason: reason)
            print("\(member.handle) is \(member.status)")
        }
    }

    struct Reinstate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reinstate a suspended member.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Program name.") var program: String
        @Argument(help: "The member's handle.") var handle: String
        @Option(help: "Why, for the program's audit log only (one line, up to 500 characters).") var reason: String?

        func run() async throws {
            let member = try await database.operations().setStatus(
                program: program, handle: handle, status: .active, reason: reason)
            print("\(member.handle) is \(member.status)")
        }
    }
}

struct CredentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential",
        abstract: "Print a new random admin credential, to put in RECIPROCITY_ADMIN_CREDENTIAL_FILE.")

    func run() throws {
        print(try BearerSecret.generate(.adminCredential).text)
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Copy the database to FILE while the server keeps running (SQLite online backup), then check the copy.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The new backup file (must not exist).") var to: String

    func run() async throws {
        let store = try await database.sqliteStore(for: "backup")
        do {
            try store.backup(to: to)
        } catch let error as StoreError {
            throw error
        } catch {
            throw CLIFailure(
                "cannot write the backup '\(to)': \(error) (does its folder exist, and may this user write there?)")
        }
        print("backed up \(try database.configuration().displayName) to \(to); integrity check ok")
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the database with a checked backup. Stop the server first.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The backup file to restore.") var from: String

    func run() async throws {
        guard FileManager.default.fileExists(atPath: from) else {
            throw CLIFailure("there is no backup file at '\(from)'")
        }
        _ = try await database.sqliteStore(for: "restore")
        let path = try database.configuration().displayName
        do {
            try SQLiteStore.restore(from: from, to: path)
        } catch let error as StoreError {
            throw error
        } catch {
            throw CLIFailure("cannot restore '\(from)' into '\(path)': \(error)")
        }
        print("restored \(from) into \(path); integrity check ok")
    }
}

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Delete expired, used-up or revoked invites, pending marks of past epochs, their old matches, old audit entries and old reports now (the server also does this hourly)."
    )
    @OptionGroup var database: DatabaseOptions

    @Option(
        help: "Days a match of a past epoch is kept (default 90, as the server's RECIPROCITY_MATCH_RETENTION_DAYS).")
    var matchRetentionDays: Int = StoreLimits.defaultMatchRetentionDays

    @Option(
        help: "Days an audit entry or a member's report is kept (default 400, as RECIPROCITY_AUDIT_RETENTION_DAYS).")
    var auditRetentionDays: Int = StoreLimits.defaultAuditRetentionDays

    func run() async throws {
        guard matchRetentionDays > 0 else {
            throw CLIFailure("--match-retention-days must be 1 or more, got \(matchRetentionDays)")
        }
        guard auditRetentionDays > 0 else {
            throw CLIFailure("--audit-retention-days must be 1 or more, got \(auditRetentionDays)")
        }
        let purged = try await database.open().store.purge(
            now: Date(), matchRetention: Double(matchRetentionDays) * 86_400,
            auditRetention: Double(auditRetentionDays) * 86_400)
        print(
            "purged \(purged.invites) invites, \(purged.marks) marks, \(purged.matches) matches, \(purged.auditEntries) audit entries, \(purged.conversations) conversations and \(purged.reports) reports"
        )
    }
}

/// `reciprocityd admin log-key`: the public key members pin, to publish out of band.
struct LogKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-key", abstract: "Print the key log's public key (creating the key file if needed).")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logKey: LogKeyOptions

    func run() async throws {
        print(try logKey.load(database: database).key.publicKey.base64URL)
    }
}

/// `reciprocityd admin copy`: the path off SQLite. Copies every table into an empty PostgreSQL database, ids
/// kept, then checks the copy: the same number of rows in every table and the same key-log root for every
/// program, so members' clients, which pinned those roots, go on without a warning.
struct Copy: AsyncParsableCommand, SettingOptions {
    static let configuration = CommandConfiguration(
        abstract: "Copy a SQLite database into an empty PostgreSQL database and check the copy. Stop the server first.")

    @Option(help: "The SQLite database file to copy.") var from: String
    @Option(help: "The PostgreSQL database to copy into: postgres://USER@HOST:PORT/DATABASE (must hold no data).")
    var to: String
    @Option(setting: "database-password-file") var databasePasswordFile: GivenSetting

    func run() async throws {
        guard FileManager.default.fileExists(atPath: from) else {
            throw CLIFailure("there is no SQLite database at '\(from)'")
        }
        guard PostgresLocation.isPostgres(to) else { throw CLIFailure("--to must be a postgres:// URL") }
        var settings = try Settings(given)
        settings.database = to
        let targetDatabase = try DatabaseConfiguration(settings)
        let source = try await DatabaseConfiguration.sqlite(path: from, durability: .normal).open()
        let target = try await targetDatabase.open()
        guard case .sqlite(let sqlite) = source, case .postgres(let postgres) = target else {
            throw CLIFailure("copy goes from a SQLite file to PostgreSQL")
        }
        do {
            try await copy(from: sqlite, to: postgres, target: targetDatabase.displayName)
            await postgres.close()
        } catch {
            await postgres.close()
            throw error
        }
    }

    func copy(from sqlite: SQLiteStore, to postgres: PostgresStore, target: String) async throws {
        let snapshot = try await sqlite.snapshot()
        try await postgres.load(snapshot)
        let copied = try await postgres.counts()
        guard copied == snapshot.counts else {
            throw CLIFailure("the copy's row counts differ from the source's: \(copied) against \(snapshot.counts)")
        }
        for program in try await sqlite.programs() {
            let (before, after) = (try await Self.root(sqlite, program), try await Self.root(postgres, program))
            guard before == after else {
                throw CLIFailure("the copy's key log of program \(program.name) has another root than the source's")
            }
        }
        let summary = StoreSnapshot.tableNames.map { "\(snapshot.counts[$0] ?? 0) \($0)" }.joined(separator: ", ")
        print("copied \(from) to \(target): \(summary); every program's key-log root verified")
    }

    /// The Merkle root and size of a program's whole key log in `store`.
    static func root(_ store: any ReciprocityStore, _ program: ProgramRecord) async throws -> String {
        var log = MerkleLog()
        while true {
            let records = try await store.keyLog(programID: program.id, from: log.count, limit: 10_000)
            for record in records { log.append(leafHash: record.entry.leafHash) }
            if records.count < 10_000 { break }
        }
        return "\(log.count) \(Hex.encode(log.root(size: log.count)))"
    }
}
