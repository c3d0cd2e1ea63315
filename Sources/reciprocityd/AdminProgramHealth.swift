import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityAPI
import ReciprocityServer

extension ProgramCommand {
    /// `reciprocityd admin program health`: the organizer's figures, as text, CSV or JSON.
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a program's health: joins, profiles, mentoring supply and demand by tag, matches.",
            discussion: """
                Every figure comes from profiles, joins and matches, never from a pending mark. --csv prints \
                the RFC 4180 table the admin API gives with ?format=csv; --json prints its JSON answer.
                """)
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var name: String
        @Flag(help: "Print CSV (figure,key,value).") var csv = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard !(csv && json) else { throw CLIFailure("give --csv or --json, not both") }
            let health = try await database.operations().health(program: name)
            if csv {
                // The figures' keys are program names, days, epochs and tags: none can hold a terminal control.
                print(ProgramHealth.csv(health), terminator: "")
            } else if json {
                print(String(decoding: try APICoding.encoder().encode(health), as: UTF8.self))
            } else {
                print(terminalSafeLines(Self.text(health)))
            }
        }

        /// The figures in words and small tables.
        static func text(_ health: ProgramHealthResponse) -> String {
            var lines = [
                "program \(health.program)",
                "members: \(health.activeMembers) active, \(health.suspendedMembers) suspended",
                "profiles complete: \(health.profilesComplete) of \(health.activeMembers) active "
                    + "(display name, headline, a tag, offering or seeking mentoring)",
                "open to mentoring: \(health.offeringMentoring); looking for a mentor: \(health.seekingMentor)",
                "",
                "joins by day (UTC):",
            ]
            lines += health.joinsByDay.isEmpty ? ["  (none)"] : health.joinsByDay.map { "  \($0.day)  \($0.joins)" }
            lines += ["", "matches by epoch:"]
            lines +=
                health.matchesByEpoch.isEmpty
                ? ["  (none)"] : health.matchesByEpoch.map { "  epoch \($0.epoch)  \($0.matches)" }
            lines += ["", "supply and demand by tag (active members; most needed mentors first):"]
            if health.tags.isEmpty {
                lines.append("  (none)")
            } else {
                let width = max(3, health.tags.map(\.tag.count).max() ?? 0)
                func padded(_ text: String) -> String { text + String(repeating: " ", count: width - text.count) }
                lines.append("  \(padded("tag"))  seeking  offering")
                lines += health.tags.map {
                    "  \(padded($0.tag))  \(String($0.seeking).leftPadded(7))  \(String($0.offering).leftPadded(8))"
                }
            }
            return lines.joined(separator: "\n")
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
