/// The program, relation and epoch a mark belongs to.
public struct InterestContext: Sendable, Hashable {
    public let program: ProgramID
    public let relation: Relation
    /// Lets a program rotate every token at once: a new epoch gives unrelated tokens.
    public let epoch: UInt32

    public init(program: ProgramID, relation: Relation, epoch: UInt32) {
        self.program = program
        self.relation = relation
        self.epoch = epoch
    }

    /// An epoch that arrived as a wider integer (a JSON number, a command-line value): 0 to 2^32 - 1, else
    /// `invalidEpoch`.
    public static func epoch(_ value: some BinaryInteger) throws -> UInt32 {
        guard let epoch = UInt32(exactly: value) else {
            throw ReciprocityError(.invalidEpoch, "an epoch is an integer from 0 to 4294967295")
        }
        return epoch
    }
}

/// A member as the key schedule sees them: a handle and a validated public key.
public struct Party: Sendable, Hashable {
    public let handle: Handle
    public let publicKey: PublicKey

    public init(handle: Handle, publicKey: PublicKey) {
        self.handle = handle
        self.publicKey = publicKey
    }
}

/// The result of deriving a mark against one counterpart: what to submit, and what to expect back.
public struct PairwiseMark: Sendable {
    /// The shared token, identical from both sides.
    public let token: InterestToken
    /// This member's confirmation tag, submitted with the token.
    public let ownTag: ConfirmationTag
    /// The tag the counterpart must have submitted; compared (in constant time) after a match.
    public let counterpartTag: ConfirmationTag
    /// Where this member sits in the role order.
    public let ownPosition: RolePosition
    /// Kept so that note keys are derived only when a note is sealed or opened (two HMACs this derivation
    /// would otherwise pay for every mark).
    let pseudorandomKey: [UInt8]
    let binding: [UInt8]
    let relation: Relation

    /// The token and own tag, ready to submit.
    public var mark: Mark { Mark(token: token, tag: ownTag) }

    /// True when `tag`, received from the server for a match, is the counterpart's genuine tag.
    public func verifies(counterpartTag tag: ConfirmationTag) -> Bool { tag == counterpartTag }

    /// Seals `note` for the counterpart under this member's role's note key, with a fresh random nonce (so a
    /// mark withdrawn and re-added in the same epoch never reuses a nonce under its key).
    public func sealNote(_ note: String) throws -> SealedNote {
        try SealedNote.seal(
            note, key: noteKey(ownPosition), nonce: SecureBytes.random(count: ChaChaPoly.nonceLength),
            token: token.bytes)
    }

    /// Opens the counterpart's sealed note. Throws when it does not authenticate or is malformed.
    public func openCounterpartNote(_ sealed: SealedNote) throws -> String {
        try sealed.open(key: noteKey(ownPosition.other), token: token.bytes)
    }

    package func noteKey(_ writer: RolePosition) throws -> [UInt8] {
        try KeySchedule.noteKey(prk: pseudorandomKey, binding: binding, writer: writer, relation: relation)
    }
}

/// The Reciprocity v1 key schedule (Specs/protocol.md): X25519, then HKDF-SHA256 (RFC 5869) with a fixed salt
/// and a length-prefixed `info` that binds the purpose, program, relation, epoch and both parties in role order.
public enum KeySchedule {
    /// The protocol version label, the first field of every `info`.
    public static let versionLabel = "reciprocity/v1"
    /// The HKDF salt: these 24 ASCII bytes.
    public static let salt = Array("reciprocity/v1 hkdf-salt".utf8)

    /// Derives the token and both confirmation tags for a mark by `me` (who plays `role`) on `other`.
    public static func derive(
        context: InterestContext, me: PrivateKey, handle: Handle, role: Role, other: Party
    ) throws -> PairwiseMark {
        let transcript = try Transcript(context: context, me: me, handle: handle, role: role, other: other)
        return PairwiseMark(
            token: InterestToken(uncheckedBytes: transcript.token),
            ownTag: ConfirmationTag(uncheckedBytes: transcript.tag(transcript.ownPosition)),
            counterpartTag: ConfirmationTag(uncheckedBytes: transcript.tag(transcript.ownPosition.other)),
            ownPosition: transcript.ownPosition, pseudorandomKey: transcript.pseudorandomKey,
            binding: transcript.binding, relation: context.relation)
    }

    /// `note_key(i) = HKDF-Expand(PRK, LP(version) || LP("note") || binding || LP(label(i)), 32)`: the key
    /// the member in role `i` seals its note with.
    package static func noteKey(prk: [UInt8], binding: [UInt8], writer: RolePosition, relation: Relation) throws
        -> [UInt8]
    {
        try HKDF.expand(
            pseudorandomKey: prk, info: noteInfo(binding: binding, writer: writer, relation: relation), length: 32)
    }

    package static func noteInfo(binding: [UInt8], writer: RolePosition, relation: Relation) -> [UInt8] {
        info(purpose: "note", binding: binding, role: writer.label(in: relation))
    }

    /// Every intermediate value of one derivation. Package-only: the test-vector generator and verifier publish these;
    /// the public API never hands out the shared secret or PRK.
    package struct Transcript {
        package let ownPosition: RolePosition
        package let sharedSecret: [UInt8]
        package let pseudorandomKey: [UInt8]
        package let tokenInfo: [UInt8]
        package let binding: [UInt8]
        /// Indexed by `RolePosition.rawValue - 1`.
        package let tagInfos: [[UInt8]]
        package let token: [UInt8]
        package let tags: [[UInt8]]

        package func tagInfo(_ position: RolePosition) -> [UInt8] { tagInfos[position.rawValue - 1] }
        package func tag(_ position: RolePosition) -> [UInt8] { tags[position.rawValue - 1] }

        package init(context: InterestContext, me: PrivateKey, handle: Handle, role: Role, other: Party) throws {
            guard context.relation.roles.contains(role) else {
                throw ReciprocityError(
                    .invalidRole, "role \(role.rawValue) does not belong to relation \(context.relation.rawValue)")
            }
            let own = Party(handle: handle, publicKey: me.publicKey)
            guard own.handle != other.handle, own.publicKey != other.publicKey else {
                throw ReciprocityError(.selfMark, "a member cannot mark themself (same handle or same public key)")
            }
            let position: RolePosition =
                switch role {
                case .mentor: .first
                case .mentee: .second
                case .peer: own.publicKey < other.publicKey ? .first : .second
                }
            let (first, second) = position == .first ? (own, other) : (other, own)

            let secret = try X25519.sharedSecret(me.handle, peer: other.publicKey.bytes)
            guard !SecureBytes.constantTimeEqual(secret, KeySchedule.zeros) else {
                throw ReciprocityError(.lowOrderPublicKey, "the shared secret is all zero")
            }
            let prk = try HKDF.extract(salt: KeySchedule.salt, inputKeyMaterial: secret)
            let binding = KeySchedule.binding(context, first, second)
            self.binding = binding
            tokenInfo = KeySchedule.info(purpose: "token", binding: binding, role: nil)
            tagInfos = RolePosition.allCases.map {
                KeySchedule.info(purpose: "confirm", binding: binding, role: $0.label(in: context.relation))
            }
            token = try HKDF.expand(pseudorandomKey: prk, info: tokenInfo, length: 32)
            tags = try tagInfos.map { try HKDF.expand(pseudorandomKey: prk, info: $0, length: 32) }
            ownPosition = position
            sharedSecret = secret
            pseudorandomKey = prk
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 32)

    /// `info = LP(version) || LP(purpose) || binding [|| LP(role)]`, where `LP(x)` is x's length as 2 bytes
    /// big-endian, then x.
    static func info(purpose: String, binding: [UInt8], role: String?) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(binding.count + 40)
        appendField(versionLabel.utf8, to: &out)
        appendField(purpose.utf8, to: &out)
        out += binding
        if let role { appendField(role.utf8, to: &out) }
        return out
    }

    /// `binding = LP(program) || LP(relation) || LP(epoch) || LP(handle1) || LP(key1) || LP(handle2) || LP(key2)`:
    /// the fields shared by every `info` of one pair.
    static func binding(_ context: InterestContext, _ first: Party, _ second: Party) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256)
        appendField(context.program.rawValue.utf8, to: &out)
        appendField(context.relation.rawValue.utf8, to: &out)
        appendField(withUnsafeBytes(of: context.epoch.bigEndian) { Array($0) }, to: &out)
        appendField(first.handle.rawValue.utf8, to: &out)
        appendField(first.publicKey.bytes, to: &out)
        appendField(second.handle.rawValue.utf8, to: &out)
        appendField(second.publicKey.bytes, to: &out)
        return out
    }

    static func appendField(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        precondition(bytes.count <= Int(UInt16.max))
        out.append(UInt8(bytes.count >> 8))
        out.append(UInt8(bytes.count & 0xff))
        out.append(contentsOf: bytes)
    }
}
