import ArgumentParser
import CommandLineEdge
import ReciprocityAPI

/// `reciprocity about`: the program's description and code of conduct, as the operator set them.
struct About: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the program's description and code of conduct.")
    @OptionGroup var membership: MembershipOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let program = try await membership.connect().me().program
        if json { return try printJSON(program) }
        print(terminalSafe("program \(program.name)"))
        printAbout(program, unset: true)
    }
}

/// Prints the program's texts, each line made safe for the terminal; `unset` says so for a text not set.
func printAbout(_ program: ProgramInfo, unset: Bool = false) {
    for (title, text) in [("about this program", program.description), ("code of conduct", program.conduct)] {
        if text.isEmpty && !unset { continue }
        print("")
        print("\(title):")
        print(text.isEmpty ? "(not set by the operator)" : terminalSafeLines(text))
    }
}
