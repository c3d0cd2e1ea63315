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

    /// The token and own tag, ready to submit.
    public var mark: Mark { Mark(token: token, tag: ownTag) }

    /// True when `tag`, received from the server for a match, is the counterpart's genuine tag.
    public func verifies(counterpartTag tag: ConfirmationTag) -> Bool { tag == counterpartTag }
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
            ownPosition: transcript.ownPosition)
    }

    /// Every intermediate value of one derivation. Internal: the test-vector generator and verifier publish these,
    /// the public API never hands out the shared secret or PRK.
    struct Transcript {
        let ownPosition: RolePosition
        let sharedSecret: [UInt8]
        let pseudorandomKey: [UInt8]
        let tokenInfo: [UInt8]
        let tagInfo: [RolePosition: [UInt8]]
        let token: [UInt8]
        let tags: [RolePosition: [UInt8]]

        func tag(_ position: RolePosition) -> [UInt8] { tags[position]! }

        init(context: InterestContext, me: PrivateKey, handle: Handle, role: Role, other: Party) throws {
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
            guard !SecureBytes.constantTimeEqual(secret, [UInt8](repeating: 0, count: secret.count)) else {
                throw ReciprocityError(.lowOrderPublicKey, "the shared secret is all zero")
            }
            let prk = try HKDF.extract(salt: KeySchedule.salt, inputKeyMaterial: secret)
            let tokenInfo = KeySchedule.info(purpose: "token", context, first, second, role: nil)
            var tagInfo: [RolePosition: [UInt8]] = [:]
            var tags: [RolePosition: [UInt8]] = [:]
            for tagPosition in RolePosition.allCases {
                let info = KeySchedule.info(
                    purpose: "confirm", context, first, second, role: tagPosition.label(in: context.relation))
                tagInfo[tagPosition] = info
                tags[tagPosition] = try HKDF.expand(pseudorandomKey: prk, info: info, length: 32)
            }
            self.token = try HKDF.expand(pseudorandomKey: prk, info: tokenInfo, length: 32)
            self.ownPosition = position
            self.sharedSecret = secret
            self.pseudorandomKey = prk
            self.tokenInfo = tokenInfo
            self.tagInfo = tagInfo
            self.tags = tags
        }
    }

    /// `info = LP(version) || LP(purpose) || LP(program) || LP(relation) || LP(epoch) || LP(handle1) || LP(key1)
    /// || LP(handle2) || LP(key2) [|| LP(role)]`, where `LP(x)` is x's length as 2 bytes big-endian, then x.
    static func info(purpose: String, _ context: InterestContext, _ first: Party, _ second: Party, role: String?)
        -> [UInt8]
    {
        var out = [UInt8]()
        out.reserveCapacity(256)
        func field(_ bytes: some Collection<UInt8>) {
            precondition(bytes.count <= Int(UInt16.max))
            out.append(UInt8(bytes.count >> 8))
            out.append(UInt8(bytes.count & 0xff))
            out.append(contentsOf: bytes)
        }
        field(versionLabel.utf8)
        field(purpose.utf8)
        field(context.program.rawValue.utf8)
        field(context.relation.rawValue.utf8)
        field(withUnsafeBytes(of: context.epoch.bigEndian) { Array($0) })
        field(first.handle.rawValue.utf8)
        field(first.publicKey.bytes)
        field(second.handle.rawValue.utf8)
        field(second.publicKey.bytes)
        if let role { field(role.utf8) }
        return out
    }
}
