import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityCore
import ReciprocityVectors

/// `reciprocity vectors`: check or regenerate the protocol's test vectors.
struct VectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Check this implementation against the protocol test vectors, or regenerate them.",
        subcommands: [Verify.self, Generate.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every test in every *.json file of DIR and compare.")

        @Argument(help: "Folder of vector files.")
        var directory = "Specs/vectors"

        func run() throws {
            let files = try VectorsCommand.jsonFiles(in: directory)
            var passed = 0
            var failed = 0
            for file in files {
                let path = (directory as NSString).appendingPathComponent(file)
                do {
                    let data = try Data(contentsOf: URL(fileURLWithPath: path))
                    let report = try VectorVerifier.verify(data, file: file)
                    passed += report.passed
                    failed += report.failed
                    let status = report.failed == 0 ? "ok  " : "FAIL"
                    print("\(status) \(file) (\(report.algorithm)): \(report.passed) passed, \(report.failed) failed")
                    for failure in report.failures { print("     tcId \(failure.tcId): \(failure.reason)") }
                } catch {
                    failed += 1
                    // Decoding errors already name the file.
                    print(error is ReciprocityError ? "FAIL \(error)" : "FAIL \(file): \(error)")
                }
            }
            print("\(passed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode.failure }
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the deterministic vector files into DIR (byte-identical on every run).")

        @Option(name: .shortAndLong, help: "Folder to write into.")
        var output = "Specs/vectors"

        func run() throws {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            for file in try VectorGenerator.files() {
                let path = (output as NSString).appendingPathComponent(file.name)
                try file.contents.write(to: URL(fileURLWithPath: path), options: .atomic)
                print("wrote \(path)")
            }
        }
    }

    static func jsonFiles(in directory: String) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw CLIFailure("cannot read vector folder '\(directory)'")
        }
        let files = names.filter { $0.hasSuffix(".json") }.sorted()
        guard !files.isEmpty else { throw CLIFailure("no *.json vector files in '\(directory)'") }
        return files
    }
}
