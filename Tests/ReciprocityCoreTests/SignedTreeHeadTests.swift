import Foundation
import Testing

@testable import ReciprocityCore

@Suite struct SignedTreeHeadTests {
    /// RFC 8032 section 7.1, test 1 (empty message).
    @Test func ed25519MatchesRFC8032() throws {
        let key = try Ed25519.Key(privateKey: Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        #expect(Hex.encode(try key.rawPublicKey()) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = try Ed25519.sign([], with: key)
        #expect(Hex.encode(signature)
            == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        #expect(Ed25519.verify(signature, of: [], with: key))
        #expect(!Ed25519.verify(signature, of: [0], with: key))
    }

    @Test func aSignedHeadVerifiesRoundTripsAsOneLineAndRefusesEveryChange() throws {
        let logKey = try LogSigningKey()
        let leaves = (0..<5).map { MerkleTree.leafHash([UInt8($0)]) }
        let head = try logKey.sign(
            program: ProgramID("acme"), size: 5, root: MerkleTree.root(leafHashes: leaves[...]), timestamp: 1_790_000_000_000)
        #expect(head.verify(with: logKey.publicKey))
        let parsed = try SignedTreeHead(text: head.text)
        #expect(parsed == head && parsed.verify(with: logKey.publicKey))
        #expect(!head.text.contains(" \n") && head.text.split(separator: " ").count == 6)
        // Another key, another size, root, time or program: refused.
        #expect(!head.verify(with: try LogSigningKey().publicKey))
        let changed = [
            SignedTreeHead(program: head.program, size: 6, root: head.root, timestamp: head.timestamp, signature: head.signature),
            SignedTreeHead(program: head.program, size: 5, root: MerkleTree.emptyRoot, timestamp: head.timestamp,
                           signature: head.signature),
            SignedTreeHead(program: head.program, size: 5, root: head.root, timestamp: head.timestamp + 1,
                           signature: head.signature),
            SignedTreeHead(program: try ProgramID("other"), size: 5, root: head.root, timestamp: head.timestamp,
                           signature: head.signature),
        ]
        for head in changed { #expect(!head.verify(with: logKey.publicKey)) }
        #expect(throws: ReciprocityError.self) { try SignedTreeHead(text: "reciprocity-sth/v1 acme 5") }
        #expect(!"\(logKey)".contains(Base64URL.encode(logKey.rawRepresentation)))
    }
}
