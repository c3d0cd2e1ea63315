/// The Merkle tree hashing of RFC 9162 (Certificate Transparency 2.0), section 2.1, with SHA-256: the
/// building block of the key-transparency log (Specs/transparency.md). Leaf and interior hashes use distinct
/// prefixes (0x00, 0x01), so a leaf can never be passed off as a node.
public enum MerkleTree {
    public static let hashLength = 32

    /// `MTH({}) = SHA-256()`.
    public static var emptyRoot: [UInt8] { try! SecureBytes.sha256([UInt8]()) }

    /// `SHA-256(0x00 || leaf)`.
    public static func leafHash(_ leaf: [UInt8]) -> [UInt8] { try! SecureBytes.sha256([0x00] + leaf) }

    /// `SHA-256(0x01 || left || right)`.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        try! SecureBytes.sha256([0x01] + left + right)
    }

    /// The largest power of two smaller than `n` (n > 1).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// `MTH(D[n])` over leaf hashes (section 2.1.1).
    public static func root(leafHashes: ArraySlice<[UInt8]>) -> [UInt8] {
        switch leafHashes.count {
        case 0: return emptyRoot
        case 1: return leafHashes.first!
        default:
            let k = split(leafHashes.count), start = leafHashes.startIndex
            return nodeHash(root(leafHashes: leafHashes[start..<start + k]), root(leafHashes: leafHashes[(start + k)...]))
        }
    }

    /// `PATH(m, D[n])`, the inclusion proof of leaf `m` (section 2.1.3.1).
    public static func inclusionProof(index m: Int, leafHashes: ArraySlice<[UInt8]>) -> [[UInt8]] {
        let n = leafHashes.count
        precondition(m >= 0 && m < n)
        guard n > 1 else { return [] }
        let k = split(n), start = leafHashes.startIndex
        let left = leafHashes[start..<start + k], right = leafHashes[(start + k)...]
        return m < k
            ? inclusionProof(index: m, leafHashes: left) + [root(leafHashes: right)]
            : inclusionProof(index: m - k, leafHashes: right) + [root(leafHashes: left)]
    }

    /// `PROOF(m, D[n])`, the consistency proof between the trees of the first `m` and all `n` leaves
    /// (section 2.1.4.1).
    public static func consistencyProof(oldSize m: Int, leafHashes: ArraySlice<[UInt8]>) -> [[UInt8]] {
        precondition(m >= 1 && m <= leafHashes.count)
        return subproof(m, leafHashes, true)
    }

    private static func subproof(_ m: Int, _ leaves: ArraySlice<[UInt8]>, _ complete: Bool) -> [[UInt8]] {
        let n = leaves.count
        if m == n { return complete ? [] : [root(leafHashes: leaves)] }
        let k = split(n), start = leaves.startIndex
        let left = leaves[start..<start + k], right = leaves[(start + k)...]
        return m <= k
            ? subproof(m, left, complete) + [root(leafHashes: right)]
            : subproof(m - k, right, false) + [root(leafHashes: left)]
    }

    /// Verifies an inclusion proof (section 2.1.3.2).
    public static func verifyInclusion(
        index: Int, treeSize: Int, leafHash: [UInt8], proof: [[UInt8]], root: [UInt8]
    ) -> Bool {
        guard index >= 0, index < treeSize, proof.allSatisfy({ $0.count == hashLength }) else { return false }
        var fn = index, sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && SecureBytes.constantTimeEqual(r, root)
    }

    /// Verifies a consistency proof from `(oldSize, oldRoot)` to `(newSize, newRoot)` (section 2.1.4.2).
    public static func verifyConsistency(
        oldSize: Int, newSize: Int, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]
    ) -> Bool {
        guard oldSize >= 1, oldSize <= newSize, proof.allSatisfy({ $0.count == hashLength }) else { return false }
        if oldSize == newSize {
            return proof.isEmpty && SecureBytes.constantTimeEqual(oldRoot, newRoot)
        }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        guard !path.isEmpty else { return false }
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && SecureBytes.constantTimeEqual(fr, oldRoot) && SecureBytes.constantTimeEqual(sr, newRoot)
    }
}
