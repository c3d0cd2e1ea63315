public import ArgumentParser
import Foundation
import ReciprocityCore

/// A failure a command reports as one line (`Error: ...`) and exit status 1, without usage text.
public struct CLIFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The entry point of both executables: every error is one line on standard error and a non-zero exit, with
/// no internal code names (`invalidHandle: ...`) and no usage screen; `--help` works as ArgumentParser's does.
public protocol OneLineErrors: AsyncParsableCommand {
    /// The sentence for an error of this program's own libraries, or nil for the general rule.
    static func sentence(for error: any Error) -> String?
}

extension OneLineErrors {
    public static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let status = exitCode(for: error)
            // Help, version, and `ExitCode` itself: ArgumentParser's own output and status.
            if status == .success || error is ExitCode { exit(withError: error) }
            let text = sentence(for: error) ?? (error as? ReciprocityError)?.reason ?? message(for: error)
            var line = text.split(separator: "\n").first.map(String.init) ?? "failed"
            if status == .validationFailure { line += " (see --help)" }
            // Messages may quote the server or another member: print them safely.
            FileHandle.standardError.write(Data("Error: \(terminalSafe(line))\n".utf8))
            exit(withError: status)
        }
    }
}
