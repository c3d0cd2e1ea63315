import Foundation
import ReciprocityAPI
import ReciprocityStore
import Testing

/// The table of problem codes (`ProblemCode`) against every surface that repeats it: the API description, the
/// API documentation and the web page's sentences; and the store's codes against the table. A failure names the
/// code and the surface that lacks it.
@Suite struct ProblemCodeTests {
    /// Where each surface names a code: a pattern around it (`%@`), and the file.
    static let surfaces: [(file: URL, pattern: String)] = [
        // A word of its own: `not-found` inside `member-not-found` does not count. (The file is a link to the
        // document the server serves.)
        (repositoryRoot.appendingPathComponent("Specs/openapi.yaml"), "(^|[^a-z0-9-])%@([^a-z0-9-]|$)"),
        (repositoryRoot.appendingPathComponent("docs/api.md"), "`%@`"),
        (WebAssetTests.folder.appendingPathComponent("sentences.js"), "\"%@\""),
    ]

    /// Which codes of `codes` the text does not name, by the surface's pattern.
    static func missing(_ codes: [String], in text: String, pattern: String) throws -> [String] {
        try codes.filter { code in
            let regex = try Regex(pattern.replacingOccurrences(of: "%@", with: code))
            return !text.contains(regex)
        }
    }

    @Test func everyCodeOfTheTableIsOnEverySurface() throws {
        let codes = ProblemCode.allCases.map(\.rawValue)
        for (file, pattern) in Self.surfaces {
            let text = try String(contentsOf: file, encoding: .utf8)
            for code in try Self.missing(codes, in: text, pattern: pattern) {
                Issue.record(
                    "problem code '\(code)' is missing from \(file.path.dropFirst(repositoryRoot.path.count + 1))")
            }
        }
    }

    /// One spelling on every surface: the wire's, kebab-case.
    @Test func everyCodeIsKebabCaseWithAnErrorStatusAndATitle() {
        for code in ProblemCode.allCases {
            #expect(
                code.rawValue.wholeMatch(of: /[a-z]+(-[a-z]+)*/) != nil,
                "problem code '\(code.rawValue)' is not kebab-case")
            #expect((400...599).contains(code.status) && !code.title.isEmpty, "\(code.rawValue)")
        }
    }

    /// A store error is answered with the problem its code spells; only `corrupt-data` is answered `internal`
    /// (its message goes to the log). The store's codes are read from their declarations, so that a new one
    /// cannot be left out of a list.
    @Test func everyStoreCodeIsAProblemOfTheTable() throws {
        let records = repositoryRoot.appendingPathComponent("Sources/ReciprocityStore/Records.swift")
        let source = try String(contentsOf: records, encoding: .utf8)
        let declared = source.matches(of: /static let \w+ = Code\(rawValue: "([^"]+)"\)/).map { String($0.output.1) }
        #expect(declared.count >= 15 && declared.contains(StoreError.Code.wrongEpoch.rawValue))
        for code in declared where code != StoreError.Code.corruptData.rawValue {
            #expect(
                ProblemCode(rawValue: code) != nil,
                "store code '\(code)' is missing from the problem table (ProblemCode)")
        }
    }
}
