import Foundation
import ReciprocityCore

// The Merkle tree vectors (`merkle_rfc9162_test.json`, RFC 9162 and Specs/transparency.md):
// the test type, how this implementation checks it, and how the generator makes it.

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
                outcome =
                    hashes.indices.contains(index)
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

extension VectorGenerator {
    static func merkleFile() -> VectorFile<MerkleVector> {
        // The Certificate Transparency reference inputs.
        let inputs = [
            "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
        ]
        let hashes = inputs.map { MerkleTree.leafHash(try! Hex.decode($0)) }
        func root(_ n: Int) -> String { Hex.encode(MerkleTree.root(leafHashes: hashes[..<n])) }
        var roots: [MerkleVector] = []
        for n in 0...8 {
            roots.append(
                MerkleVector(
                    comment: "root of the first \(n) reference leaves", flags: ["Root"], kind: "root",
                    leaves: Array(inputs[..<n]), root: root(n), result: "valid"))
        }
        roots.append(
            MerkleVector(
                comment: "a root computed without the 0x00 leaf prefix", flags: ["Root", "WrongPrefix"], kind: "root",
                leaves: Array(inputs[..<2]),
                root: Hex.encode(try! SecureBytes.sha256([0x01] + SecureBytes.sha256([]) + SecureBytes.sha256([0x00]))),
                result: "invalid"))
        var inclusion: [MerkleVector] = []
        for n in 1...8 {
            for m in 0..<n {
                let proof = MerkleTree.inclusionProof(index: m, leafHashes: hashes[..<n]).map(Hex.encode)
                inclusion.append(
                    MerkleVector(
                        comment: "leaf \(m) of \(n)", flags: ["Inclusion"], kind: "inclusion",
                        leaves: Array(inputs[..<n]),
                        index: m, proof: proof, root: root(n), result: "valid"))
            }
        }
        let proof = MerkleTree.inclusionProof(index: 5, leafHashes: hashes[...]).map(Hex.encode)
        var flipped = proof
        flipped[1] = String(flipped[1].dropLast()) + (flipped[1].last == "0" ? "1" : "0")
        inclusion += [
            MerkleVector(
                comment: "a proof step changed", flags: ["Inclusion", "Tampered"], kind: "inclusion",
                leaves: inputs, index: 5, proof: flipped, root: root(8), result: "invalid"),
            MerkleVector(
                comment: "the right proof for another index", flags: ["Inclusion", "WrongIndex"],
                kind: "inclusion", leaves: inputs, index: 4, proof: proof, root: root(8), result: "invalid"),
            MerkleVector(
                comment: "a step missing", flags: ["Inclusion", "Truncated"], kind: "inclusion",
                leaves: inputs, index: 5, proof: Array(proof.dropLast()), root: root(8), result: "invalid"),
            MerkleVector(
                comment: "an extra step", flags: ["Inclusion", "Extended"], kind: "inclusion",
                leaves: inputs, index: 5, proof: proof + [root(8)], root: root(8), result: "invalid"),
        ]
        var consistency: [MerkleVector] = []
        for n in 1...8 {
            for m in 1...n {
                consistency.append(
                    MerkleVector(
                        comment: "from \(m) to \(n) leaves", flags: ["Consistency"], kind: "consistency",
                        leaves: Array(inputs[..<n]), index: m,
                        proof: MerkleTree.consistencyProof(oldSize: m, leafHashes: hashes[..<n]).map(Hex.encode),
                        root: root(n), oldRoot: root(m), result: "valid"))
            }
        }
        var rewritten = hashes
        rewritten[1] = MerkleTree.leafHash([0xff])
        let forkedRoot = Hex.encode(MerkleTree.root(leafHashes: rewritten[..<3]))
        let proof3to8 = MerkleTree.consistencyProof(oldSize: 3, leafHashes: hashes[...]).map(Hex.encode)
        consistency += [
            MerkleVector(
                comment: "an old head from a rewritten history", flags: ["Consistency", "Forked"],
                kind: "consistency", leaves: inputs, index: 3, proof: proof3to8, root: root(8),
                oldRoot: forkedRoot, result: "invalid"),
            MerkleVector(
                comment: "a proof step dropped", flags: ["Consistency", "Truncated"], kind: "consistency",
                leaves: inputs, index: 3, proof: Array(proof3to8.dropLast()), root: root(8), oldRoot: root(3),
                result: "invalid"),
            MerkleVector(
                comment: "equal sizes with a non-empty proof", flags: ["Consistency", "Extended"],
                kind: "consistency", leaves: inputs, index: 8, proof: [root(8)], root: root(8),
                oldRoot: root(8), result: "invalid"),
        ]
        return VectorFile(
            algorithm: MerkleVector.algorithm, schema: "merkle_rfc9162_test_schema.json",
            header: [
                "RFC 9162 section 2.1 Merkle tree hashing with SHA-256 over the Certificate Transparency reference",
                "leaves; inclusion and consistency proofs, valid and tampered (Specs/transparency.md).",
            ],
            notes: [
                "Root": "MTH of the leaves.", "WrongPrefix": "Hashed without the 0x00 leaf prefix.",
                "Inclusion": "An audit path (RFC 9162 section 2.1.3).", "Consistency": "RFC 9162 section 2.1.4.",
                "Tampered": "One bit of a proof step changed.", "WrongIndex": "A valid proof for another leaf.",
                "Truncated": "A proof step removed.", "Extended": "A step added.",
                "Forked": "The old head comes from a history with one entry rewritten.",
            ],
            groups: [
                VectorGroup(type: "MerkleRootTest", comment: "roots", tests: roots),
                VectorGroup(type: "MerkleInclusionTest", comment: "inclusion proofs", tests: inclusion),
                VectorGroup(type: "MerkleConsistencyTest", comment: "consistency proofs", tests: consistency),
            ])
    }
}
