import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityCore

extension ProgramCommand {
    /// `reciprocityd admin program describe`: the description and code of conduct members see.
    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set or clear a program's description and code of conduct (plain text members see).",
            discussion: """
                A text left out keeps its value; an empty one clears it. The description holds up to \
                \(ProgramAbout.maxDescription) characters, the code of conduct up to \(ProgramAbout.maxConduct).
                """)
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var name: String
        @Option(help: "The description, as text.") var description: String?
        @Option(help: "A UTF-8 file holding the description.") var descriptionFile: String?
        @Option(help: "The code of conduct, as text.") var conduct: String?
        @Option(help: "A UTF-8 file holding the code of conduct.") var conductFile: String?
        @Flag(help: "Clear both texts.") var clear = false

        /// A text file may be a little over the bound before trimming; anything this large is a mistake.
        static let maxFileBytes = 64 * 1024

        func run() async throws {
            var newDescription = try Self.text(description, file: descriptionFile, option: "description")
            var newConduct = try Self.text(conduct, file: conductFile, option: "conduct")
            if clear {
                guard newDescription == nil, newConduct == nil else {
                    throw CLIFailure("--clear clears both texts; give it without a description or code of conduct")
                }
                (newDescription, newConduct) = ("", "")
            }
            guard newDescription != nil || newConduct != nil else {
                throw CLIFailure(
                    "give --description, --description-file, --conduct, --conduct-file or --clear (see --help)")
            }
            let about = try await database.operations().setAbout(
                program: name, description: newDescription, conduct: newConduct)
            print(
                "program \(name): description \(Self.summary(about.description)), code of conduct \(Self.summary(about.conduct))"
            )
        }

        /// The text of `--X` or `--X-file` (not both), nil when neither is given.
        static func text(_ value: String?, file: String?, option: String) throws -> String? {
            guard let file else { return value }
            guard value == nil else { throw CLIFailure("give --\(option) or --\(option)-file, not both") }
            guard let handle = FileHandle(forReadingAtPath: file) else {
                throw CLIFailure("cannot read --\(option)-file \(file)")
            }
            defer { try? handle.close() }
            let data = (try? handle.read(upToCount: maxFileBytes + 1)) ?? Data()
            guard data.count <= maxFileBytes else {
                throw CLIFailure("--\(option)-file \(file) is larger than \(maxFileBytes / 1024) KiB")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw CLIFailure("--\(option)-file \(file) is not UTF-8 text")
            }
            return text
        }

        static func summary(_ text: String) -> String { text.isEmpty ? "not set" : "\(text.count) characters" }
    }

    /// `reciprocityd admin program show`: a program's settings and texts.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a program's description and code of conduct.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var name: String

        func run() async throws {
            let about = try await database.operations().about(program: name)
            print("description:")
            print(about.description.isEmpty ? "(not set)" : terminalSafeLines(about.description))
            print("")
            print("code of conduct:")
            print(about.conduct.isEmpty ? "(not set)" : terminalSafeLines(about.conduct))
        }
    }
}
