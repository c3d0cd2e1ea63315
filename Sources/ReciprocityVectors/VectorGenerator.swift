public import Foundation
import ReciprocityCore

/// Produces every file in `Specs/vectors/` deterministically: private keys are SHA-256 of a fixed label, so
/// running the generator again reproduces the files byte for byte.
public enum VectorGenerator {
    static let version = "1"

    /// File name and contents of each vector file.
    public static func files() throws -> [(name: String, contents: Data)] {
        [
            ("reciprocity_token_v1_test.json", try VectorCoding.encode(tokenFile())),
            ("reciprocity_note_v1_test.json", try VectorCoding.encode(noteFile())),
            ("merkle_rfc9162_test.json", try VectorCoding.encode(merkleFile())),
            ("reciprocity_key_log_v1_test.json", try VectorCoding.encode(keyLogFile())),
            ("x25519_rfc7748_test.json", try VectorCoding.encode(x25519File())),
            ("hkdf_sha256_rfc5869_test.json", try VectorCoding.encode(hkdfFile())),
            ("base64url_test.json", try VectorCoding.encode(base64URLFile())),
            ("reciprocity_backup_v1_test.json", try VectorCoding.encode(backupFile())),
        ]
    }

    // MARK: - Token derivation

    /// The deterministic private key for a name used in the vectors.
    static func privateKey(_ name: String) throws -> [UInt8] {
        try SecureBytes.sha256(Array("reciprocity test vector private key: \(name)".utf8))
    }

    /// The public key of `privateKey(name)`.
    static func publicKey(_ name: String) throws -> PublicKey {
        try PrivateKey(rawRepresentation: privateKey(name)).publicKey
    }

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
                Pair(program: "acme-mentoring", relation: relation, epoch: 0, first: "alice", second: "bob",
                     flags: [tag, "MinEpoch"], comment: "a typical pair"),
                Pair(program: "acme-mentoring", relation: relation, epoch: 1, first: "alice", second: "bob",
                     flags: [tag], comment: "the same pair in the next epoch: a different token"),
                Pair(program: "acme-mentoring", relation: relation, epoch: 4_294_967_295, first: "alice",
                     second: "bob", flags: [tag, "MaxEpoch"], comment: "the largest epoch"),
                Pair(program: "abc", relation: relation, epoch: 3, first: "carol", second: "dave",
                     flags: [tag, "MinLengthProgram"], comment: "shortest program name"),
                Pair(program: max64, relation: relation, epoch: 3, first: "carol", second: "dave",
                     flags: [tag, "MaxLengthProgram"], comment: "longest program name"),
                Pair(program: "rust-guild", relation: relation, epoch: 12, first: "e01", second: "f02",
                     flags: [tag, "MinLengthHandle"], comment: "shortest handles"),
                Pair(program: "rust-guild", relation: relation, epoch: 12, first: long1, second: long2,
                     flags: [tag, "MaxLengthHandle"], comment: "longest handles"),
                Pair(program: "pydata.berlin_2026", relation: relation, epoch: 2, first: "j.doe-1", second: "r_roe.2",
                     flags: [tag, "Punctuation"], comment: "punctuation in names"),
                Pair(program: "0day-club", relation: relation, epoch: 99, first: "123", second: "456",
                     flags: [tag], comment: "names starting with digits"),
                Pair(program: "acme-mentoring", relation: relation, epoch: 0, first: "grace", second: "heidi",
                     flags: [tag, "MinEpoch"], comment: "another pair in the same program and epoch"),
            ]
        }
        pairs += [
            Pair(program: "acme-mentoring", relation: .mentorship, epoch: 0, first: "bob", second: "alice",
                 flags: ["Mentorship", "ReversedRoles", "MinEpoch"], comment: "bob mentors alice, not alice bob"),
            Pair(program: "rust-guild", relation: .mentorship, epoch: 12, first: "f02", second: "e01",
                 flags: ["Mentorship", "ReversedRoles", "MinLengthHandle"], comment: "roles reversed, short handles"),
        ]
        return pairs
    }()

    private static func tokenFile() throws -> VectorFile<TokenVector> {
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
            VectorGroup(type: "ReciprocityTokenTest", comment: "valid derivations, each pair seen from both sides",
                        tests: valid),
            VectorGroup(type: "ReciprocityTokenTest", comment: "invalid public keys", tests: try invalidKeyTests()),
            VectorGroup(type: "ReciprocityTokenTest", comment: "invalid names, roles and self-marks",
                        tests: try invalidInputTests()),
            VectorGroup(type: "ReciprocityTokenTest", comment: "invalid epochs, and handles ending in a line break",
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
            tests.append(try invalid("low-order public key: \(what)", "LowOrderPublic", .lowOrderPublicKey) {
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
            tests.append(try invalid("non-canonical public key: \(what)", "NonCanonicalPublic", .nonCanonicalPublicKey) {
                $0.otherPublicKey = hex
            })
        }
        for count in [0, 31, 33, 64] {
            tests.append(try invalid("other public key of \(count) bytes", "InvalidKeyLength", .invalidLength) {
                $0.otherPublicKey = String($0.otherPublicKey.prefix(62)).padding(toLength: count * 2, withPad: "ab", startingAt: 0)
            })
        }
        for count in [0, 31, 33] {
            tests.append(try invalid("own private key of \(count) bytes", "InvalidKeyLength", .invalidLength) {
                $0.selfPrivateKey = String($0.selfPrivateKey.prefix(62)).padding(toLength: count * 2, withPad: "cd", startingAt: 0)
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
        tests.append(try invalid("other handle: an upper-case letter", "InvalidHandle", .invalidHandle) {
            $0.otherHandle = "Bob"
        })
        tests.append(try invalid("other handle: 65 characters", "InvalidHandle", .invalidHandle) {
            $0.otherHandle = String(repeating: "b", count: 65)
        })
        for (name, what) in badNames.prefix(8) {
            tests.append(try invalid("program: \(what)", "InvalidProgram", .invalidProgram) {
                $0.program = name.isEmpty ? name : name.replacingOccurrences(of: "alice", with: "acme")
            })
        }
        tests.append(try invalid("relation 'friendship' does not exist", "InvalidRole", .invalidRole) {
            $0.relation = "friendship"
        })
        tests.append(try invalid("role 'peer' in a mentorship", "InvalidRole", .invalidRole) { $0.selfRole = "peer" })
        tests.append(try invalid("role 'mentor' in a peer relation", "InvalidRole", .invalidRole) {
            $0.relation = "peer"
            $0.selfRole = "mentor"
        })
        tests.append(try invalid("role 'Mentee' is case-sensitive", "InvalidRole", .invalidRole) {
            $0.selfRole = "Mentee"
        })
        tests.append(try invalid("self-mark: same handle, other key", "SelfMark", .selfMark) {
            $0.otherHandle = "alice"
        })
        tests.append(try invalid("self-mark: same key, other handle", "SelfMark", .selfMark) {
            $0.otherPublicKey = Hex.encode(try publicKey("alice").bytes)
        })
        tests.append(try invalid("self-mark as peers: same key", "SelfMark", .selfMark) {
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
            tests.append(try invalid("own handle: a trailing \(what)", "InvalidHandle", .invalidHandle) {
                $0.selfHandle = "alice" + ending
            })
            tests.append(try invalid("other handle: a trailing \(what)", "InvalidHandle", .invalidHandle) {
                $0.otherHandle = "bob" + ending
            })
        }
        tests.append(try invalid("program: a trailing line feed", "InvalidProgram", .invalidProgram) {
            $0.program = "acme-mentoring\n"
        })
        return tests
    }

    // MARK: - Sealed notes

    /// The reader's side of a pair: `reader` opens what `writer` sealed.
    private struct NotePair {
        var program: String
        var relation: Relation
        var epoch: UInt32
        var reader: String
        var readerRole: Role
        var writer: String
    }

    private static func noteBase(_ pair: NotePair, comment: String, flags: [String], sealed: [UInt8], result: String,
                                 error: ReciprocityError.Code? = nil) throws -> NoteVector {
        NoteVector(
            comment: comment, flags: flags, program: pair.program, relation: pair.relation.rawValue,
            epoch: Int64(pair.epoch),
            selfHandle: pair.reader, selfRole: pair.readerRole.rawValue,
            selfPrivateKey: Hex.encode(try privateKey(pair.reader)), otherHandle: pair.writer,
            otherPublicKey: Hex.encode(try publicKey(pair.writer).bytes),
            sealed: Hex.encode(sealed), result: result, error: error?.rawValue)
    }

    /// The writer's mark on the reader, for sealing.
    private static func writerMark(_ pair: NotePair) throws -> PairwiseMark {
        try KeySchedule.derive(
            context: InterestContext(program: ProgramID(pair.program), relation: pair.relation, epoch: pair.epoch),
            me: PrivateKey(rawRepresentation: privateKey(pair.writer)), handle: Handle(pair.writer),
            role: pair.readerRole.counterpart,
            other: Party(handle: Handle(pair.reader), publicKey: publicKey(pair.reader)))
    }

    private static func nonce(_ label: String) throws -> [UInt8] {
        Array(try SecureBytes.sha256(Array("reciprocity test vector nonce: \(label)".utf8)).prefix(ChaChaPoly.nonceLength))
    }

    private static func noteFile() throws -> VectorFile<NoteVector> {
        let pairs = [
            NotePair(program: "acme-mentoring", relation: .mentorship, epoch: 0, reader: "bob", readerRole: .mentor,
                     writer: "alice"),
            NotePair(program: "acme-mentoring", relation: .mentorship, epoch: 0, reader: "alice", readerRole: .mentee,
                     writer: "bob"),
            NotePair(program: "acme-mentoring", relation: .peer, epoch: 4_294_967_295, reader: "carol",
                     readerRole: .peer, writer: "dave"),
            NotePair(program: "pydata.berlin_2026", relation: .peer, epoch: 2, reader: "r_roe.2", readerRole: .peer,
                     writer: "j.doe-1"),
        ]
        let notes: [(String, String)] = [
            ("", "an empty note (a mark without a note looks the same)"),
            ("I admire how your team rolled out VDI; could I buy you a coffee and ask how you learned it?",
             "a typical note"),
            ("Grüße 👋 — 你好\nline two", "non-ASCII text and a newline"),
            (String(repeating: "x", count: SealedNote.maxNoteBytes), "the longest note, 510 bytes"),
        ]
        var valid: [NoteVector] = []
        for (pairIndex, pair) in pairs.enumerated() {
            for (noteIndex, (text, what)) in notes.enumerated() where (pairIndex + noteIndex) % 2 == 0 || pairIndex == 0 {
                let mark = try writerMark(pair)
                let sealed = try SealedNote.seal(
                    text, key: mark.noteKey(mark.ownPosition), nonce: nonce("\(pairIndex)-\(noteIndex)"),
                    token: mark.token.bytes)
                var test = try noteBase(
                    pair, comment: "\(what); \(pair.writer) to \(pair.reader)",
                    flags: [pair.relation == .peer ? "Peer" : "Mentorship"], sealed: sealed.bytes, result: "valid")
                test = try test.compute()
                if text.utf8.count == SealedNote.maxNoteBytes { test.flags.append("MaxLengthNote") }
                valid.append(test)
            }
        }

        let pair = pairs[0]
        let mark = try writerMark(pair)
        let key = try mark.noteKey(mark.ownPosition)
        let good = try SealedNote.seal("Coffee?", key: key, nonce: nonce("invalid"), token: mark.token.bytes).bytes
        func flipped(_ index: Int) -> [UInt8] {
            var bytes = good
            bytes[index] ^= 0x01
            return bytes
        }
        func sealRaw(_ plaintext: [UInt8], key: [UInt8], token: [UInt8]) throws -> [UInt8] {
            let n = try nonce("raw")
            return n + (try ChaChaPoly.seal(key: key, nonce: n, plaintext: plaintext, associatedData: token))
        }
        var badPadding = try SealedNote.pad("Coffee?")
        badPadding[400] = 1
        var longLength = try SealedNote.pad("")
        longLength[0] = 0x01
        longLength[1] = 0xff
        var badUTF8 = try SealedNote.pad("ab")
        badUTF8[3] = 0xff
        let auth = ReciprocityError.Code.noteAuthenticationFailed
        let invalid: [NoteVector] = [
            try noteBase(pair, comment: "a ciphertext byte flipped", flags: ["TamperedCiphertext"], sealed: flipped(100),
                         result: "invalid", error: auth),
            try noteBase(pair, comment: "a tag byte flipped", flags: ["TamperedTag"], sealed: flipped(good.count - 1),
                         result: "invalid", error: auth),
            try noteBase(pair, comment: "a nonce byte flipped", flags: ["TamperedNonce"], sealed: flipped(0),
                         result: "invalid", error: auth),
            try noteBase(pair, comment: "sealed with another token as associated data", flags: ["WrongAssociatedData"],
                         sealed: try SealedNote.seal("Coffee?", key: key, nonce: nonce("aad"),
                                                     token: try SecureBytes.sha256(mark.token.bytes)).bytes,
                         result: "invalid", error: auth),
            try noteBase(pair, comment: "sealed with the reader's own role key", flags: ["WrongRoleKey"],
                         sealed: try SealedNote.seal("Coffee?", key: mark.noteKey(mark.ownPosition.other),
                                                     nonce: nonce("role"), token: mark.token.bytes).bytes,
                         result: "invalid", error: auth),
            try noteBase(pair, comment: "authentic, but a padding byte is not zero", flags: ["BadPadding"],
                         sealed: try sealRaw(badPadding, key: key, token: mark.token.bytes), result: "invalid",
                         error: .invalidNotePadding),
            try noteBase(pair, comment: "authentic, but the length field says 511", flags: ["BadPadding"],
                         sealed: try sealRaw(longLength, key: key, token: mark.token.bytes), result: "invalid",
                         error: .invalidNotePadding),
            try noteBase(pair, comment: "authentic, but the note is not UTF-8", flags: ["BadPadding"],
                         sealed: try sealRaw(badUTF8, key: key, token: mark.token.bytes), result: "invalid",
                         error: .invalidNotePadding),
            try noteBase(pair, comment: "539 bytes", flags: ["WrongLength"], sealed: Array(good.dropLast()),
                         result: "invalid", error: .invalidLength),
            try noteBase(pair, comment: "541 bytes", flags: ["WrongLength"], sealed: good + [0], result: "invalid",
                         error: .invalidLength),
            try noteBase(pair, comment: "empty", flags: ["WrongLength"], sealed: [], result: "invalid",
                         error: .invalidLength),
        ]
        for test in invalid {
            do {
                _ = try test.compute()
                preconditionFailure("note vector '\(test.comment)' was expected to fail")
            } catch let thrown as ReciprocityError {
                precondition(thrown.code.rawValue == test.error, "note vector '\(test.comment)': got \(thrown.code)")
            }
        }
        return VectorFile(
            algorithm: NoteVector.algorithm, schema: "reciprocity_note_v1_test_schema.json",
            header: [
                "Reciprocity v1 sealed notes (Specs/protocol.md, section 'Sealed notes'): self opens what other sealed.",
                "sealed = nonce (12) || ChaCha20-Poly1305 ciphertext (512) || tag (16), associated data = token.",
                "Binary values are lowercase hex; each invalid test has one defect and names its error.",
            ],
            notes: [
                "Mentorship": "Relation mentorship.",
                "Peer": "Relation peer.",
                "MaxLengthNote": "A note of 510 bytes, the most the padding holds.",
                "TamperedCiphertext": "One ciphertext bit changed. Error noteAuthenticationFailed.",
                "TamperedTag": "One bit of the Poly1305 tag changed. Error noteAuthenticationFailed.",
                "TamperedNonce": "One bit of the nonce changed. Error noteAuthenticationFailed.",
                "WrongAssociatedData": "Sealed for another token. Error noteAuthenticationFailed.",
                "WrongRoleKey": "Sealed with the note key of the reader's role, not the writer's. Error noteAuthenticationFailed.",
                "BadPadding": "Authentic, but the padded plaintext is malformed. Error invalidNotePadding.",
                "WrongLength": "Not 540 bytes. Error invalidLength.",
                "Seal": "The writer (self) seals 'note' with 'nonce' for the other party; 'sealed' is the output.",
                "MultiByteNote": "A note of non-ASCII characters: its limit is 510 bytes of UTF-8, not 510 characters.",
                "NoteTooLong": "A note over 510 bytes of UTF-8 cannot be sealed. Error noteTooLong.",
            ],
            groups: [
                VectorGroup(type: "ReciprocityNoteTest", comment: "valid notes", tests: valid),
                VectorGroup(type: "ReciprocityNoteTest", comment: "invalid notes", tests: invalid),
                VectorGroup(
                    type: NoteVector.sealGroupType, comment: "sealing by the writer, and notes too long to seal",
                    tests: try sealTests(pairs)),
            ])
    }

    /// The writer's side: `self` seals for the other party. Appended after the opening tests.
    private static func sealTests(_ pairs: [NotePair]) throws -> [NoteVector] {
        func test(_ pair: NotePair, _ note: String, _ comment: String, _ flags: [String],
                  error: ReciprocityError.Code? = nil) throws -> NoteVector {
            var test = NoteVector(
                comment: comment, flags: ["Seal"] + flags, program: pair.program, relation: pair.relation.rawValue,
                epoch: Int64(pair.epoch), selfHandle: pair.writer, selfRole: pair.readerRole.counterpart.rawValue,
                selfPrivateKey: Hex.encode(try privateKey(pair.writer)), otherHandle: pair.reader,
                otherPublicKey: Hex.encode(try publicKey(pair.reader).bytes),
                nonce: Hex.encode(try nonce("seal \(comment)")), note: note, result: error == nil ? "valid" : "invalid",
                error: error?.rawValue)
            do {
                let sealed = try test.computeSealed()
                precondition(error == nil, "seal vector '\(comment)' was expected to fail")
                // What the writer seals, the reader opens (the first group's operation) to the same note.
                var reader = NoteVector(
                    comment: comment, flags: flags, program: pair.program, relation: pair.relation.rawValue,
                    epoch: Int64(pair.epoch), selfHandle: pair.reader, selfRole: pair.readerRole.rawValue,
                    selfPrivateKey: Hex.encode(try privateKey(pair.reader)), otherHandle: pair.writer,
                    otherPublicKey: Hex.encode(try publicKey(pair.writer).bytes), sealed: sealed.sealed,
                    result: "valid")
                reader = try reader.compute()
                precondition(reader.note == note && reader.writerNoteKey == sealed.writerNoteKey)
                test = sealed
            } catch let thrown as ReciprocityError {
                precondition(thrown.code == error, "seal vector '\(comment)': got \(thrown.code)")
            }
            return test
        }
        let (mentorship, peer) = (pairs[0], pairs[2])
        let max = SealedNote.maxNoteBytes
        return [
            try test(mentorship, "", "an empty note", ["Mentorship"]),
            try test(mentorship, "Could we talk about your VDI rollout over coffee?", "a typical note", ["Mentorship"]),
            try test(peer, "Grüße 👋 — 你好\nline two", "non-ASCII text and a newline", ["Peer", "MultiByteNote"]),
            try test(mentorship, String(repeating: "x", count: max), "the longest note, 510 bytes",
                     ["Mentorship", "MaxLengthNote"]),
            try test(peer, String(repeating: "\u{00E9}", count: max / 2), "255 two-byte characters, 510 bytes",
                     ["Peer", "MaxLengthNote", "MultiByteNote"]),
            try test(mentorship, String(repeating: "x", count: max + 1), "511 bytes", ["Mentorship", "NoteTooLong"],
                     error: .noteTooLong),
            try test(peer, String(repeating: "x", count: max - 1) + "\u{00E9}",
                     "510 characters but 511 bytes: the limit counts bytes", ["Peer", "MultiByteNote", "NoteTooLong"],
                     error: .noteTooLong),
            try test(mentorship, String(repeating: "\u{20AC}", count: 171), "171 three-byte characters, 513 bytes",
                     ["Mentorship", "MultiByteNote", "NoteTooLong"], error: .noteTooLong),
        ]
    }

    // MARK: - Key log (key transparency)

    private static func keyLogFile() throws -> VectorFile<KeyLogVector> {
        let (alice, bob, bob2) = (try publicKey("alice"), try publicKey("bob"), try publicKey("bob-rotated"))
        typealias Entry = KeyLogVector.Entry
        func entry(_ event: String, _ handle: String, _ key: PublicKey) -> Entry {
            Entry(event: event, handle: handle, publicKey: Hex.encode(key.bytes))
        }
        func valid(_ comment: String, _ flags: [String], program: String = "acme", _ entries: [Entry]) throws
            -> KeyLogVector
        {
            let programID = try ProgramID(program)
            var directory = KeyDirectory(program: programID)
            var leaves: [String] = [], hashes: [String] = []
            for item in entries {
                let logEntry = KeyLogEntry(
                    program: programID, event: KeyLogEvent(rawValue: item.event)!, handle: try Handle(item.handle),
                    publicKey: try PublicKey(rawRepresentation: Hex.decode(item.publicKey)))
                try directory.apply(logEntry)
                leaves.append(Hex.encode(logEntry.leaf))
                hashes.append(Hex.encode(logEntry.leafHash))
            }
            return KeyLogVector(
                comment: comment, flags: flags, kind: "log", program: program, entries: entries, leaves: leaves,
                leafHashes: hashes, root: Hex.encode(directory.root), result: "valid")
        }
        func invalid(_ comment: String, _ flags: [String], _ entries: [Entry], error: String) -> KeyLogVector {
            KeyLogVector(
                comment: comment, flags: flags, kind: "log", program: "acme", entries: entries, result: "invalid",
                error: error)
        }
        let history = [
            entry("join", "alice", alice), entry("join", "bob", bob), entry("rotate", "bob", bob2),
            entry("leave", "alice", alice), entry("join", "alice", alice),
        ]
        let logs = [
            try valid("an empty log", ["Empty"], []),
            try valid("one member joins", ["Join"], [entry("join", "alice", alice)]),
            try valid("joins, a rotation, a leave and a rejoin", ["Join", "Rotate", "Leave"], history),
            try valid(
                "names of the maximum length", ["MaxLengthNames"], program: String(repeating: "p", count: 64),
                [entry("join", String(repeating: "h", count: 64), alice)]),
        ]
        let broken = [
            invalid("a second join while the handle is live", ["TwoLiveKeys"],
                    [entry("join", "bob", bob), entry("join", "bob", bob2)], error: "invalidLogEntry"),
            invalid("one key live under two handles", ["SharedKey"],
                    [entry("join", "alice", alice), entry("join", "bob", alice)], error: "invalidLogEntry"),
            invalid("a leave with a key that is not the live one", ["WrongLeave"],
                    [entry("join", "bob", bob), entry("leave", "bob", bob2)], error: "invalidLogEntry"),
            invalid("a rotation of a handle that is not live", ["RotateNotLive"],
                    [entry("rotate", "bob", bob2)], error: "invalidLogEntry"),
            invalid("a rotation to the same key", ["RotateSameKey"],
                    [entry("join", "bob", bob), entry("rotate", "bob", bob)], error: "invalidLogEntry"),
            invalid("an unknown event", ["UnknownEvent"], [entry("suspend", "bob", bob)], error: "invalidLogEntry"),
            invalid("an invalid handle", ["InvalidHandle"], [entry("join", "Bob", bob)], error: "invalidHandle"),
            invalid("a public key of small order", ["LowOrderKey"],
                    [Entry(event: "join", handle: "bob", publicKey: String(repeating: "00", count: 32))],
                    error: "lowOrderPublicKey"),
        ]
        let logKey = try LogSigningKey(rawRepresentation: privateKey("log signing key"))
        let otherKey = try LogSigningKey(rawRepresentation: privateKey("another log signing key"))
        let logPublic = Hex.encode(logKey.publicKey.bytes)
        let program = try ProgramID("acme")
        let root = try Hex.decode(logs[2].root!)
        let head = try logKey.sign(program: program, size: 5, root: root, timestamp: 1_795_000_000_000)
        let empty = try logKey.sign(program: program, size: 0, root: MerkleTree.emptyRoot, timestamp: 1_795_000_000_000)
        func fields(_ line: String) -> [String] { line.split(separator: " ").map(String.init) }
        func replacing(_ index: Int, with value: String) -> String {
            var parts = fields(head.text)
            parts[index] = value
            return parts.joined(separator: " ")
        }
        func headTest(_ comment: String, _ flags: [String], _ line: String, key: String = logPublic,
                      now: Int64? = nil, error: String? = nil) throws -> KeyLogVector {
            KeyLogVector(
                comment: comment, flags: flags, kind: "treeHead", program: "acme",
                root: error == nil ? Hex.encode(try SignedTreeHead(text: line).root) : nil, logPublicKey: key,
                treeHead: line, now: now, result: error == nil ? "valid" : "invalid", error: error)
        }
        let heads = try [
            headTest("the head of the five-entry log above", ["TreeHead"], head.text),
            headTest("the head of the empty log", ["TreeHead", "Empty"], empty.text),
            headTest("the size changed", ["TreeHead", "Tampered"], replacing(2, with: "6"), error: "invalidSignature"),
            headTest("the root of another log", ["TreeHead", "Tampered"],
                     replacing(3, with: Base64URL.encode(MerkleTree.emptyRoot)), error: "invalidSignature"),
            headTest("the timestamp changed", ["TreeHead", "Tampered"], replacing(4, with: "1795000000001"),
                     error: "invalidSignature"),
            headTest("the program changed", ["TreeHead", "Tampered"], replacing(1, with: "acme2"),
                     error: "invalidSignature"),
            headTest("signed by another key", ["TreeHead", "WrongKey"],
                     try otherKey.sign(program: program, size: 5, root: root, timestamp: 1_795_000_000_000).text,
                     error: "invalidSignature"),
            headTest("a field missing", ["TreeHead", "Malformed"],
                     fields(head.text).dropLast().joined(separator: " "), error: "invalidEncoding"),
            headTest("a truncated signature", ["TreeHead", "Malformed"],
                     replacing(5, with: String(fields(head.text)[5].dropLast(2))), error: "invalidEncoding"),
        ]
        let moreBroken = try moreBrokenLogs(alice: alice, bob: bob, bob2: bob2)
        let (grammar, times) = try strictHeadTests(
            logKey: logKey, otherKey: otherKey, head: head, empty: empty, headTest: headTest)
        return VectorFile(
            algorithm: KeyLogVector.algorithm, schema: "reciprocity_key_log_v1_test_schema.json",
            header: [
                "Reciprocity key-log leaves, replay rules and signed tree heads (Specs/transparency.md).",
                "Keys are X25519 public keys of the vector private keys; the log key is Ed25519 (RFC 8032).",
            ],
            notes: [
                "Empty": "No entries: the root is SHA-256 of the empty string.", "Join": "A join entry (event 1).",
                "Rotate": "A rotation entry (event 2).", "Leave": "A leave entry (event 3).",
                "MaxLengthNames": "Program and handle of 64 characters.",
                "TwoLiveKeys": "A handle joins while live. Error invalidLogEntry.",
                "SharedKey": "A key already live for another handle. Error invalidLogEntry.",
                "WrongLeave": "A leave that names a key other than the live one. Error invalidLogEntry.",
                "RotateNotLive": "A rotation of a handle that is not live. Error invalidLogEntry.",
                "RotateSameKey": "A rotation to the key already live. Error invalidLogEntry.",
                "UnknownEvent": "An event other than join, rotate, leave. Error invalidLogEntry.",
                "InvalidHandle": "A handle outside [a-z0-9][a-z0-9._-]{2,63}. Error invalidHandle.",
                "LowOrderKey": "A public key of small order. Error lowOrderPublicKey.",
                "TreeHead": "A signed tree head in its one-line form, checked with the log key.",
                "Tampered": "One signed field changed. Error invalidSignature.",
                "WrongKey": "Signed by a key other than the log key. Error invalidSignature.",
                "Malformed": "Not a tree-head line. Error invalidEncoding.",
                "LeaveNotLive": "A leave of a handle that is not live. Error invalidLogEntry.",
                "InvalidProgram": "A program name outside [a-z0-9][a-z0-9._-]{2,63}. Error invalidProgram.",
                "InvalidKeyLength": "A public key that is not 32 bytes. Error invalidLength.",
                "NonCanonicalKey": "A public key with bit 255 set or u >= 2^255 - 19. Error nonCanonicalPublicKey.",
                "Grammar": "A correctly signed head whose line breaks the strict grammar (one spelling per head). "
                    + "Error invalidEncoding, or invalidProgram for the program field.",
                "MaxSize": "The largest size a head may state, 2^63 - 1.",
                "MaxTimestamp": "The largest timestamp, 2^64 - 1.",
                "Fresh": "Checked at 'now': at most 24 hours old and at most 5 minutes ahead.",
                "StaleHead": "Checked at 'now': more than 24 hours (86400000 ms) old. Error staleHead.",
                "FutureHead": "Checked at 'now': dated more than 5 minutes (300000 ms) ahead. Error futureHead.",
                "CheckOrder": "Several defects: the error is the first check's (Specs/transparency.md, order of checks).",
            ],
            groups: [
                VectorGroup(type: "KeyLogTest", comment: "valid logs", tests: logs),
                VectorGroup(type: "KeyLogTest", comment: "logs that break the directory rules", tests: broken),
                VectorGroup(type: "TreeHeadTest", comment: "signed tree heads", tests: heads),
                VectorGroup(type: "KeyLogTest", comment: "more logs that break the rules: leaves, shared keys, names and keys",
                            tests: moreBroken),
                VectorGroup(type: "TreeHeadTest", comment: "correctly signed lines that break the strict grammar",
                            tests: grammar),
                VectorGroup(type: "TreeHeadTest", comment: "freshness: heads checked against a clock ('now', milliseconds)",
                            tests: times),
            ])
    }

    /// Logs appended after the first release of the file: every rule's remaining case and every code replay
    /// can report.
    private static func moreBrokenLogs(alice: PublicKey, bob: PublicKey, bob2: PublicKey) throws -> [KeyLogVector] {
        typealias Entry = KeyLogVector.Entry
        func entry(_ event: String, _ handle: String, _ key: PublicKey) -> Entry {
            Entry(event: event, handle: handle, publicKey: Hex.encode(key.bytes))
        }
        func invalid(_ comment: String, _ flags: [String], program: String = "acme", _ entries: [Entry],
                     error: ReciprocityError.Code) -> KeyLogVector {
            let test = KeyLogVector(
                comment: comment, flags: flags, kind: "log", program: program, entries: entries, result: "invalid",
                error: error.rawValue)
            precondition(test.failure() == nil, "key-log vector '\(comment)': \(test.failure() ?? "")")
            return test
        }
        var highBit = bob.bytes
        highBit[31] |= 0x80
        return [
            invalid("a leave of a handle that never joined", ["LeaveNotLive"], [entry("leave", "bob", bob)],
                    error: .invalidLogEntry),
            invalid("a second leave of a handle that has left", ["LeaveNotLive"],
                    [entry("join", "bob", bob), entry("leave", "bob", bob), entry("leave", "bob", bob)],
                    error: .invalidLogEntry),
            invalid("a rotation to a key another handle holds live", ["SharedKey"],
                    [entry("join", "alice", alice), entry("join", "bob", bob), entry("rotate", "bob", alice)],
                    error: .invalidLogEntry),
            invalid("a rejoin with a key another handle took meanwhile", ["SharedKey"],
                    [entry("join", "bob", bob), entry("leave", "bob", bob), entry("join", "alice", bob),
                     entry("join", "bob", bob)], error: .invalidLogEntry),
            invalid("a handle with a trailing line feed", ["InvalidHandle"], [entry("join", "bob\n", bob)],
                    error: .invalidHandle),
            invalid("a handle with a trailing carriage return", ["InvalidHandle"], [entry("join", "bob\r", bob)],
                    error: .invalidHandle),
            invalid("a handle with a trailing CR LF, after a valid entry", ["InvalidHandle"],
                    [entry("join", "alice", alice), entry("rotate", "alice\r\n", bob)], error: .invalidHandle),
            invalid("an invalid program name", ["InvalidProgram"], program: "Acme", [entry("join", "bob", bob)],
                    error: .invalidProgram),
            invalid("a public key of 31 bytes", ["InvalidKeyLength"],
                    [Entry(event: "join", handle: "bob", publicKey: String(Hex.encode(bob.bytes).dropLast(2)))],
                    error: .invalidLength),
            invalid("a public key with bit 255 set", ["NonCanonicalKey"],
                    [Entry(event: "join", handle: "bob", publicKey: Hex.encode(highBit))], error: .nonCanonicalPublicKey),
            invalid("a rotation after the handle left", ["RotateNotLive"],
                    [entry("join", "bob", bob), entry("leave", "bob", bob), entry("rotate", "bob", bob2)],
                    error: .invalidLogEntry),
        ]
    }

    /// Tree heads appended after the first release of the file: lines that break the strict grammar though their
    /// signature is right (a lenient parser would accept them), and freshness against a clock.
    private static func strictHeadTests(
        logKey: LogSigningKey, otherKey: LogSigningKey, head: SignedTreeHead, empty: SignedTreeHead,
        headTest: (String, [String], String, String, Int64?, String?) throws -> KeyLogVector
    ) throws -> (grammar: [KeyLogVector], times: [KeyLogVector]) {
        let logPublic = Hex.encode(logKey.publicKey.bytes)
        func test(_ comment: String, _ flags: [String], _ line: String, now: Int64? = nil,
                  error: ReciprocityError.Code? = nil) throws -> KeyLogVector {
            let test = try headTest(comment, flags, line, logPublic, now, error?.rawValue)
            precondition(test.failure() == nil, "tree-head vector '\(comment)': \(test.failure() ?? "")")
            return test
        }
        func fields(_ line: String) -> [String] { line.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
        func replacing(_ index: Int, with value: String, in line: String = head.text) -> String {
            var parts = fields(line)
            parts[index] = value
            return parts.joined(separator: " ")
        }
        /// The same bytes with an unused low bit of the last character set: a second spelling.
        func nonCanonical(_ text: String) -> String {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            let last = alphabet.firstIndex(of: text.last!)!
            return String(text.dropLast()) + String(alphabet[last + 1])
        }
        /// A line with these fields, signed as they are.
        func signedLine(size: UInt64, sizeText: String? = nil, timestamp: UInt64 = head.timestamp) throws -> String {
            let signature = try logKey.signature(program: head.program, size: size, root: head.root, timestamp: timestamp)
            return ["reciprocity-sth/v1", "acme", sizeText ?? String(size), Base64URL.encode(head.root),
                    String(timestamp), Base64URL.encode(signature)].joined(separator: " ")
        }
        let line = head.text, parts = fields(head.text)
        let grammar: [KeyLogVector] = try [
            test("size '+5'", ["Grammar"], replacing(2, with: "+5"), error: .invalidEncoding),
            test("size '05'", ["Grammar"], replacing(2, with: "05"), error: .invalidEncoding),
            test("size '00' for an empty log", ["Grammar", "Empty"], replacing(2, with: "00", in: empty.text),
                 error: .invalidEncoding),
            test("size '-0' for an empty log", ["Grammar", "Empty"], replacing(2, with: "-0", in: empty.text),
                 error: .invalidEncoding),
            test("timestamp with a leading zero", ["Grammar"], replacing(4, with: "0" + parts[4]), error: .invalidEncoding),
            test("timestamp '+1795000000000'", ["Grammar"], replacing(4, with: "+" + parts[4]), error: .invalidEncoding),
            test("a trailing space", ["Grammar"], line + " ", error: .invalidEncoding),
            test("a trailing line feed", ["Grammar"], line + "\n", error: .invalidEncoding),
            test("a trailing CR LF", ["Grammar"], line + "\r\n", error: .invalidEncoding),
            test("a leading space", ["Grammar"], " " + line, error: .invalidEncoding),
            test("two spaces between fields", ["Grammar"], line.replacingOccurrences(of: " acme ", with: "  acme "),
                 error: .invalidEncoding),
            test("a tab between fields", ["Grammar"], line.replacingOccurrences(of: " acme ", with: "\tacme "),
                 error: .invalidEncoding),
            test("the label in upper case", ["Grammar"], replacing(0, with: "RECIPROCITY-STH/V1"),
                 error: .invalidEncoding),
            test("another version label", ["Grammar"], replacing(0, with: "reciprocity-sth/v2"), error: .invalidEncoding),
            test("an empty line", ["Grammar"], "", error: .invalidEncoding),
            test("the largest size, 2^63 - 1", ["TreeHead", "MaxSize"],
                 try logKey.sign(program: head.program, size: SignedTreeHead.maxSize, root: head.root,
                                 timestamp: head.timestamp).text),
            test("size 2^63, signed", ["Grammar"], try signedLine(size: SignedTreeHead.maxSize + 1),
                 error: .invalidEncoding),
            test("size 2^64 - 1, signed", ["Grammar"], try signedLine(size: UInt64.max), error: .invalidEncoding),
            test("size 2^64", ["Grammar"], replacing(2, with: "18446744073709551616"), error: .invalidEncoding),
            test("the largest timestamp, 2^64 - 1", ["TreeHead", "MaxTimestamp"],
                 try logKey.sign(program: head.program, size: head.size, root: head.root, timestamp: UInt64.max).text),
            test("timestamp 2^64", ["Grammar"], replacing(4, with: "18446744073709551616"), error: .invalidEncoding),
            test("root with an unused low bit set", ["Grammar"], replacing(3, with: nonCanonical(parts[3])),
                 error: .invalidEncoding),
            test("signature with an unused low bit set", ["Grammar"], replacing(5, with: nonCanonical(parts[5])),
                 error: .invalidEncoding),
            test("root padded with '='", ["Grammar"], replacing(3, with: parts[3] + "="), error: .invalidEncoding),
            test("signature in standard base64 ('+' and '/')", ["Grammar"],
                 replacing(5, with: parts[5].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")),
                 error: .invalidEncoding),
            test("a program name in upper case", ["Grammar", "InvalidProgram"], replacing(1, with: "Acme"),
                 error: .invalidProgram),
            test("an invalid program and size '+5': fields are checked left to right", ["Grammar", "CheckOrder"],
                 replacing(2, with: "+5", in: replacing(1, with: "Acme")), error: .invalidProgram),
        ]
        let t = Int64(head.timestamp)
        let (hour, day, skew): (Int64, Int64, Int64) = (3_600_000, 86_400_000, 300_000)
        let other = try otherKey.sign(program: head.program, size: head.size, root: head.root, timestamp: head.timestamp)
        let times: [KeyLogVector] = try [
            test("checked at its own timestamp", ["Fresh"], line, now: t),
            test("an hour old", ["Fresh"], line, now: t + hour),
            test("exactly 24 hours old", ["Fresh"], line, now: t + day),
            test("24 hours and 1 ms old", ["StaleHead"], line, now: t + day + 1, error: .staleHead),
            test("30 days old", ["StaleHead"], line, now: t + 30 * day, error: .staleHead),
            test("a minute ahead of the clock", ["Fresh"], line, now: t - 60_000),
            test("exactly 5 minutes ahead", ["Fresh"], line, now: t - skew),
            test("5 minutes and 1 ms ahead", ["FutureHead"], line, now: t - skew - 1, error: .futureHead),
            test("a year ahead", ["FutureHead"], line, now: t - 365 * day, error: .futureHead),
            test("timestamp 2^64 - 1", ["FutureHead", "MaxTimestamp"],
                 try logKey.sign(program: head.program, size: head.size, root: head.root, timestamp: UInt64.max).text,
                 now: t, error: .futureHead),
            test("timestamp 0", ["StaleHead"],
                 try logKey.sign(program: head.program, size: head.size, root: head.root, timestamp: 0).text, now: t,
                 error: .staleHead),
            test("the empty log's head, fresh", ["Fresh", "Empty"], empty.text, now: t + hour),
            test("signed by another key and stale: the signature is checked first", ["WrongKey", "CheckOrder"],
                 other.text, now: t + 30 * day, error: .invalidSignature),
            test("another program and a year ahead: the program is checked first", ["Tampered", "CheckOrder"],
                 replacing(1, with: "acme2"), now: t - 365 * day, error: .invalidSignature),
            test("size '05' and stale: the line is parsed first", ["Grammar", "CheckOrder"], replacing(2, with: "05"),
                 now: t + 30 * day, error: .invalidEncoding),
        ]
        return (grammar, times)
    }

    // MARK: - Merkle trees (key transparency)

    private static func merkleFile() -> VectorFile<MerkleVector> {
        // The Certificate Transparency reference inputs.
        let inputs = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        let hashes = inputs.map { MerkleTree.leafHash(try! Hex.decode($0)) }
        func root(_ n: Int) -> String { Hex.encode(MerkleTree.root(leafHashes: hashes[..<n])) }
        var roots: [MerkleVector] = []
        for n in 0...8 {
            roots.append(MerkleVector(
                comment: "root of the first \(n) reference leaves", flags: ["Root"], kind: "root",
                leaves: Array(inputs[..<n]), root: root(n), result: "valid"))
        }
        roots.append(MerkleVector(
            comment: "a root computed without the 0x00 leaf prefix", flags: ["Root", "WrongPrefix"], kind: "root",
            leaves: Array(inputs[..<2]),
            root: Hex.encode(try! SecureBytes.sha256([0x01] + SecureBytes.sha256([]) + SecureBytes.sha256([0x00]))),
            result: "invalid"))
        var inclusion: [MerkleVector] = []
        for n in 1...8 {
            for m in 0..<n {
                let proof = MerkleTree.inclusionProof(index: m, leafHashes: hashes[..<n]).map(Hex.encode)
                inclusion.append(MerkleVector(
                    comment: "leaf \(m) of \(n)", flags: ["Inclusion"], kind: "inclusion", leaves: Array(inputs[..<n]),
                    index: m, proof: proof, root: root(n), result: "valid"))
            }
        }
        let proof = MerkleTree.inclusionProof(index: 5, leafHashes: hashes[...]).map(Hex.encode)
        var flipped = proof
        flipped[1] = String(flipped[1].dropLast()) + (flipped[1].last == "0" ? "1" : "0")
        inclusion += [
            MerkleVector(comment: "a proof step changed", flags: ["Inclusion", "Tampered"], kind: "inclusion",
                         leaves: inputs, index: 5, proof: flipped, root: root(8), result: "invalid"),
            MerkleVector(comment: "the right proof for another index", flags: ["Inclusion", "WrongIndex"],
                         kind: "inclusion", leaves: inputs, index: 4, proof: proof, root: root(8), result: "invalid"),
            MerkleVector(comment: "a step missing", flags: ["Inclusion", "Truncated"], kind: "inclusion",
                         leaves: inputs, index: 5, proof: Array(proof.dropLast()), root: root(8), result: "invalid"),
            MerkleVector(comment: "an extra step", flags: ["Inclusion", "Extended"], kind: "inclusion",
                         leaves: inputs, index: 5, proof: proof + [root(8)], root: root(8), result: "invalid"),
        ]
        var consistency: [MerkleVector] = []
        for n in 1...8 {
            for m in 1...n {
                consistency.append(MerkleVector(
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
            MerkleVector(comment: "an old head from a rewritten history", flags: ["Consistency", "Forked"],
                         kind: "consistency", leaves: inputs, index: 3, proof: proof3to8, root: root(8),
                         oldRoot: forkedRoot, result: "invalid"),
            MerkleVector(comment: "a proof step dropped", flags: ["Consistency", "Truncated"], kind: "consistency",
                         leaves: inputs, index: 3, proof: Array(proof3to8.dropLast()), root: root(8), oldRoot: root(3),
                         result: "invalid"),
            MerkleVector(comment: "equal sizes with a non-empty proof", flags: ["Consistency", "Extended"],
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

    // MARK: - RFC known answers

    private static func x25519File() -> VectorFile<X25519Vector> {
        let alice = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
        let alicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        let bob = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
        let bobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        let base = "0900000000000000000000000000000000000000000000000000000000000000"
        func test(_ comment: String, _ flag: String, _ k: String, _ u: String, _ out: String) -> X25519Vector {
            X25519Vector(comment: comment, flags: [flag], private: k, public: u, shared: out, result: "valid")
        }
        return VectorFile(
            algorithm: X25519Vector.algorithm, schema: "xdh_comp_schema.json",
            header: ["X25519 known answers from RFC 7748 sections 5.2 and 6.1; binary values are lowercase hex."],
            notes: [
                "Rfc7748Sec6.1": "The Diffie-Hellman example of RFC 7748 section 6.1.",
                "Rfc7748Sec5.2": "A scalar-multiplication test of RFC 7748 section 5.2; the raw function masks bit 255 of u.",
                "PublicKeyDerivation": "X25519(k, 9): the public key of k.",
            ],
            groups: [
                VectorGroup(type: "XdhComp", comment: "RFC 7748 section 6.1", tests: [
                    test("alice's public key", "PublicKeyDerivation", alice, base, alicePublic),
                    test("bob's public key", "PublicKeyDerivation", bob, base, bobPublic),
                    test("alice computes K", "Rfc7748Sec6.1", alice, bobPublic, shared),
                    test("bob computes K", "Rfc7748Sec6.1", bob, alicePublic, shared),
                ]),
                VectorGroup(type: "XdhComp", comment: "RFC 7748 section 5.2", tests: [
                    test("first scalar multiplication", "Rfc7748Sec5.2",
                         "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
                    test("second scalar multiplication (bit 255 of u set)", "Rfc7748Sec5.2",
                         "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
                ]),
            ])
    }

    private static func hkdfFile() -> VectorFile<HKDFVector> {
        func range(_ bytes: ClosedRange<UInt8>) -> String { Hex.encode(Array(bytes)) }
        let ikm22 = String(repeating: "0b", count: 22)
        return VectorFile(
            algorithm: HKDFVector.algorithm, schema: "hkdf_test_schema.json",
            header: ["HKDF-SHA256 known answers from RFC 5869 appendix A.1-A.3, with the intermediate PRK."],
            notes: ["Rfc5869": "A test case from RFC 5869 appendix A."],
            groups: [
                VectorGroup(type: "HkdfTest", comment: "RFC 5869 appendix A, SHA-256 cases", tests: [
                    HKDFVector(
                        comment: "A.1 basic test case", flags: ["Rfc5869"], ikm: ikm22, salt: range(0x00...0x0c),
                        info: range(0xf0...0xf9), size: 42,
                        prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
                        okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
                        result: "valid"),
                    HKDFVector(
                        comment: "A.2 longer inputs and outputs", flags: ["Rfc5869"], ikm: range(0x00...0x4f),
                        salt: range(0x60...0xaf), info: range(0xb0...0xff), size: 82,
                        prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
                        okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
                        result: "valid"),
                    HKDFVector(
                        comment: "A.3 zero-length salt and info", flags: ["Rfc5869"], ikm: ikm22, salt: "", info: "",
                        size: 42, prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
                        okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
                        result: "valid"),
                ]),
            ])
    }

    // MARK: - Wire encoding

    /// Valid and invalid spellings of `byteCount`-byte values, appended after the 32-byte tests.
    private static func otherLengthTests(byteCount: Int, flag: String) throws -> [Base64URLVector] {
        var sample: [UInt8] = []
        while sample.count < byteCount {
            sample += try SecureBytes.sha256(Array("reciprocity base64url sample \(byteCount) \(sample.count)".utf8))
        }
        sample = Array(sample.prefix(byteCount))
        let sampleText = Base64URL.encode(sample)
        func valid(_ comment: String, _ bytes: [UInt8]) -> Base64URLVector {
            Base64URLVector(comment: comment, flags: [flag, "Valid"], byteCount: byteCount,
                            encoded: Base64URL.encode(bytes), decoded: Hex.encode(bytes), result: "valid")
        }
        func invalid(_ comment: String, _ flags: [String], _ encoded: String) -> Base64URLVector {
            Base64URLVector(comment: comment, flags: [flag] + flags, byteCount: byteCount, encoded: encoded,
                            result: "invalid", error: ReciprocityError.Code.invalidEncoding.rawValue)
        }
        let zeros = Base64URL.encode([UInt8](repeating: 0, count: byteCount))
        let padding = String(repeating: "=", count: (3 - byteCount % 3) % 3)
        var tests = [
            valid("\(byteCount) zero bytes", [UInt8](repeating: 0, count: byteCount)),
            valid("\(byteCount) 0xff bytes (uses '_')", [UInt8](repeating: 0xff, count: byteCount)),
            valid("\(byteCount) 0xfb bytes (uses '-')", [UInt8](repeating: 0xfb, count: byteCount)),
            valid("a sample of \(byteCount) bytes", sample),
            invalid("one character short", ["WrongLength"], String(sampleText.dropLast())),
            invalid("one character long", ["WrongLength"], sampleText + "A"),
            invalid("\(byteCount - 1) bytes encoded", ["WrongLength"], Base64URL.encode(sample.dropLast())),
            invalid("\(byteCount + 1) bytes encoded", ["WrongLength"], Base64URL.encode(sample + [7])),
            invalid("a 32-byte value", ["WrongLength"], Base64URL.encode(sample.prefix(32))),
            invalid("standard base64 '+'", ["BadAlphabet"], "+" + sampleText.dropFirst()),
            invalid("standard base64 '/'", ["BadAlphabet"], "/" + sampleText.dropFirst()),
            invalid("'=' in place of the last character", ["BadAlphabet"], String(sampleText.dropLast()) + "="),
        ]
        if padding.isEmpty {
            tests.append(invalid("'=' appended (no padding is ever needed for 540 bytes)", ["Padding"], sampleText + "="))
        } else {
            tests.append(invalid("padded with '\(padding)'", ["Padding"], sampleText + padding))
            tests.append(invalid("unused low bits set: 'B' ends \(byteCount) zero bytes", ["NonCanonical"],
                                 String(zeros.dropLast()) + "B"))
            tests.append(invalid("unused low bits set: 'P' ends \(byteCount) zero bytes", ["NonCanonical"],
                                 String(zeros.dropLast()) + "P"))
        }
        return tests
    }

    private static func base64URLFile() throws -> VectorFile<Base64URLVector> {
        func valid(_ comment: String, _ bytes: [UInt8]) -> Base64URLVector {
            Base64URLVector(comment: comment, flags: ["Valid"], encoded: Base64URL.encode(bytes),
                            decoded: Hex.encode(bytes), result: "valid")
        }
        let sample = try SecureBytes.sha256(Array("reciprocity base64url sample".utf8))
        let sampleText = Base64URL.encode(sample)
        let zeros = Base64URL.encode([UInt8](repeating: 0, count: 32))
        func invalid(_ comment: String, _ flag: String, _ encoded: String) -> Base64URLVector {
            Base64URLVector(comment: comment, flags: [flag], encoded: encoded, result: "invalid",
                            error: ReciprocityError.Code.invalidEncoding.rawValue)
        }
        let invalids = [
            invalid("padded with '='", "Padding", sampleText + "="),
            invalid("one character short", "WrongLength", String(sampleText.dropLast())),
            invalid("one character long", "WrongLength", sampleText + "A"),
            invalid("empty", "WrongLength", ""),
            invalid("standard base64 '+'", "BadAlphabet", "+" + sampleText.dropFirst()),
            invalid("standard base64 '/'", "BadAlphabet", "/" + sampleText.dropFirst()),
            invalid("a space", "BadAlphabet", " " + sampleText.dropFirst()),
            invalid("a non-ASCII character", "BadAlphabet", "\u{00E9}" + sampleText.dropFirst(2)),
            invalid("unused low bits set: 'B' ends 32 zero bytes", "NonCanonical", String(zeros.dropLast()) + "B"),
            invalid("unused low bits set: 'D'", "NonCanonical", String(zeros.dropLast()) + "D"),
            invalid("33 bytes encoded (44 characters)", "WrongLength", Base64URL.encode([UInt8](repeating: 7, count: 33))),
        ]
        return VectorFile(
            algorithm: Base64URLVector.algorithm, schema: "base64url_test_schema.json",
            header: [
                "The wire form of binary values: unpadded base64url (RFC 4648 section 5), one spelling per value.",
                "byteCount is the length the value must decode to; tests without it are 32-byte values (43 characters).",
                "The lengths the protocol uses: 32 (keys, tokens, tags, roots), 64 (signatures), 540 (sealed notes).",
            ],
            notes: [
                "Valid": "A canonical encoding.",
                "Padding": "Padding is not allowed.",
                "WrongLength": "Not 43 characters.",
                "BadAlphabet": "A character outside A-Z a-z 0-9 '-' '_'.",
                "NonCanonical": "The unused low bits of the last character are not zero (2 for 32 bytes, 4 for 64).",
                "Signature": "A 64-byte value: 86 characters.",
                "SealedNote": "A 540-byte value: 720 characters, with no unused bits.",
            ],
            groups: [
                VectorGroup(type: "Base64URLTest", comment: "valid", tests: [
                    valid("32 zero bytes", [UInt8](repeating: 0, count: 32)),
                    valid("32 0xff bytes (uses '_')", [UInt8](repeating: 0xff, count: 32)),
                    valid("32 0xfb bytes (uses '-')", [UInt8](repeating: 0xfb, count: 32)),
                    valid("a hash", sample),
                ]),
                VectorGroup(type: "Base64URLTest", comment: "invalid", tests: invalids),
                VectorGroup(type: "Base64URLTest", comment: "64-byte values (tree head signatures)",
                            tests: try otherLengthTests(byteCount: 64, flag: "Signature")),
                VectorGroup(type: "Base64URLTest", comment: "540-byte values (sealed notes)",
                            tests: try otherLengthTests(byteCount: 540, flag: "SealedNote")),
            ])
    }
}
