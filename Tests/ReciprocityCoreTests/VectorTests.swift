import Foundation
import ReciprocityVectors
import Testing

@testable import ReciprocityCore

/// The repository's Specs/vectors folder, found from this file's location.
let vectorDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Specs/vectors")

private func vectorFileNames() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: vectorDirectory.path).filter { $0.hasSuffix(".json") }.sorted()
}

@Suite struct VectorTests {
    @Test func everyCommittedVectorRecomputes() throws {
        let names = try vectorFileNames()
        #expect(names.count == 9)
        var total = 0
        for name in names {
            let report = try VectorVerifier.verify(
                Data(contentsOf: vectorDirectory.appendingPathComponent(name)), file: name)
            #expect(report.failed == 0, "\(name): \(report.failures.map { "tcId \($0.tcId): \($0.reason)" })")
            total += report.passed
        }
        #expect(total >= 100)
    }

    @Test func generatorReproducesTheFilesByteForByte() throws {
        let generated = try VectorGenerator.files()
        #expect(generated.map(\.name).sorted() == (try vectorFileNames()))
        for file in generated {
            let committed = try Data(contentsOf: vectorDirectory.appendingPathComponent(file.name))
            #expect(committed == file.contents, "\(file.name) differs from the generator's output; regenerate it")
        }
    }

    @Test func tokenVectorsCoverWhatTheSpecPromises() throws {
        let data = try Data(contentsOf: vectorDirectory.appendingPathComponent("reciprocity_token_v1_test.json"))
        let file = try JSONDecoder().decode(VectorFile<TokenVector>.self, from: data)
        let tests = file.testGroups.flatMap(\.tests)
        let valid = tests.filter { $0.result == "valid" }
        let invalid = tests.filter { $0.result == "invalid" }
        #expect(valid.count >= 40)
        #expect(invalid.count >= 20)
        // Every flag used is explained, and every invalid test names its error.
        #expect(Set(tests.flatMap(\.flags)).isSubset(of: Set(file.notes.keys)))
        #expect(invalid.allSatisfy { $0.error != nil && !$0.flags.isEmpty })
        // Each valid token appears exactly twice: once from each side of the pair, in opposite positions.
        let byToken = Dictionary(grouping: valid, by: { $0.token! })
        for (_, views) in byToken {
            #expect(views.count == 2)
            #expect(Set(views.map(\.selfHandle)).count == 2)
            #expect(Set(views.compactMap(\.selfPosition)) == [1, 2])
            #expect(views[0].tag1 == views[1].tag1 && views[0].tag2 == views[1].tag2)
        }
        for relation in Relation.allCases {
            #expect(valid.filter { $0.relation == relation.rawValue }.count >= 16)
        }
        #expect(valid.contains { $0.flags.contains("KeyOrderDiffersFromHandleOrder") })
        #expect(
            Set(invalid.compactMap(\.error)) == [
                "lowOrderPublicKey", "nonCanonicalPublicKey", "invalidLength", "invalidHandle", "invalidProgram",
                "invalidRole", "selfMark", "invalidEpoch",
            ])
    }

    /// Every refusal of Specs/messages.md section 7 has a vector, both sides write first somewhere, and every
    /// refused step but the last is followed by a step that proves the state did not move.
    @Test func messageVectorsCoverEveryRefusal() throws {
        let data = try Data(contentsOf: vectorDirectory.appendingPathComponent("reciprocity_messages_v1_test.json"))
        let file = try JSONDecoder().decode(VectorFile<MessageVector>.self, from: data)
        let tests = file.testGroups.flatMap(\.tests)
        #expect(Set(tests.flatMap(\.flags)).isSubset(of: Set(file.notes.keys)))
        #expect(
            Set(tests.compactMap(\.error)) == [
                "messageMalformed", "messageWrongSide", "messageReplayed", "messageOutsideWindow",
                "messageAuthenticationFailed", "invalidMessagePadding",
            ])
        for flag in ["AFirst", "BFirst", "BothFirst", "MovedToAnotherEpoch", "MovedToAnotherMatch", "StateUnchanged"] {
            #expect(tests.contains { $0.flags.contains(flag) }, "\(flag)")
        }
        #expect(tests.filter { $0.result == "valid" }.count >= 9 && tests.filter { $0.result == "invalid" }.count >= 20)
        // A DH ratchet step happens in most scripts, and each one names the key it generates.
        #expect(tests.flatMap(\.steps).filter { $0.ratchetPrivateKey != nil }.count >= 30)
    }

    /// A hostile message vector (a negative or huge count, a token of the wrong length, an unknown member) is a
    /// failed test with a reason, never a trap or a hang.
    @Test(arguments: [
        (#""count" : 101,"#, #""count" : -1,"#), (#""count" : 101,"#, #""count" : 9223372036854775807,"#),
        (#""token" : "cd438e9f"#, #""token" : "00cd438e9f"#), (#""member" : "bob""#, #""member" : "mallory""#),
    ])
    func hostileMessageVectorsFailCleanly(_ original: String, _ replacement: String) throws {
        let name = "reciprocity_messages_v1_test.json"
        var text = try String(contentsOf: vectorDirectory.appendingPathComponent(name), encoding: .utf8)
        #expect(text.contains(original))
        text = text.replacingOccurrences(of: original, with: replacement)
        let report = try VectorVerifier.verify(Data(text.utf8), file: name)
        #expect(report.failed > 0 && report.failures.allSatisfy { !$0.reason.isEmpty })
    }

    /// The first release of the files had 249 tests; later tests are appended, so those keep their numbers and
    /// content (a file's first tests are compared with the committed ones by the byte-for-byte test above).
    @Test func testsAreOnlyEverAppended() throws {
        let data = try Data(contentsOf: vectorDirectory.appendingPathComponent("reciprocity_key_log_v1_test.json"))
        let file = try JSONDecoder().decode(VectorFile<KeyLogVector>.self, from: data)
        let tests = file.testGroups.flatMap(\.tests)
        #expect(tests.map(\.tcId) == Array(1...tests.count))
        #expect(tests[0].comment == "an empty log" && tests[20].comment == "a truncated signature")
        #expect(Set(tests.compactMap(\.error)).isSuperset(of: ["staleHead", "futureHead", "invalidEncoding"]))
    }

    /// Every file names a JSON Schema that ships in Specs/vectors/schemas/ (scripts/test.sh validates the files
    /// against them with the Python `jsonschema` package).
    @Test func everyFileNamesASchemaThatShips() throws {
        struct Header: Decodable { var schema: String }
        for name in try vectorFileNames() {
            let header = try JSONDecoder().decode(
                Header.self, from: Data(contentsOf: vectorDirectory.appendingPathComponent(name)))
            let schemaURL = vectorDirectory.appendingPathComponent("schemas").appendingPathComponent(header.schema)
            let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: schemaURL)) as? [String: Any]
            #expect(schema?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema", "\(name)")
        }
    }

    @Test func verifierReportsATamperedValueByTestID() throws {
        let name = "reciprocity_token_v1_test.json"
        var text = try String(contentsOf: vectorDirectory.appendingPathComponent(name), encoding: .utf8)
        let data = try Data(contentsOf: vectorDirectory.appendingPathComponent(name))
        let file = try JSONDecoder().decode(VectorFile<TokenVector>.self, from: data)
        let victim = file.testGroups[0].tests[4]
        let token = victim.token!
        let flipped = String(token.prefix(63)) + (token.last == "0" ? "1" : "0")
        text = text.replacingOccurrences(of: "\"token\" : \"\(token)\"", with: "\"token\" : \"\(flipped)\"")
        let report = try VectorVerifier.verify(Data(text.utf8), file: name)
        // Both views of a pair carry the same token string, so the edit hits tcId 5 and its twin, tcId 6.
        #expect(report.failures.map(\.tcId) == [victim.tcId, victim.tcId + 1])
        #expect(report.failures.allSatisfy { $0.reason.contains("token") })
    }

    @Test(arguments: [
        ("not json", "{"),
        ("unknown algorithm", #"{"algorithm":"ROT13"}"#),
        ("missing fields", #"{"algorithm":"X25519","testGroups":[]}"#),
        (
            "count mismatch",
            #"{"algorithm":"HKDF-SHA-256","schema":"s","generatorVersion":"1","numberOfTests":2,"header":[],"notes":{},"testGroups":[]}"#
        ),
    ])
    func malformedFileIsAClearErrorNamingTheFile(_ label: String, _ json: String) throws {
        let error = #expect(throws: ReciprocityError.self) {
            try VectorVerifier.verify(Data(json.utf8), file: "broken.json")
        }
        #expect(error?.code == .malformedVectors)
        #expect(error?.reason.hasPrefix("broken.json: ") == true, "\(label)")
    }
}
