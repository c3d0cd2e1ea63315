import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityAPI

/// `reciprocityd admin report list PROGRAM`: members' reports of the other member of a conversation, oldest
/// first, with the messages the reporter chose to include (decrypted by their client: the server cannot check
/// them). Every text is printed terminal-safe.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Read members' reports.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a program's reports, oldest first.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var program: String
        @Flag(help: "Print the reports as JSON, as the admin API answers them.") var json = false

        func run() async throws {
            let reports = try await database.operations().reports(program: program)
            if json {
                print(
                    String(decoding: try APICoding.encoder().encode(ReportsResponse(reports: reports)), as: UTF8.self))
                return
            }
            if reports.isEmpty { print("no reports in \(program)") }
            let formatter = ISO8601DateFormatter()
            for report in reports {
                print(
                    "\(formatter.string(from: report.createdAt))\t\(report.reporter) reported \(report.reported)\tepoch \(report.epoch)"
                )
                print("  reason: \(terminalSafe(report.reason))")
                for message in report.messages {
                    let author = message.fromMe ? report.reporter : report.reported
                    print("  #\(message.seq) \(author): \(terminalSafe(message.text))")
                }
            }
        }
    }
}
