import Foundation
import ReciprocityCore

/// A test-vector file in the Wycheproof layout: one algorithm, flag notes, groups of numbered tests.
public struct VectorFile<Test: VectorTest>: Codable, Sendable {
    public var algorithm: String
    public var schema: String
    public var generatorVersion: String
    public var numberOfTests: Int
    public var header: [String]
    /// What each flag used in the tests means.
    public var notes: [String: String]
    public var testGroups: [VectorGroup<Test>]

    public init(
        algorithm: String, schema: String, header: [String], notes: [String: String], groups: [VectorGroup<Test>]
    ) {
        self.algorithm = algorithm
        self.schema = schema
        self.generatorVersion = VectorGenerator.version
        self.header = header
        self.notes = notes
        var id = 0
        self.testGroups = groups.map { group in
            var group = group
            for index in group.tests.indices {
                id += 1
                group.tests[index].tcId = id
            }
            return group
        }
        self.numberOfTests = id
    }
}

/// A group of tests that share a type.
public struct VectorGroup<Test: VectorTest>: Codable, Sendable {
    public var type: String
    public var comment: String
    public var tests: [Test]
}

/// The fields every Wycheproof-style test carries.
public protocol VectorTest: Codable, Sendable {
    var tcId: Int { get set }
    var comment: String { get }
    var flags: [String] { get }
    /// `valid` or `invalid`.
    var result: String { get }
}

enum VectorCoding {
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0a)
        return data
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw ReciprocityError(.malformedVectors, "\(file): \(describe(error))")
        } catch {
            throw ReciprocityError(.malformedVectors, "\(file): not JSON")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "top level" : keys
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(_, let context): return "wrong type at \(path(context))"
        case .valueNotFound(_, let context): return "null value at \(path(context))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "bad value at \(path(context))"
        @unknown default: return "cannot be decoded"
        }
    }
}
