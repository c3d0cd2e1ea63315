public import Foundation
import ReciprocityCore

/// The outcome of checking one vector file.
public struct VectorReport: Sendable {
    public let algorithm: String
    public let passed: Int
    /// `tcId` and what went wrong, for each failed test.
    public let failures: [(tcId: Int, reason: String)]
    public var failed: Int { failures.count }
}

/// Recomputes every test of a vector file with this implementation and compares the results.
public enum VectorVerifier {
    /// Checks one file. Throws ``ReciprocityError/Code/malformedVectors`` when the file is not a vector file of a
    /// known algorithm; a test whose values disagree is a failure in the report, not an error.
    public static func verify(_ data: Data, file: String) throws -> VectorReport {
        struct Header: Decodable { var algorithm: String }
        let algorithm = try VectorCoding.decode(Header.self, from: data, file: file).algorithm
        switch algorithm {
        case TokenVector.algorithm: return try check(TokenVector.self, data, file)
        case NoteVector.algorithm: return try check(NoteVector.self, data, file)
        case MerkleVector.algorithm: return try check(MerkleVector.self, data, file)
        case KeyLogVector.algorithm: return try check(KeyLogVector.self, data, file)
        case X25519Vector.algorithm: return try check(X25519Vector.self, data, file)
        case HKDFVector.algorithm: return try check(HKDFVector.self, data, file)
        case Base64URLVector.algorithm: return try check(Base64URLVector.self, data, file)
        case BackupVector.algorithm: return try check(BackupVector.self, data, file)
        case MessageVector.algorithm: return try check(MessageVector.self, data, file)
        default: throw ReciprocityError(.malformedVectors, "\(file): unknown algorithm '\(algorithm)'")
        }
    }

    private static func check<Test: CheckableVector>(_ type: Test.Type, _ data: Data, _ file: String) throws
        -> VectorReport
    {
        let vectors = try VectorCoding.decode(VectorFile<Test>.self, from: data, file: file)
        let tests = vectors.testGroups.flatMap(\.tests)
        guard tests.count == vectors.numberOfTests else {
            throw ReciprocityError(
                .malformedVectors, "\(file): numberOfTests is \(vectors.numberOfTests) but \(tests.count) tests follow")
        }
        var failures: [(Int, String)] = []
        for group in vectors.testGroups {
            for test in group.tests {
                if let reason = test.failure(groupType: group.type) { failures.append((test.tcId, reason)) }
            }
        }
        return VectorReport(algorithm: vectors.algorithm, passed: tests.count - failures.count, failures: failures)
    }
}

/// A test that can recompute itself.
protocol CheckableVector: VectorTest {
    static var algorithm: String { get }
    /// nil when this implementation agrees with the test, otherwise why not.
    func failure() -> String?
    /// The same, for a test of a group of type `groupType` (Wycheproof groups say what their tests exercise).
    func failure(groupType: String) -> String?
}

extension CheckableVector {
    func failure(groupType: String) -> String? { failure() }
}

/// Compares an expected outcome (a value, or an error code) with a computed one.
func compare(
    result: String, expectedError: String?, _ outcome: Result<[(String, String?)], any Error>
) -> String? {
    switch (result, outcome) {
    case ("valid", .success(let fields)):
        let wrong = fields.filter { $0.1 == nil }.map(\.0)
        return wrong.isEmpty ? nil : "mismatch in " + wrong.joined(separator: ", ")
    case ("valid", .failure(let error)):
        return "expected a valid result, got error \(code(error))"
    case ("invalid", .success):
        return "expected error \(expectedError ?? "(any)"), but the computation succeeded"
    case ("invalid", .failure(let error)):
        guard let expectedError else { return nil }
        return code(error) == expectedError ? nil : "expected error \(expectedError), got \(code(error))"
    default:
        return "unknown result '\(result)'"
    }
}

private func code(_ error: any Error) -> String {
    (error as? ReciprocityError)?.code.rawValue ?? "\(type(of: error))"
}

/// A field check: the name when `expected` differs from `actual`, kept as (name, nil) so `compare` can list it.
func field(_ name: String, _ expected: String?, _ actual: String) -> (String, String?) {
    (name, expected == actual ? actual : nil)
}
