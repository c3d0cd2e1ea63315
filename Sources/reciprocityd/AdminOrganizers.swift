import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityAPI
import ReciprocityServer

/// `reciprocityd admin organizer ...`: credentials that run some programs through the admin API.
struct OrganizerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "organizer",
        abstract: "Create, list and revoke organizers: admin API credentials scoped to some programs.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an organizer of one or more programs and print their credential (shown once).",
            discussion: """
                The organizer sees and manages only these programs through the admin API: their members' handles, \
                statuses and join times, invites, health figures and audit log. Only the credential's SHA-256 is \
                stored; hand the credential over as you would a password.
                """)
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The organizer's name: 3-64 characters of a-z 0-9 . _ -") var name: String
        @Option(name: .customLong("program"), help: "A program they may run (repeat for several).") var programs:
            [String] = []

        func run() async throws {
            guard !programs.isEmpty else { throw CLIFailure("give at least one --program NAME") }
            let created = try await database.operations().createOrganizer(name: name, programs: programs)
            // stdout is the credential alone (scripts read it); the rest goes to stderr.
            print(created.credential)
            FileHandle.standardError.write(
                Data(
                    "organizer \(created.name) of \(created.programs.joined(separator: ", ")); the credential above is shown once\n"
                        .utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organizers and their programs.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let formatter = ISO8601DateFormatter()
            for organizer in try await database.operations().organizers() {
                print(
                    "\(organizer.name)\t\(organizer.programs.joined(separator: ","))\tcreated \(formatter.string(from: organizer.createdAt))"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an organizer: their credential stops working at once.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The organizer's name.") var name: String

        func run() async throws {
            let revoked = try await database.operations().revokeOrganizer(name: name)
            print("organizer \(revoked.name) revoked")
        }
    }
}

extension ProgramCommand {
    /// `reciprocityd admin program audit`: who did what, when.
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a program's audit log, newest first: who did what, and when.",
            discussion: """
                Every change made through the admin API or these commands is recorded: program created or \
                described, epoch changed, invite created or revoked, member suspended or reinstated (with the \
                reason given), organizer granted or revoked. Entries older than the audit retention (400 days \
                by default) are purged.
                """)
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var name: String
        @Option(parsing: .unconditional, help: "Entries to show, 1 to 500 (default 50).") var limit: Int?
        @Option(parsing: .unconditional, help: "Only entries with ids below this one (the next page).") var before:
            Int64?
        @Flag(help: "Print the admin API's JSON answer.") var json = false

        func run() async throws {
            let page = try await database.operations().auditLog(program: name, before: before, limit: limit)
            if json {
                print(String(decoding: try APICoding.encoder().encode(page), as: UTF8.self))
                return
            }
            let formatter = ISO8601DateFormatter()
            // A subject or detail is typed by a person (a reason): shown with control characters escaped.
            for entry in page.entries {
                let fields = [
                    String(entry.id), formatter.string(from: entry.at), entry.actor, entry.action, entry.subject ?? "-",
                    entry.detail ?? "-",
                ]
                print(fields.map(terminalSafe).joined(separator: "\t"))
            }
            if let next = page.next { FileHandle.standardError.write(Data("more: --before \(next)\n".utf8)) }
        }
    }
}

extension InviteCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a program's invites, newest first (their codes are never shown again).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var program: String
        @Flag(help: "Print the admin API's JSON answer.") var json = false

        func run() async throws {
            let invites = try await database.operations().invites(program: program)
            if json {
                print(
                    String(
                        decoding: try APICoding.encoder().encode(InviteListResponse(invites: invites)), as: UTF8.self))
                return
            }
            let formatter = ISO8601DateFormatter()
            for invite in invites {
                let expires = invite.expiresAt.map { "expires \(formatter.string(from: $0))" } ?? "no expiry"
                let revoked = invite.revokedAt.map { "revoked \(formatter.string(from: $0))" } ?? "not revoked"
                print(
                    "\(invite.id)\t\(invite.usesLeft) uses left\t\(expires)\tcreated \(formatter.string(from: invite.createdAt))\t\(revoked)"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an invite: joins with it are refused from now on.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var program: String
        @Argument(help: "The invite's id, from 'invite list'.") var id: String

        func run() async throws {
            try await database.operations().revokeInvite(program: program, id: id)
            print("invite \(id) of \(program) revoked")
        }
    }
}
