import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityClient

/// `reciprocity email`: the member's own address for email notices (opt-in, never required).
struct EmailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "email", abstract: "Show, set or clear your address for email notices (optional).",
        discussion: """
            With an address set, the server emails you when you have a new match and when your program's \
            organizers send a reminder; a notice names the program only, never the other person. The server \
            keeps the address in clear, so its operator knows it, and so does the mail relay it sends through.
            """,
        subcommands: [Show.self, Set.self, Clear.self])

    static let operatorWarning = "the server's operator (and its mail relay) now know this address"

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the address the server has for you.")
        @OptionGroup var membership: MembershipOptions

        func run() async throws {
            let me = try await membership.connect().me()
            print(me.email.map { "email notices go to \(terminalSafe($0))" } ?? "no email address: you get no notices")
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give or change the address for notices.")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "The address (the operator will know it).") var address: String

        func run() async throws {
            let stored = try await membership.connect().setEmail(address)
            print("email notices go to \(terminalSafe(stored.email)); \(EmailCommand.operatorWarning)")
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove your address; notices not yet sent are deleted.")
        @OptionGroup var membership: MembershipOptions

        func run() async throws {
            try await membership.connect().removeEmail()
            print("email address removed: you get no notices")
        }
    }
}
