import Foundation
import ReciprocityCore
import Testing

@Suite struct KeyLogTests {
    /// RFC 9162 section 2.1 written as directly as possible, to check the cached tree against.
    enum Reference {
        static func split(_ n: Int) -> Int {
            var k = 1
            while k << 1 < n { k <<= 1 }
            return k
        }
        static func root(_ d: ArraySlice<[UInt8]>) -> [UInt8] {
            if d.isEmpty { return MerkleTree.emptyRoot }
            if d.count == 1 { return d.first! }
            let k = split(d.count)
            let s = d.startIndex
            return MerkleTree.nodeHash(root(d[s..<s + k]), root(d[(s + k)...]))
        }
        static func path(_ m: Int, _ d: ArraySlice<[UInt8]>) -> [[UInt8]] {
            if d.count <= 1 { return [] }
            let k = split(d.count)
            let s = d.startIndex
            return m < k
                ? path(m, d[s..<s + k]) + [root(d[(s + k)...])] : path(m - k, d[(s + k)...]) + [root(d[s..<s + k])]
        }
        static func subproof(_ m: Int, _ d: ArraySlice<[UInt8]>, _ b: Bool) -> [[UInt8]] {
            if m == d.count { return b ? [] : [root(d)] }
            let k = split(d.count)
            let s = d.startIndex
            return m <= k
                ? subproof(m, d[s..<s + k], b) + [root(d[(s + k)...])]
                : subproof(m - k, d[(s + k)...], false) + [root(d[s..<s + k])]
        }
    }

    @Test func cachedTreeAgreesWithTheDefinitionForEveryPrefixAndProof() {
        let leaves = (0..<70).map { MerkleTree.leafHash([UInt8($0), 0x33]) }
        let log = MerkleLog(leafHashes: leaves)
        var frontier = MerkleFrontier()
        #expect(frontier.root == MerkleTree.emptyRoot && log.root(size: 0) == MerkleTree.emptyRoot)
        for n in 1...leaves.count {
            frontier.append(leafHash: leaves[n - 1])
            let expected = Reference.root(leaves[..<n])
            #expect(log.root(size: n) == expected, "root \(n)")
            #expect(frontier.root == expected, "frontier \(n)")
            #expect(frontier.hashes.count == n.nonzeroBitCount)
            for m in 0..<n {
                #expect(log.inclusionProof(index: m, size: n) == Reference.path(m, leaves[..<n]), "path \(m) of \(n)")
            }
            for m in 1...n {
                #expect(log.consistencyProof(oldSize: m, newSize: n) == Reference.subproof(m, leaves[..<n], true))
            }
        }
    }

    @Test func frontierSurvivesItsJSONFormAndRefusesAMalformedOne() throws {
        var frontier = MerkleFrontier()
        for i in 0..<13 { frontier.append(leafHash: MerkleTree.leafHash([UInt8(i)])) }
        let data = try JSONEncoder().encode(frontier)
        #expect(try JSONDecoder().decode(MerkleFrontier.self, from: data) == frontier)
        let wrongCount = #"{"size":13,"hashes":["\#(Base64URL.encode(frontier.hashes[0]))"]}"#
        #expect(throws: ReciprocityError.self) {
            try JSONDecoder().decode(MerkleFrontier.self, from: Data(wrongCount.utf8))
        }
    }

    func entry(_ event: KeyLogEvent, _ handle: String, _ key: PublicKey, program: String = "acme") throws -> KeyLogEntry
    {
        KeyLogEntry(program: try ProgramID(program), event: event, handle: try Handle(handle), publicKey: key)
    }

    @Test func leafBytesAreTheSpecifiedEncoding() throws {
        let key = try PublicKey(rawRepresentation: [UInt8](repeating: 9, count: 32))
        let leaf = try entry(.rotate, "bob", key).leaf
        let expected: [UInt8] =
            [0, 22] + Array("reciprocity-key-log/v1".utf8) + [0, 4] + Array("acme".utf8) + [2]
            + [0, 3] + Array("bob".utf8) + [UInt8](repeating: 9, count: 32)
        #expect(leaf == expected)
        #expect(try entry(.rotate, "bob", key).leafHash == MerkleTree.leafHash(expected))
        #expect(try entry(.join, "bob", key).leafHash != entry(.rotate, "bob", key).leafHash)
    }

    @Test func replayEnforcesOneLiveKeyPerHandleAndOneHandlePerKey() throws {
        let (a, b, c) = (try PrivateKey().publicKey, try PrivateKey().publicKey, try PrivateKey().publicKey)
        var directory = KeyDirectory(program: try ProgramID("acme"))
        try directory.apply(entry(.join, "alice", a))
        try directory.apply(entry(.join, "bob", b))
        try directory.apply(entry(.rotate, "bob", c))
        try directory.apply(entry(.leave, "alice", a))
        try directory.apply(entry(.join, "alice", a))
        #expect(directory.live == ["alice": a.base64URL, "bob": c.base64URL])
        #expect(directory.size == 5)
        let refused: [(KeyLogEntry, String)] = [
            (try entry(.join, "bob", b), "'bob' joins while it already has a live key"),
            (try entry(.join, "carol", a), "already live for 'alice'"),
            (try entry(.rotate, "bob", a), "already live for 'alice'"),
            (try entry(.rotate, "bob", c), "rotates to the key it already has"),
            (try entry(.rotate, "carol", b), "'carol' rotates its key but is not live"),
            (try entry(.leave, "bob", b), "leaves with a key that is not its live key"),
            (try entry(.leave, "carol", b), "leaves with a key that is not its live key"),
            (try entry(.join, "carol", b, program: "other"), "belongs to program 'other'"),
        ]
        for (bad, reason) in refused {
            var copy = directory
            #expect(
                performing: { try copy.apply(bad) },
                throws: { error in
                    (error as? ReciprocityError)?.code == .invalidLogEntry && "\(error)".contains("entry 5: ")
                        && "\(error)".contains(reason)
                })
            #expect(copy == directory, "a refused entry changed the directory")
        }
        // The saved form round-trips, and a saved directory with one key live for two handles is refused.
        let saved = try JSONEncoder().encode(directory)
        #expect(try JSONDecoder().decode(KeyDirectory.self, from: saved) == directory)
        var json = try #require(try JSONSerialization.jsonObject(with: saved) as? [String: Any])
        json["live"] = ["alice": a.base64URL, "bob": a.base64URL]
        #expect(throws: ReciprocityError.self) {
            try JSONDecoder().decode(KeyDirectory.self, from: JSONSerialization.data(withJSONObject: json))
        }
        // A key freed by a rotation can be taken by another handle.
        try directory.apply(entry(.join, "carol", b))
        #expect(directory.live["carol"] == b.base64URL)
    }
}
