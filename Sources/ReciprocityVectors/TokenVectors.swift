import Foundation
import ReciprocityCore

// The token derivation vectors (`reciprocity_token_v1_test.json`, Specs/protocol.md section 6):
// the test type, how this implementation checks it, and how the generator makes it.

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

extension VectorGenerator {
    private static let tokenNotes: [String: String] = [
        "Mentorship": "Relation mentorship: role 1 is the mentor, role 2 the mentee.",
        "Peer": "Relation peer: role 1 is the party whose public key is smaller as a byte string.",
        "MentorView": "Derived by the mentor; the test after or before it derives the same token as the mentee.",
        "MenteeView": "Derived by the mentee; the test after or before it derives the same token as the mentor.",
        "PeerView": "Derived by one peer; the adjacent test derives the same token from the other peer's side.",
        "KeyOrderDiffersFromHandleOrder":
            "Peers whose public-key order is the reverse of their handle order: ordering must use the keys.",
        "ReversedRoles": "The same two members as another test with mentor and mentee swapped: a different token.",
        "MinLengthProgram": "Program name of the minimum length, 3 characters.",
        "MaxLengthProgram": "Program name of the maximum length, 64 characters.",
        "MinLengthHandle": "Handles of the minimum length, 3 characters.",
        "MaxLengthHandle": "Handles of the maximum length, 64 characters.",
        "Punctuation": "Names using '.', '_' and '-' after the first character.",
        "MinEpoch": "Epoch 0.",
        "MaxEpoch": "Epoch 4294967295, the largest 32-bit value.",
        "LowOrderPublic":
            "The other public key is a canonical point of small order; X25519 would output all zeros. Error lowOrderPublicKey.",
        "NonCanonicalPublic":
            "The other public key has bit 255 set or encodes u >= 2^255-19. Error nonCanonicalPublicKey.",
        "InvalidKeyLength": "A key that is not 32 bytes. Error invalidLength.",
        "InvalidHandle": "A handle that breaks [a-z0-9][a-z0-9._-]{2,63}. Error invalidHandle.",
        "InvalidProgram": "A program name that breaks [a-z0-9][a-z0-9._-]{2,63}. Error invalidProgram.",
        "InvalidRole": "An unknown relation, or a role that does not belong to the relation. Error invalidRole.",
        "SelfMark": "Both parties have the same handle or the same public key. Error selfMark.",
        "InvalidEpoch": "An epoch outside 0 to 4294967295 (2^32 - 1). Error invalidEpoch.",
    ]

    private struct Pair {
        var program: String
        var relation: Relation
        var epoch: UInt32
        /// For mentorship: first is the mentor.
        var first: String
        var second: String
        var flags: [String]
        var comment: String
    }

    private static let max64 = String(repeating: "m", count: 60) + "-max"
    private static let pairs: [Pair] = {
        let long1 = String(repeating: "a", count: 63) + "1"
        let long2 = String(repeating: "a", count: 63) + "2"
        var pairs: [Pair] = []
        for relation in Relation.allCases {
            let tag = relation == .mentorship ? "Mentorship" : "Peer"
            pairs += [
                Pair(
                    program: "acme-mentoring", relation: relation, epoch: 0, first: "alice", second: "bob",
                    flags: [tag, "MinEpoch"], comment: "a typical pair"),
                Pair(
                    program: "acme-mentoring", relation: relation, epoch: 1, first: "alice", second: "bob",
                    flags: [tag], comment: "the same pair in the next epoch: a different token"),
                Pair(
                    program: "acme-mentoring", relation: relation, epoch: 4_294_967_295, first: "alice",
                    second: "bob", flags: [tag, "MaxEpoch"], comment: "the largest epoch"),
                Pair(
                    program: "abc", relation: relation, epoch: 3, first: "carol", second: "dave",
                    flags: [tag, "MinLengthProgram"], comment: "shortest program name"),
                Pair(
                    program: max64, relation: relation, epoch: 3, first: "carol", second: "dave",
                    flags: [tag, "MaxLengthProgram"], comment: "longest program name"),
                Pair(
                    program: "rust-guild", relation: relation, epoch: 12, first: "e01", second: "f02",
                    flags: [tag, "MinLengthHandle"], comment: "shortest handles"),
                Pair(
                    program: "rust-guild", relation: relation, epoch: 12, first: long1, second: long2,
                    flags: [tag, "MaxLengthHandle"], comment: "longest handles"),
                Pair(
                    program: "pydata.berlin_2026", relation: relation, epoch: 2, first: "j.doe-1", second: "r_roe.2",
                    flags: [tag, "Punctuation"], comment: "punctuation in names"),
                Pair(
                    program: "0day-club", relation: relation, epoch: 99, first: "123", second: "456",
                    flags: [tag], comment: "names starting with digits"),
                Pair(
                    program: "acme-mentoring", relation: relation, epoch: 0, first: "grace", second: "heidi",
                    flags: [tag, "MinEpoch"], comment: "another pair in the same program and epoch"),
            ]
        }
        pairs += [
            Pair(
                program: "acme-mentoring", relation: .mentorship, epoch: 0, first: "bob", second: "alice",
                flags: ["Mentorship", "ReversedRoles", "MinEpoch"], comment: "bob mentors alice, not alice bob"),
            Pair(
                program: "rust-guild", relation: .mentorship, epoch: 12, first: "f02", second: "e01",
                flags: ["Mentorship", "ReversedRoles", "MinLengthHandle"], comment: "roles reversed, short handles"),
        ]
        return pairs
    }()

    static func tokenFile() throws -> VectorFile<TokenVector> {
        var valid: [TokenVector] = []
        for pair in pairs {
            for viewer in [pair.first, pair.second] {
                let other = viewer == pair.first ? pair.second : pair.first
                var flags = pair.flags
                let role: Role
                switch pair.relation {
                case .mentorship:
                    role = viewer == pair.first ? .mentor : .mentee
                    flags.insert(role == .mentor ? "MentorView" : "MenteeView", at: 1)
                case .peer:
                    role = .peer
                    flags.insert("PeerView", at: 1)
                }
                var test = TokenVector(
                    comment: "\(pair.comment); \(viewer)'s side", flags: flags, program: pair.program,
                    relation: pair.relation.rawValue, epoch: Int64(pair.epoch), selfHandle: viewer,
                    selfRole: role.rawValue, selfPrivateKey: Hex.encode(try privateKey(viewer)), otherHandle: other,
                    otherPublicKey: Hex.encode(try publicKey(other).bytes),
                    result: "valid")
                test = try test.compute()
                if pair.relation == .peer, (test.selfPosition == 1) != (viewer < other) {
                    test.flags.append("KeyOrderDiffersFromHandleOrder")
                }
                valid.append(test)
            }
        }
        let groups = [
            VectorGroup(
                type: "ReciprocityTokenTest", comment: "valid derivations, each pair seen from both sides",
                tests: valid),
            VectorGroup(type: "ReciprocityTokenTest", comment: "invalid public keys", tests: try invalidKeyTests()),
            VectorGroup(
                type: "ReciprocityTokenTest", comment: "invalid names, roles and self-marks",
                tests: try invalidInputTests()),
            VectorGroup(
                type: "ReciprocityTokenTest", comment: "invalid epochs, and handles ending in a line break",
                tests: try invalidEpochAndLineEndTests()),
        ]
        return VectorFile(
            algorithm: TokenVector.algorithm, schema: "reciprocity_token_v1_test_schema.json",
            header: [
                "Reciprocity v1 interest tokens and confirmation tags (Specs/protocol.md).",
                "Binary values are lowercase hex; tokenBase64url is the wire form of token.",
                "Each invalid test has exactly one defect; 'error' names the error code to report.",
            ],
            notes: tokenNotes, groups: groups)
    }

    /// A valid base test (alice, mentee, marks bob as mentor) with one field changed by `change`.
    private static func invalid(
        _ comment: String, _ flag: String, _ error: ReciprocityError.Code, _ change: (inout TokenVector) throws -> Void
    ) throws -> TokenVector {
        var test = TokenVector(
            comment: comment, flags: [flag], program: "acme-mentoring", relation: "mentorship", epoch: 0,
            selfHandle: "alice", selfRole: "mentee", selfPrivateKey: Hex.encode(try privateKey("alice")),
            otherHandle: "bob",
            otherPublicKey: Hex.encode(try publicKey("bob").bytes),
            result: "invalid", error: error.rawValue)
        try change(&test)
        // The generator checks its own claim: the test must fail with exactly this error.
        do {
            _ = try test.compute()
            preconditionFailure("vector '\(comment)' was expected to fail with \(error)")
        } catch let thrown as ReciprocityError {
            precondition(thrown.code == error, "vector '\(comment)': expected \(error), got \(thrown.code)")
        }
        return test
    }

    private static func invalidKeyTests() throws -> [TokenVector] {
        let p = "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
        let lowOrder: [(String, String)] = [
            ("0000000000000000000000000000000000000000000000000000000000000000", "u = 0 (order 2)"),
            ("0100000000000000000000000000000000000000000000000000000000000000", "u = 1 (order 4)"),
            ("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "a point of order 8"),
            ("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", "the other point of order 8"),
            ("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "u = p - 1 (on the twist)"),
        ]
        var tests: [TokenVector] = []
        for (hex, what) in lowOrder {
            tests.append(
                try invalid("low-order public key: \(what)", "LowOrderPublic", .lowOrderPublicKey) {
                    $0.otherPublicKey = hex
                })
        }
        var nonCanonical: [(String, String)] = [
            (p, "u = p, a second encoding of 0"),
            ("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "u = p + 1, a second encoding of 1"),
            ("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "u = 2^255 - 1"),
        ]
        for (hex, what) in lowOrder {
            var bytes = try Hex.decode(hex)
            bytes[31] |= 0x80
            nonCanonical.append((Hex.encode(bytes), "bit 255 set on \(what)"))
        }
        var bob = try publicKey("bob").bytes
        bob[31] |= 0x80
        nonCanonical.append((Hex.encode(bob), "bit 255 set on bob's valid key"))
        for (hex, what) in nonCanonical {
            tests.append(
                try invalid("non-canonical public key: \(what)", "NonCanonicalPublic", .nonCanonicalPublicKey) {
                    $0.otherPublicKey = hex
                })
        }
        for count in [0, 31, 33, 64] {
            tests.append(
                try invalid("other public key of \(count) bytes", "InvalidKeyLength", .invalidLength) {
                    $0.otherPublicKey = String($0.otherPublicKey.prefix(62)).padding(
                        toLength: count * 2, withPad: "ab", startingAt: 0)
                })
        }
        for count in [0, 31, 33] {
            tests.append(
                try invalid("own private key of \(count) bytes", "InvalidKeyLength", .invalidLength) {
                    $0.selfPrivateKey = String($0.selfPrivateKey.prefix(62)).padding(
                        toLength: count * 2, withPad: "cd", startingAt: 0)
                })
        }
        return tests
    }

    private static func invalidInputTests() throws -> [TokenVector] {
        var tests: [TokenVector] = []
        let badNames: [(String, String)] = [
            ("", "empty"), ("ab", "2 characters, one too short"), (String(repeating: "b", count: 65), "65 characters"),
            ("Alice", "an upper-case letter"), (".alice", "starts with '.'"), ("-alice", "starts with '-'"),
            ("_alice", "starts with '_'"), ("al ice", "a space"), ("al\u{00E9}ce", "a non-ASCII letter"),
            ("alice\u{0000}", "a NUL byte"), ("al+ice", "a '+' sign"), ("alice ", "trailing space"),
        ]
        for (name, what) in badNames {
            tests.append(try invalid("own handle: \(what)", "InvalidHandle", .invalidHandle) { $0.selfHandle = name })
        }
        tests.append(
            try invalid("other handle: an upper-case letter", "InvalidHandle", .invalidHandle) {
                $0.otherHandle = "Bob"
            })
        tests.append(
            try invalid("other handle: 65 characters", "InvalidHandle", .invalidHandle) {
                $0.otherHandle = String(repeating: "b", count: 65)
            })
        for (name, what) in badNames.prefix(8) {
            tests.append(
                try invalid("program: \(what)", "InvalidProgram", .invalidProgram) {
                    $0.program = name.isEmpty ? name : name.replacingOccurrences(of: "alice", with: "acme")
                })
        }
        tests.append(
            try invalid("relation 'friendship' does not exist", "InvalidRole", .invalidRole) {
                $0.relation = "friendship"
            })
        tests.append(try invalid("role 'peer' in a mentorship", "InvalidRole", .invalidRole) { $0.selfRole = "peer" })
        tests.append(
            try invalid("role 'mentor' in a peer relation", "InvalidRole", .invalidRole) {
                $0.relation = "peer"
                $0.selfRole = "mentor"
            })
        tests.append(
            try invalid("role 'Mentee' is case-sensitive", "InvalidRole", .invalidRole) {
                $0.selfRole = "Mentee"
            })
        tests.append(
            try invalid("self-mark: same handle, other key", "SelfMark", .selfMark) {
                $0.otherHandle = "alice"
            })
        tests.append(
            try invalid("self-mark: same key, other handle", "SelfMark", .selfMark) {
                $0.otherPublicKey = Hex.encode(try publicKey("alice").bytes)
            })
        tests.append(
            try invalid("self-mark as peers: same key", "SelfMark", .selfMark) {
                $0.relation = "peer"
                $0.selfRole = "peer"
                $0.otherPublicKey = Hex.encode(try publicKey("alice").bytes)
            })
        return tests
    }

    /// Appended after the first release of the file, so the earlier tests keep their `tcId`s.
    private static func invalidEpochAndLineEndTests() throws -> [TokenVector] {
        var tests: [TokenVector] = []
        for (epoch, what) in [(Int64(-1), "-1"), (4_294_967_296, "4294967296 (2^32)"), (Int64.max, "2^63 - 1")] {
            tests.append(try invalid("epoch \(what)", "InvalidEpoch", .invalidEpoch) { $0.epoch = epoch })
        }
        for (ending, what) in [("\n", "a line feed"), ("\r", "a carriage return"), ("\r\n", "CR LF")] {
            tests.append(
                try invalid("own handle: a trailing \(what)", "InvalidHandle", .invalidHandle) {
                    $0.selfHandle = "alice" + ending
                })
            tests.append(
                try invalid("other handle: a trailing \(what)", "InvalidHandle", .invalidHandle) {
                    $0.otherHandle = "bob" + ending
                })
        }
        tests.append(
            try invalid("program: a trailing line feed", "InvalidProgram", .invalidProgram) {
                $0.program = "acme-mentoring\n"
            })
        return tests
    }
}
