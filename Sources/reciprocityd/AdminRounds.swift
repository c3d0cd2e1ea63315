import ArgumentParser
import Foundation
import ReciprocityServer

extension ProgramCommand {
    /// `reciprocityd admin program schedule-round P --at TIME | --cancel`.
    struct ScheduleRound: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedule-round",
            abstract:
                "Move a program to its next epoch at a time (the server does it then, as set-epoch would: pending marks are deleted), or cancel that."
        )
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Program name.") var name: String
        @Option(help: "When, RFC 3339 with its offset, e.g. 2027-01-31T18:00:00Z; at most 366 days ahead.") var at:
            String?
        @Flag(help: "Cancel the scheduled round.") var cancel = false

        func run() async throws {
            guard (at != nil) != cancel else { throw CLIFailure("give either --at TIME or --cancel") }
            let operations = try await database.operations()
            if let at {
                let program = try await operations.scheduleRound(program: name, at: at)
                let when = program.nextRoundAt.map { $0.formatted(.iso8601) } ?? at
                print(
                    "program \(program.name) moves to epoch \(program.epoch + 1) at \(when); its pending marks are deleted then (members' apps send theirs again)"
                )
            } else {
                let program = try await operations.cancelRound(program: name)
                print("program \(program.name) has no scheduled round; it stays in epoch \(program.epoch)")
            }
        }
    }
}
