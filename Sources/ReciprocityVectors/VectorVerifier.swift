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

extension TokenVector: CheckableVector {
    static let algorithm = "RECIPROCITY-TOKEN-V1"

    func failure() -> String? {
        compare(
            result: result, expectedError: error,
            Result {
                let out = try compute()
                return [
                    field("selfPublicKey", selfPublicKey, out.selfPublicKey!),
                    field("selfPosition", selfPosition.map(String.init), String(out.selfPosition!)),
                    field("sharedSecret", sharedSecret, out.sharedSecret!),
                    field("prk", prk, out.prk!),
                    field("tokenInfo", tokenInfo, out.tokenInfo!),
                    field("tagInfo1", tagInfo1, out.tagInfo1!),
                    field("tagInfo2", tagInfo2, out.tagInfo2!),
                    field("token", token, out.token!),
                    field("tokenBase64url", tokenBase64url, out.tokenBase64url!),
                    field("tag1", tag1, out.tag1!),
                    field("tag2", tag2, out.tag2!),
                ]
            })
    }

    /// Parses this test's inputs through the public types (so every validation rule applies) and runs the key
    /// schedule.
    func transcript() throws -> KeySchedule.Transcript {
        let program = try ProgramID(program)
        guard let relation = Relation(rawValue: relation) else {
            throw ReciprocityError(.invalidRole, "unknown relation")
        }
        guard let role = Role(rawValue: selfRole) else { throw ReciprocityError(.invalidRole, "unknown role") }
        let handle = try Handle(selfHandle)
        let other = try Handle(otherHandle)
        let key = try PrivateKey(rawRepresentation: Hex.decode(selfPrivateKey))
        let otherKey = try PublicKey(rawRepresentation: Hex.decode(otherPublicKey))
        let epoch = try InterestContext.epoch(epoch)
        return try KeySchedule.Transcript(
            context: InterestContext(program: program, relation: relation, epoch: epoch),
            me: key, handle: handle, role: role, other: Party(handle: other, publicKey: otherKey))
    }

    /// Runs the key schedule on this test's inputs and returns a copy with every output filled in.
    func compute() throws -> TokenVector {
        let transcript = try transcript()
        var out = self
        out.selfPublicKey = Hex.encode(try PrivateKey(rawRepresentation: Hex.decode(selfPrivateKey)).publicKey.bytes)
        out.selfPosition = transcript.ownPosition.rawValue
        out.sharedSecret = Hex.encode(transcript.sharedSecret)
        out.prk = Hex.encode(transcript.pseudorandomKey)
        out.tokenInfo = Hex.encode(transcript.tokenInfo)
        out.tagInfo1 = Hex.encode(transcript.tagInfo(.first))
        out.tagInfo2 = Hex.encode(transcript.tagInfo(.second))
        out.token = Hex.encode(transcript.token)
        out.tokenBase64url = Base64URL.encode(transcript.token)
        out.tag1 = Hex.encode(transcript.tag(.first))
        out.tag2 = Hex.encode(transcript.tag(.second))
        out.result = "valid"
        out.error = nil
        return out
    }
}

extension NoteVector: CheckableVector {
    static let algorithm = "RECIPROCITY-NOTE-V1"
    /// The group type of sealing tests; every other group opens.
    static let sealGroupType = "ReciprocityNoteSealTest"

    func failure() -> String? { failure(groupType: "ReciprocityNoteTest") }

    func failure(groupType: String) -> String? {
        let sealing = groupType == Self.sealGroupType
        return compare(
            result: result, expectedError: error,
            Result {
                let out = try sealing ? computeSealed() : compute()
                return [
                    field("token", token, out.token!), field("writerNoteInfo", writerNoteInfo, out.writerNoteInfo!),
                    field("writerNoteKey", writerNoteKey, out.writerNoteKey!),
                    field("paddedPlaintext", paddedPlaintext, out.paddedPlaintext!),
                    sealing ? field("sealed", sealed, out.sealed!) : field("note", note, out.note!),
                ]
            })
    }

    /// This test's pair as the key schedule sees it from `self`, with the note key and its `info` for `writer`.
    private func noteKey(writer: (RolePosition) -> RolePosition) throws
        -> (transcript: KeySchedule.Transcript, key: [UInt8], info: [UInt8])
    {
        let tokenTest = TokenVector(
            comment: comment, flags: flags, program: program, relation: relation, epoch: epoch, selfHandle: selfHandle,
            selfRole: selfRole, selfPrivateKey: selfPrivateKey, otherHandle: otherHandle, otherPublicKey: otherPublicKey,
            result: "valid")
        let transcript = try tokenTest.transcript()
        let writer = writer(transcript.ownPosition)
        let relation = Relation(rawValue: relation)!
        // The same key derivation the client uses; its `info` is published alongside.
        let key = try KeySchedule.noteKey(
            prk: transcript.pseudorandomKey, binding: transcript.binding, writer: writer, relation: relation)
        let info = KeySchedule.noteInfo(binding: transcript.binding, writer: writer, relation: relation)
        return (transcript, key, info)
    }

    /// Seals `note` as `self` (the writer) with its own role's note key and `nonce`.
    func computeSealed() throws -> NoteVector {
        let (transcript, key, info) = try noteKey(writer: { $0 })
        let nonce = try Hex.decode(nonce ?? "")
        guard nonce.count == ChaChaPoly.nonceLength else {
            throw ReciprocityError(.invalidLength, "a nonce is \(ChaChaPoly.nonceLength) bytes")
        }
        let padded = try SealedNote.pad(note ?? "")
        let sealed = try SealedNote.seal(note ?? "", key: key, nonce: nonce, token: transcript.token)
        var out = self
        out.token = Hex.encode(transcript.token)
        out.writerNoteInfo = Hex.encode(info)
        out.writerNoteKey = Hex.encode(key)
        out.paddedPlaintext = Hex.encode(padded)
        out.sealed = Hex.encode(sealed.bytes)
        out.result = "valid"
        out.error = nil
        return out
    }

    /// Derives the reader's view of the pair, then opens `sealed` with the writer's (the other role's) note key.
    func compute() throws -> NoteVector {
        let (transcript, key, info) = try noteKey(writer: { $0.other })
        let padded = try SealedNote(rawRepresentation: Hex.decode(sealed ?? "")).openPadded(
            key: key, token: transcript.token)
        var out = self
        out.token = Hex.encode(transcript.token)
        out.writerNoteInfo = Hex.encode(info)
        out.writerNoteKey = Hex.encode(key)
        out.paddedPlaintext = Hex.encode(padded)
        out.note = try SealedNote.unpad(padded)
        out.result = "valid"
        out.error = nil
        return out
    }
}

extension MerkleVector: CheckableVector {
    static let algorithm = "MERKLE-RFC9162-SHA256"

    func failure() -> String? {
        let outcome: Bool
        do {
            let hashes = try leaves.map { MerkleTree.leafHash(try Hex.decode($0)) }
            let root = try Hex.decode(root)
            let proof = try (proof ?? []).map { try Hex.decode($0) }
            switch kind {
            case "root": outcome = MerkleTree.root(leafHashes: hashes[...]) == root
            case "inclusion":
                let index = index ?? -1
                outcome = hashes.indices.contains(index)
                    && MerkleTree.verifyInclusion(
                        index: index, treeSize: hashes.count, leafHash: hashes[index], proof: proof, root: root)
            case "consistency":
                outcome = MerkleTree.verifyConsistency(
                    oldSize: index ?? 0, newSize: hashes.count, oldRoot: try Hex.decode(oldRoot ?? ""), newRoot: root,
                    proof: proof)
            default: return "unknown kind '\(kind)'"
            }
        } catch {
            outcome = false
        }
        switch (result, outcome) {
        case ("valid", true), ("invalid", false): return nil
        case ("valid", false): return "expected the \(kind) to verify"
        default: return "expected the \(kind) to be refused"
        }
    }
}

extension KeyLogVector: CheckableVector {
    static let algorithm = "RECIPROCITY-KEY-LOG-V1"

    func failure() -> String? {
        compare(
            result: result, expectedError: error,
            Result {
                let program = try ProgramID(program)
                switch kind {
                case "log":
                    var directory = KeyDirectory(program: program)
                    var computedLeaves: [String] = [], computedHashes: [String] = []
                    for entry in entries ?? [] {
                        guard let event = KeyLogEvent(rawValue: entry.event) else {
                            throw ReciprocityError(.invalidLogEntry, "unknown event '\(entry.event)'")
                        }
                        let logEntry = KeyLogEntry(
                            program: program, event: event, handle: try Handle(entry.handle),
                            publicKey: try PublicKey(rawRepresentation: Hex.decode(entry.publicKey)))
                        try directory.apply(logEntry)
                        computedLeaves.append(Hex.encode(logEntry.leaf))
                        computedHashes.append(Hex.encode(logEntry.leafHash))
                    }
                    return [
                        field("leaves", leaves?.joined(separator: ","), computedLeaves.joined(separator: ",")),
                        field("leafHashes", leafHashes?.joined(separator: ","), computedHashes.joined(separator: ",")),
                        field("root", root, Hex.encode(directory.root)),
                    ]
                case "treeHead":
                    // The order of checks of Specs/transparency.md section 3: parse, program, signature, time.
                    let head = try SignedTreeHead(text: treeHead ?? "")
                    let key = try LogPublicKey(rawRepresentation: Hex.decode(logPublicKey ?? ""))
                    guard head.program == program else {
                        throw ReciprocityError(.invalidSignature, "the head is for another program's log")
                    }
                    guard head.verify(with: key) else {
                        throw ReciprocityError(.invalidSignature, "the head does not verify with the log key")
                    }
                    if let now { try head.checkTime(now: Date(timeIntervalSince1970: Double(now) / 1000)) }
                    return [field("root", root, Hex.encode(head.root))]
                default:
                    throw ReciprocityError(.malformedVectors, "unknown kind '\(kind)'")
                }
            })
    }
}

extension X25519Vector: CheckableVector {
    static let algorithm = "X25519"

    func failure() -> String? {
        compare(
            result: result, expectedError: nil,
            Result {
                let key = try X25519.PrivateKeyHandle(rawPrivateKey: Hex.decode(`private`))
                return [field("shared", shared, Hex.encode(try X25519.sharedSecret(key, peer: Hex.decode(`public`))))]
            })
    }
}

extension HKDFVector: CheckableVector {
    static let algorithm = "HKDF-SHA-256"

    func failure() -> String? {
        compare(
            result: result, expectedError: nil,
            Result {
                let computedPRK = try HKDF.extract(salt: Hex.decode(salt), inputKeyMaterial: Hex.decode(ikm))
                let computedOKM = try HKDF.expand(pseudorandomKey: computedPRK, info: Hex.decode(info), length: size)
                return [field("prk", prk, Hex.encode(computedPRK)), field("okm", okm, Hex.encode(computedOKM))]
            })
    }
}

extension Base64URLVector: CheckableVector {
    static let algorithm = "BASE64URL-32"

    func failure() -> String? {
        compare(
            result: result, expectedError: error,
            Result {
                let byteCount = byteCount ?? 32
                // Bounded so that a hostile vector file cannot make the expected length overflow.
                guard (0...1 << 20).contains(byteCount) else {
                    throw ReciprocityError(.malformedVectors, "byteCount out of range")
                }
                return [
                    field(
                        "decoded", decoded,
                        Hex.encode(try Base64URL.decode(encoded, byteCount: byteCount, what: "value"))),
                ]
            })
    }
}
