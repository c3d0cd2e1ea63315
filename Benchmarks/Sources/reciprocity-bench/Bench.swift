import ArgumentParser
import Foundation

/// Benchmarks that print `name: value` lines. Build with `-c release`; figures are for one core.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reciprocity-bench",
        abstract: "Reciprocity benchmarks; each prints 'name: value' lines.",
        subcommands: [
            DeriveBench.self, IngestBench.self, RequestsBench.self, ScaleBench.self, ScenarioBench.self,
            InterestBench.self,
            TransparencyBench.self, DirectoryBench.self, MessagesBench.self,
        ]
    )
}

/// Runs `body` repeatedly for about `seconds` and returns operations per second.
func measureRate(seconds: Double, batch: Int, _ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    var operations = 0
    while true {
        for _ in 0..<batch { try body() }
        operations += batch
        let secondsElapsed = elapsedSeconds(start.duration(to: clock.now))
        if secondsElapsed >= seconds { return Double(operations) / secondsElapsed }
    }
}

func report(_ name: String, _ value: Double, decimals: Int = 0) {
    print("\(name): \(String(format: "%.\(decimals)f", value))")
}
