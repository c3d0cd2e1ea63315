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

    public init(algorithm: String, schema: String, header: [String], notes: [String: String], groups: [VectorGroup<Test>]) {
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

/// One test of `reciprocity_token_v1_test.json`: inputs, every intermediate value, and the outputs.
public struct TokenVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    public var program: String
    public var relation: String
    /// An unsigned 32-bit value in a valid test; wider here so that the invalid-epoch tests decode.
    public var epoch: Int64
    public var selfHandle: String
    public var selfRole: String
    public var selfPrivateKey: String
    public var otherHandle: String
    public var otherPublicKey: String
    // Outputs, present when result is "valid".
    public var selfPublicKey: String?
    public var selfPosition: Int?
    public var sharedSecret: String?
    public var prk: String?
    public var tokenInfo: String?
    public var tagInfo1: String?
    public var tagInfo2: String?
    public var token: String?
    public var tokenBase64url: String?
    public var tag1: String?
    public var tag2: String?
    public var result: String
    /// For invalid tests: the ``ReciprocityError/Code`` an implementation must report.
    public var error: String?
}

/// One test of `reciprocity_note_v1_test.json`. In a `ReciprocityNoteTest` group the reader (`self`) opens the
/// note the other party sealed; in a `ReciprocityNoteSealTest` group the writer (`self`) seals `note` with `nonce`
/// for the other party.
public struct NoteVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    public var program: String
    public var relation: String
    /// An unsigned 32-bit value in a valid test; wider here so that the invalid-epoch tests decode.
    public var epoch: Int64
    public var selfHandle: String
    public var selfRole: String
    public var selfPrivateKey: String
    public var otherHandle: String
    public var otherPublicKey: String
    /// nonce || ciphertext || tag: the input of an opening test, the output of a sealing test.
    public var sealed: String?
    /// The 12-byte nonce of a sealing test (hex).
    public var nonce: String?
    // Outputs, present when result is "valid" (for a sealing test, `note` is an input).
    public var token: String?
    public var writerNoteInfo: String?
    public var writerNoteKey: String?
    public var paddedPlaintext: String?
    public var note: String?
    public var result: String
    public var error: String?
}

/// One test of `merkle_rfc9162_test.json`: a tree root, an inclusion proof or a consistency proof.
public struct MerkleVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    /// `root`, `inclusion` or `consistency`.
    public var kind: String
    /// Leaf inputs (hex), before leaf hashing, of the whole tree.
    public var leaves: [String]
    /// For `inclusion`: the leaf's index; for `consistency`: the old tree size.
    public var index: Int?
    public var proof: [String]?
    /// The root of the tree (for `consistency`, of the new tree); `oldRoot` for consistency.
    public var root: String
    public var oldRoot: String?
    public var result: String
}

/// One test of `reciprocity_key_log_v1_test.json`: a key log replayed into leaves, leaf hashes and a root,
/// or a signed tree head in its one-line form checked against the log key.
public struct KeyLogVector: VectorTest {
    public struct Entry: Codable, Sendable {
        public var event: String
        public var handle: String
        /// The X25519 public key, hex.
        public var publicKey: String
    }

    public var tcId = 0
    public var comment: String
    public var flags: [String]
    /// `log` or `treeHead`.
    public var kind: String
    public var program: String
    public var entries: [Entry]?
    /// Expected leaf encodings and leaf hashes (hex), in order.
    public var leaves: [String]?
    public var leafHashes: [String]?
    /// The root of the log (hex); for `treeHead`, the root the head carries.
    public var root: String?
    /// The Ed25519 log public key (hex).
    public var logPublicKey: String?
    public var treeHead: String?
    /// For `treeHead`: when present, the verifier's clock (milliseconds since 1970) for the freshness check.
    public var now: Int64?
    public var result: String
    public var error: String?
}

/// One test of the raw X25519 function (RFC 7748).
public struct X25519Vector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    public var `private`: String
    public var `public`: String
    public var shared: String
    public var result: String
}

/// One test of HKDF-SHA256 (RFC 5869), with the intermediate PRK.
public struct HKDFVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    public var ikm: String
    public var salt: String
    public var info: String
    public var size: Int
    public var prk: String
    public var okm: String
    public var result: String
}

/// One test of the wire encoding of a binary value.
public struct Base64URLVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    /// The number of bytes the value must decode to; absent in the first tests of the file, which are 32.
    public var byteCount: Int?
    public var encoded: String
    /// The decoded bytes in hex, for valid tests.
    public var decoded: String?
    public var result: String
    public var error: String?
}

/// Encodes and decodes vector files byte-for-byte reproducibly: sorted keys, two-space indentation via
/// `prettyPrinted`, no escaped slashes, a final newline.
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
