import Testing

@testable import ReciprocityCore

/// RFC 9162 section 2.1 hashing and proofs, checked against the Certificate Transparency reference values
/// and by exhaustive round trips over every tree size up to 40.
@Suite struct MerkleTreeTests {
    /// The CT reference inputs and the published Merkle tree hashes for sizes 0 to 8.
    static let leaves = [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ].map { MerkleTree.leafHash(try! Hex.decode($0)) }
    static let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    @Test func rootsMatchTheReferenceTreeHeads() {
        for size in 0...8 {
            #expect(Hex.encode(MerkleTree.root(leafHashes: Self.leaves[..<size])) == Self.roots[size], "size \(size)")
        }
    }

    @Test func inclusionProofsMatchTheReferenceProofs() throws {
        let expected: [(Int, [String])] = [
            (
                0,
                [
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]
            ),
            (
                5,
                [
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]
            ),
        ]
        for (index, proof) in expected {
            #expect(MerkleTree.inclusionProof(index: index, leafHashes: Self.leaves[...]).map(Hex.encode) == proof)
        }
    }

    @Test func everyInclusionProofVerifiesAndNoTamperedOneDoes() throws {
        let leaves = (0..<40).map { MerkleTree.leafHash([UInt8($0), 0x5a]) }
        for size in 1...leaves.count {
            let tree = leaves[..<size]
            let root = MerkleTree.root(leafHashes: tree)
            for index in 0..<size {
                let proof = MerkleTree.inclusionProof(index: index, leafHashes: tree)
                #expect(
                    MerkleTree.verifyInclusion(
                        index: index, treeSize: size, leafHash: leaves[index], proof: proof, root: root))
                // Wrong leaf, wrong index, wrong size, a flipped bit, a dropped or an extra step: all refused.
                #expect(
                    !MerkleTree.verifyInclusion(
                        index: index, treeSize: size, leafHash: leaves[(index + 1) % leaves.count], proof: proof,
                        root: root))
                if size > 1 {
                    #expect(
                        !MerkleTree.verifyInclusion(
                            index: (index + 1) % size, treeSize: size, leafHash: leaves[index], proof: proof, root: root
                        ))
                    var flipped = proof
                    flipped[0][0] ^= 1
                    #expect(
                        !MerkleTree.verifyInclusion(
                            index: index, treeSize: size, leafHash: leaves[index], proof: flipped, root: root))
                    #expect(
                        !MerkleTree.verifyInclusion(
                            index: index, treeSize: size, leafHash: leaves[index], proof: Array(proof.dropLast()),
                            root: root))
                }
                #expect(
                    !MerkleTree.verifyInclusion(
                        index: index, treeSize: size, leafHash: leaves[index], proof: proof + [root], root: root))
            }
            #expect(
                !MerkleTree.verifyInclusion(index: size, treeSize: size, leafHash: leaves[0], proof: [], root: root))
        }
    }

    @Test func everyConsistencyProofVerifiesAndNoForkedOneDoes() throws {
        let leaves = (0..<24).map { MerkleTree.leafHash([UInt8($0), 0xa5]) }
        // A fork: the same log with one early entry rewritten.
        var forked = leaves
        forked[2] = MerkleTree.leafHash([0xff])
        for newSize in 1...leaves.count {
            let newRoot = MerkleTree.root(leafHashes: leaves[..<newSize])
            for oldSize in 1...newSize {
                let oldRoot = MerkleTree.root(leafHashes: leaves[..<oldSize])
                let proof = MerkleTree.consistencyProof(oldSize: oldSize, leafHashes: leaves[..<newSize])
                #expect(
                    MerkleTree.verifyConsistency(
                        oldSize: oldSize, newSize: newSize, oldRoot: oldRoot, newRoot: newRoot, proof: proof),
                    "\(oldSize) -> \(newSize)")
                // A head from the rewritten history is not consistent with the real one.
                if oldSize > 2 {
                    let forkedRoot = MerkleTree.root(leafHashes: forked[..<oldSize])
                    #expect(
                        !MerkleTree.verifyConsistency(
                            oldSize: oldSize, newSize: newSize, oldRoot: forkedRoot, newRoot: newRoot, proof: proof))
                }
                if !proof.isEmpty {
                    var flipped = proof
                    flipped[flipped.count - 1][31] ^= 1
                    #expect(
                        !MerkleTree.verifyConsistency(
                            oldSize: oldSize, newSize: newSize, oldRoot: oldRoot, newRoot: newRoot, proof: flipped))
                }
            }
        }
        // A shrinking log is never consistent.
        #expect(
            !MerkleTree.verifyConsistency(
                oldSize: 5, newSize: 4, oldRoot: MerkleTree.root(leafHashes: leaves[..<5]),
                newRoot: MerkleTree.root(leafHashes: leaves[..<4]), proof: []))
    }
}
