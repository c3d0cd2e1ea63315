import ArgumentParser
import CommandLineEdge

/// The member command line: every mark is blinded on this device before anything is sent.
@main
struct Reciprocity: OneLineErrors {
    static let configuration = CommandConfiguration(
        commandName: "reciprocity",
        abstract: "Privately mark who you would like to mentor, be mentored by, or meet as a peer.",
        subcommands: [
            Join.self, About.self, ProfileCommand.self, EmailCommand.self, Directory.self, Interest.self, Matches.self,
            Conversations.self, Read.self, Send.self, Meet.self, Contact.self, End.self, Report.self, Key.self,
            Credential.self,
            Audit.self,
            VectorsCommand.self,
        ]
    )

    static func sentence(for error: any Error) -> String? { nil }
}
