import Foundation
import ReciprocityCore

// The sealed-note vectors (`reciprocity_note_v1_test.json`, Specs/protocol.md):
// the test type, how this implementation checks it, and how the generator makes it.

public struct NoteVector: VectorTest {
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
    /// nonce || ciphertext || tag: the input of an opening test, the output of a sealing test.
    public var sealed: String?
    /// The 12-byte nonce of a sealing test (hex).
    public var nonce: String?
    // Outputs, present when result is "valid" (for a sealing test, `note` is an input).
    public var token: String?
    public var writerNoteInfo: String?
    public var writerNoteKey: String?
    public var paddedPlaintext: String?
    public var note: String?
    public var result: String
    public var error: String?
}

/// One test of `merkle_rfc9162_test.json`: a tree root, an inclusion proof or a consistency proof.

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
            selfRole: selfRole, selfPrivateKey: selfPrivateKey, otherHandle: otherHandle,
            otherPublicKey: otherPublicKey,
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

extension VectorGenerator {
    /// The reader's side of a pair: `reader` opens what `writer` sealed.
    private struct NotePair {
        var program: String
        var relation: Relation
        var epoch: UInt32
        var reader: String
        var readerRole: Role
        var writer: String
    }

    private static func noteBase(
        _ pair: NotePair, comment: String, flags: [String], sealed: [UInt8], result: String,
        error: ReciprocityError.Code? = nil
    ) throws -> NoteVector {
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
        Array(
            try SecureBytes.sha256(Array("reciprocity test vector nonce: \(label)".utf8)).prefix(ChaChaPoly.nonceLength)
        )
    }

    static func noteFile() throws -> VectorFile<NoteVector> {
        let pairs = [
            NotePair(
                program: "acme-mentoring", relation: .mentorship, epoch: 0, reader: "bob", readerRole: .mentor,
                writer: "alice"),
            NotePair(
                program: "acme-mentoring", relation: .mentorship, epoch: 0, reader: "alice", readerRole: .mentee,
                writer: "bob"),
            NotePair(
                program: "acme-mentoring", relation: .peer, epoch: 4_294_967_295, reader: "carol",
                readerRole: .peer, writer: "dave"),
            NotePair(
                program: "pydata.berlin_2026", relation: .peer, epoch: 2, reader: "r_roe.2", readerRole: .peer,
                writer: "j.doe-1"),
        ]
        let notes: [(String, String)] = [
            ("", "an empty note (a mark without a note looks the same)"),
            (
                "I admire how your team rolled out VDI; could I buy you a coffee and ask how you learned it?",
                "a typical note"
            ),
            ("Grüße 👋 — 你好\nline two", "non-ASCII text and a newline"),
            (String(repeating: "x", count: SealedNote.maxNoteBytes), "the longest note, 510 bytes"),
        ]
        var valid: [NoteVector] = []
        for (pairIndex, pair) in pairs.enumerated() {
            for (noteIndex, (text, what)) in notes.enumerated() where (pairIndex + noteIndex) % 2 == 0 || pairIndex == 0
            {
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
            try noteBase(
                pair, comment: "a ciphertext byte flipped", flags: ["TamperedCiphertext"], sealed: flipped(100),
                result: "invalid", error: auth),
            try noteBase(
                pair, comment: "a tag byte flipped", flags: ["TamperedTag"], sealed: flipped(good.count - 1),
                result: "invalid", error: auth),
            try noteBase(
                pair, comment: "a nonce byte flipped", flags: ["TamperedNonce"], sealed: flipped(0),
                result: "invalid", error: auth),
            try noteBase(
                pair, comment: "sealed with another token as associated data", flags: ["WrongAssociatedData"],
                sealed: try SealedNote.seal(
                    "Coffee?", key: key, nonce: nonce("aad"),
                    token: try SecureBytes.sha256(mark.token.bytes)
                ).bytes,
                result: "invalid", error: auth),
            try noteBase(
                pair, comment: "sealed with the reader's own role key", flags: ["WrongRoleKey"],
                sealed: try SealedNote.seal(
                    "Coffee?", key: mark.noteKey(mark.ownPosition.other),
                    nonce: nonce("role"), token: mark.token.bytes
                ).bytes,
                result: "invalid", error: auth),
            try noteBase(
                pair, comment: "authentic, but a padding byte is not zero", flags: ["BadPadding"],
                sealed: try sealRaw(badPadding, key: key, token: mark.token.bytes), result: "invalid",
                error: .invalidNotePadding),
            try noteBase(
                pair, comment: "authentic, but the length field says 511", flags: ["BadPadding"],
                sealed: try sealRaw(longLength, key: key, token: mark.token.bytes), result: "invalid",
                error: .invalidNotePadding),
            try noteBase(
                pair, comment: "authentic, but the note is not UTF-8", flags: ["BadPadding"],
                sealed: try sealRaw(badUTF8, key: key, token: mark.token.bytes), result: "invalid",
                error: .invalidNotePadding),
            try noteBase(
                pair, comment: "539 bytes", flags: ["WrongLength"], sealed: Array(good.dropLast()),
                result: "invalid", error: .invalidLength),
            try noteBase(
                pair, comment: "541 bytes", flags: ["WrongLength"], sealed: good + [0], result: "invalid",
                error: .invalidLength),
            try noteBase(
                pair, comment: "empty", flags: ["WrongLength"], sealed: [], result: "invalid",
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
                "WrongRoleKey":
                    "Sealed with the note key of the reader's role, not the writer's. Error noteAuthenticationFailed.",
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
        func test(
            _ pair: NotePair, _ note: String, _ comment: String, _ flags: [String],
            error: ReciprocityError.Code? = nil
        ) throws -> NoteVector {
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
            try test(
                mentorship, String(repeating: "x", count: max), "the longest note, 510 bytes",
                ["Mentorship", "MaxLengthNote"]),
            try test(
                peer, String(repeating: "\u{00E9}", count: max / 2), "255 two-byte characters, 510 bytes",
                ["Peer", "MaxLengthNote", "MultiByteNote"]),
            try test(
                mentorship, String(repeating: "x", count: max + 1), "511 bytes", ["Mentorship", "NoteTooLong"],
                error: .noteTooLong),
            try test(
                peer, String(repeating: "x", count: max - 1) + "\u{00E9}",
                "510 characters but 511 bytes: the limit counts bytes", ["Peer", "MultiByteNote", "NoteTooLong"],
                error: .noteTooLong),
            try test(
                mentorship, String(repeating: "\u{20AC}", count: 171), "171 three-byte characters, 513 bytes",
                ["Mentorship", "MultiByteNote", "NoteTooLong"], error: .noteTooLong),
        ]
    }
}
