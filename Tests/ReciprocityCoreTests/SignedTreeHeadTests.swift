import Foundation
import Testing

@testable import ReciprocityCore

@Suite struct SignedTreeHeadTests {
    /// RFC 8032 section 7.1, test 1 (empty message).
    @Test func ed25519MatchesRFC8032() throws {
        let key = try Ed25519.Key(
            privateKey: Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        #expect(
            Hex.encode(try key.rawPublicKey()) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = try Ed25519.sign([], with: key)
        #expect(
            Hex.encode(signature)
                == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
        #expect(Ed25519.verify(signature, of: [], with: key))
        #expect(!Ed25519.verify(signature, of: [0], with: key))
    }

    @Test func aSignedHeadVerifiesRoundTripsAsOneLineAndRefusesEveryChange() throws {
        let logKey = try LogSigningKey()
        let leaves = (0..<5).map { MerkleTree.leafHash([UInt8($0)]) }
        let head = try logKey.sign(
            program: ProgramID("acme"), size: 5, root: MerkleTree.root(leafHashes: leaves[...]),
            timestamp: 1_790_000_000_000)
        #expect(head.verify(with: logKey.publicKey))
        let parsed = try SignedTreeHead(text: head.text)
        #expect(parsed == head && parsed.verify(with: logKey.publicKey))
        #expect(!head.text.contains(" \n") && head.text.split(separator: " ").count == 6)
        // Another key, another size, root, time or program: refused.
        #expect(!head.verify(with: try LogSigningKey().publicKey))
        let changed = try [
            SignedTreeHead(
                program: head.program, size: 6, root: head.root, timestamp: head.timestamp, signature: head.signature),
            SignedTreeHead(
                program: head.program, size: 5, root: MerkleTree.emptyRoot, timestamp: head.timestamp,
                signature: head.signature),
            SignedTreeHead(
                program: head.program, size: 5, root: head.root, timestamp: head.timestamp + 1,
                signature: head.signature),
            SignedTreeHead(
                program: try ProgramID("other"), size: 5, root: head.root, timestamp: head.timestamp,
                signature: head.signature),
        ]
        for head in changed { #expect(!head.verify(with: logKey.publicKey)) }
        #expect(throws: ReciprocityError.self) { try SignedTreeHead(text: "reciprocity-sth/v1 acme 5") }
        #expect(!"\(logKey)".contains(Base64URL.encode(logKey.rawRepresentation)))
    }

    private static func sampleHead() throws -> SignedTreeHead {
        try LogSigningKey(rawRepresentation: [UInt8](repeating: 7, count: 32)).sign(
            program: ProgramID("acme"), size: 5, root: MerkleTree.emptyRoot, timestamp: 1_795_000_000_000)
    }

    /// One spelling per head: every variant a lenient parser would read as the same head is refused.
    @Test func theLineGrammarIsStrict() throws {
        let head = try Self.sampleHead()
        let line = head.text
        var fields = line.split(separator: " ").map(String.init)
        func with(_ index: Int, _ value: String) -> String {
            var copy = fields
            copy[index] = value
            return copy.joined(separator: " ")
        }
        for bad in [
            with(2, "+5"), with(2, "05"), with(2, "-5"), with(2, " 5"), with(2, "５"), with(4, "0" + fields[4]),
            with(4, "+" + fields[4]), line + " ", line + "\n", line + "\r\n", " " + line,
            line.replacingOccurrences(of: " ", with: "  "),
            line.replacingOccurrences(of: " ", with: "\t"), with(2, "9223372036854775808"),
            with(2, "18446744073709551616"),
            with(4, "18446744073709551616"), with(3, fields[3] + "="), with(0, "reciprocity-sth/v2"), "",
        ] {
            let error = #expect(throws: ReciprocityError.self, "\(bad.debugDescription)") {
                try SignedTreeHead(text: bad)
            }
            #expect(error?.code == .invalidEncoding, "\(bad.debugDescription)")
        }
        let programError = #expect(throws: ReciprocityError.self) { try SignedTreeHead(text: with(1, "Acme")) }
        #expect(programError?.code == .invalidProgram)
        // The bounds themselves parse, and "0" alone is zero.
        fields[2] = "9223372036854775807"
        #expect(try SignedTreeHead(text: fields.joined(separator: " ")).size == SignedTreeHead.maxSize)
        fields[2] = "0"
        fields[4] = "18446744073709551615"
        let parsed = try SignedTreeHead(text: fields.joined(separator: " "))
        #expect(parsed.size == 0 && parsed.timestamp == UInt64.max)
    }

    @Test func aSizeAboveTheMaximumIsAnErrorWhereverTheHeadComesFrom() throws {
        let head = try Self.sampleHead()
        let error = #expect(throws: ReciprocityError.self) {
            try SignedTreeHead(
                program: head.program, size: SignedTreeHead.maxSize + 1, root: head.root, timestamp: head.timestamp,
                signature: head.signature)
        }
        #expect(error?.code == .invalidEncoding)
        #expect(throws: ReciprocityError.self) {
            try SignedTreeHead(program: head.program, size: 1, root: [1], timestamp: 1, signature: head.signature)
        }
        #expect(throws: ReciprocityError.self) {
            try LogSigningKey().sign(program: head.program, size: UInt64.max, root: head.root, timestamp: 1)
        }
    }

    @Test(
        arguments: [
            (0.0, nil), (3600.0, nil), (86_400.0, nil), (86_400.001, ReciprocityError.Code.staleHead),
            (30 * 86_400.0, .staleHead), (-60.0, nil), (-300.0, nil), (-300.001, .futureHead),
            (-365 * 86_400.0, .futureHead),
        ] as [(TimeInterval, ReciprocityError.Code?)])
    func freshnessHasAnAgeAndAFutureBound(_ offset: TimeInterval, _ expected: ReciprocityError.Code?) throws {
        let head = try Self.sampleHead()
        let now = Date(timeIntervalSince1970: Double(head.timestamp) / 1000 + offset)
        if let expected {
            let error = #expect(throws: ReciprocityError.self) { try head.checkTime(now: now) }
            #expect(error?.code == expected)
        } else {
            try head.checkTime(now: now)
        }
    }

    @Test func freshnessBoundsAreTheCallersToChoose() throws {
        let head = try Self.sampleHead()
        let now = Date(timeIntervalSince1970: Double(head.timestamp) / 1000)
        #expect(throws: ReciprocityError.self) { try head.checkTime(now: now.addingTimeInterval(61), maxAge: 60) }
        #expect(throws: ReciprocityError.self) {
            try head.checkTime(now: now.addingTimeInterval(-11), maxFutureSkew: 10)
        }
        let far = try LogSigningKey().sign(program: head.program, size: 0, root: head.root, timestamp: UInt64.max)
        #expect(throws: ReciprocityError.self) { try far.checkTime(now: now) }
        #expect(throws: ReciprocityError.self) { try far.checkTime(now: .distantFuture) }
    }
}
