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
        MerkleLog(leafHashes: leafHashes).root(size: leafHashes.count)
    }

    /// `PATH(m, D[n])`, the inclusion proof of leaf `m` (section 2.1.3.1).
    public static func inclusionProof(index m: Int, leafHashes: ArraySlice<[UInt8]>) -> [[UInt8]] {
        MerkleLog(leafHashes: leafHashes).inclusionProof(index: m, size: leafHashes.count)
    }

    /// `PROOF(m, D[n])`, the consistency proof between the trees of the first `m` and all `n` leaves
    /// (section 2.1.4.1).
    public static func consistencyProof(oldSize m: Int, leafHashes: ArraySlice<[UInt8]>) -> [[UInt8]] {
        MerkleLog(leafHashes: leafHashes).consistencyProof(oldSize: m, newSize: leafHashes.count)
    }

    /// Verifies an inclusion proof (section 2.1.3.2).
    public static func verifyInclusion(
        index: Int, treeSize: Int, leafHash: [UInt8], proof: [[UInt8]], root: [UInt8]
    ) -> Bool {
        guard index >= 0, index < treeSize, proof.allSatisfy({ $0.count == hashLength }) else { return false }
        var fn = index
        var sn = treeSize - 1
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
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
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

/// An append-only Merkle tree that keeps the hash of every complete, aligned power-of-two subtree, so that
/// the root of any prefix and every inclusion or consistency proof cost O(log² n) hashes instead of O(n).
/// This is what the server keeps in memory per program; 100,000 leaves take about 6 MB.
public struct MerkleLog: Sendable {
    /// `levels[k]` holds the hashes of the `count >> k` complete subtrees of `2^k` leaves, back to back.
    private var levels: [[UInt8]] = [[]]
    public private(set) var count = 0

    public init() {}

    public init(leafHashes: some Sequence<[UInt8]>) {
        for hash in leafHashes { append(leafHash: hash) }
    }

    public mutating func append(leafHash: [UInt8]) {
        precondition(leafHash.count == MerkleTree.hashLength)
        levels[0] += leafHash
        count += 1
        // Every trailing one bit of the new count closes a complete subtree one level up.
        var level = 0
        while (count >> level) & 1 == 0 {
            let pair = hash(level: level, index: (count >> level) - 2)
            let parent = MerkleTree.nodeHash(pair, hash(level: level, index: (count >> level) - 1))
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1] += parent
            level += 1
        }
    }

    private func hash(level: Int, index: Int) -> [UInt8] {
        let start = index * MerkleTree.hashLength
        return Array(levels[level][start..<start + MerkleTree.hashLength])
    }

    /// `MTH(D[start:start+size])` for a node of the tree (its start is aligned as RFC 9162's split makes it).
    private func subtreeHash(start: Int, size: Int) -> [UInt8] {
        if size & (size - 1) == 0 {
            let level = size.trailingZeroBitCount
            return hash(level: level, index: start >> level)
        }
        let k = MerkleTree.split(size)
        return MerkleTree.nodeHash(subtreeHash(start: start, size: k), subtreeHash(start: start + k, size: size - k))
    }

    /// `MTH(D[size])`, the root of the first `size` leaves.
    public func root(size: Int) -> [UInt8] {
        precondition(size >= 0 && size <= count)
        return size == 0 ? MerkleTree.emptyRoot : subtreeHash(start: 0, size: size)
    }

    /// `PATH(index, D[size])`.
    public func inclusionProof(index: Int, size: Int) -> [[UInt8]] {
        precondition(index >= 0 && index < size && size <= count)
        func path(_ m: Int, _ start: Int, _ n: Int) -> [[UInt8]] {
            guard n > 1 else { return [] }
            let k = MerkleTree.split(n)
            return m < k
                ? path(m, start, k) + [subtreeHash(start: start + k, size: n - k)]
                : path(m - k, start + k, n - k) + [subtreeHash(start: start, size: k)]
        }
        return path(index, 0, size)
    }

    /// `PROOF(oldSize, D[newSize])`.
    public func consistencyProof(oldSize: Int, newSize: Int) -> [[UInt8]] {
        precondition(oldSize >= 1 && oldSize <= newSize && newSize <= count)
        func subproof(_ m: Int, _ start: Int, _ n: Int, _ complete: Bool) -> [[UInt8]] {
            if m == n { return complete ? [] : [subtreeHash(start: start, size: n)] }
            let k = MerkleTree.split(n)
            return m <= k
                ? subproof(m, start, k, complete) + [subtreeHash(start: start + k, size: n - k)]
                : subproof(m - k, start + k, n - k, false) + [subtreeHash(start: start, size: k)]
        }
        return subproof(oldSize, 0, newSize, true)
    }
}

/// The right edge of a Merkle tree: the hashes of its complete subtrees, largest first (one per one bit of
/// `size`). Enough to append leaves and compute the new root, so an auditor can resume a replay from the
/// last head it verified without keeping the whole log.
public struct MerkleFrontier: Sendable, Codable, Equatable {
    public private(set) var size: Int = 0
    public private(set) var hashes: [[UInt8]] = []

    public init() {}

    public mutating func append(leafHash: [UInt8]) {
        var hash = leafHash
        var n = size
        while n & 1 == 1 {
            hash = MerkleTree.nodeHash(hashes.removeLast(), hash)
            n >>= 1
        }
        hashes.append(hash)
        size += 1
    }

    /// `MTH(D[size])`: the complete subtrees folded from the right.
    public var root: [UInt8] {
        guard var root = hashes.last else { return MerkleTree.emptyRoot }
        for hash in hashes.dropLast().reversed() { root = MerkleTree.nodeHash(hash, root) }
        return root
    }

    private enum CodingKeys: String, CodingKey { case size, hashes }

    /// Hashes as base64url strings; decoding checks that there is one 32-byte hash per one bit of `size`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        size = try container.decode(Int.self, forKey: .size)
        hashes = try container.decode([String].self, forKey: .hashes).map {
            try Base64URL.decode($0, byteCount: MerkleTree.hashLength, what: "frontier hash")
        }
        guard size >= 0, hashes.count == size.nonzeroBitCount else {
            throw ReciprocityError(.invalidEncoding, "a frontier of \(size) leaves has \(size.nonzeroBitCount) hashes")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(size, forKey: .size)
        try container.encode(hashes.map { Base64URL.encode($0) }, forKey: .hashes)
    }
}
