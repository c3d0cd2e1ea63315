/// The derivations of a conversation's Double Ratchet (Specs/messages.md sections 3 to 6): the root secret, the
/// root and chain steps, a message's AEAD key and nonce, its associated data, and the padding of its plaintext.
/// One rule each; `Conversation` strings them together.
package enum ConversationKeys {
    package static let rootLabel = "reciprocity/v1 messages root"
    package static let ratchetLabel = "reciprocity/v1 messages ratchet"
    package static let messageKeyLabel = "reciprocity/v1 messages key"
    package static let firstChainLabel = "reciprocity/v1 messages first chain"
    package static let associatedDataLabel = "reciprocity/v1 messages"

    /// `info = LP(root label) || LP(program) || LP(BE32(epoch)) || LP(handle A) || LP(key A) || LP(handle B) ||
    /// LP(key B)`.
    package static func rootInfo(program: ProgramID, epoch: UInt32, a: Party, b: Party) -> [UInt8] {
        var out = [UInt8]()
        KeySchedule.appendField(rootLabel.utf8, to: &out)
        KeySchedule.appendField(program.rawValue.utf8, to: &out)
        KeySchedule.appendField(bigEndian(epoch), to: &out)
        KeySchedule.appendField(a.handle.rawValue.utf8, to: &out)
        KeySchedule.appendField(a.publicKey.bytes, to: &out)
        KeySchedule.appendField(b.handle.rawValue.utf8, to: &out)
        KeySchedule.appendField(b.publicKey.bytes, to: &out)
        return out
    }

    /// `DH0 = X25519(own static private key, other static public key)`.
    package static func staticSecret(_ me: PrivateKey, _ peer: PublicKey) throws -> [UInt8] {
        try X25519.sharedSecret(me.handle, peer: peer.bytes)
    }

    /// `SK = HKDF-Expand(HKDF-Extract(salt = token, IKM = static shared secret), rootInfo, 32)`.
    package static func rootSecret(token: [UInt8], sharedSecret: [UInt8], info: [UInt8]) throws -> [UInt8] {
        let prk = try HKDF.extract(salt: token, inputKeyMaterial: sharedSecret)
        return try HKDF.expand(pseudorandomKey: prk, info: info, length: 32)
    }

    /// `KDF_RK(rk, dh)`: HKDF-SHA256 with salt `rk`, IKM `dh`, info `LP(ratchet label)`, 64 bytes: the next root
    /// key, then a chain key.
    package static func rootStep(rootKey: [UInt8], dh: [UInt8]) throws -> (rootKey: [UInt8], chainKey: [UInt8]) {
        let prk = try HKDF.extract(salt: rootKey, inputKeyMaterial: dh)
        let out = try HKDF.expand(pseudorandomKey: prk, info: field(ratchetLabel), length: 64)
        return (Array(out.prefix(32)), Array(out.suffix(32)))
    }

    /// The first chain key of side A's start with ratchet key a0: `HKDF(salt = SK, IKM = X25519(a0, B static),
    /// info = LP(first-chain label), 32)`. It leaves the root key where it was.
    package static func firstChain(root: [UInt8], dh: [UInt8]) throws -> [UInt8] {
        let prk = try HKDF.extract(salt: root, inputKeyMaterial: dh)
        return try HKDF.expand(pseudorandomKey: prk, info: field(firstChainLabel), length: 32)
    }

    /// `KDF_CK(ck)`: message key `HMAC(ck, 0x01)`, next chain key `HMAC(ck, 0x02)`.
    package static func chainStep(_ chainKey: [UInt8]) throws -> (messageKey: [UInt8], chainKey: [UInt8]) {
        (
            try HMACSHA256.authenticate(key: chainKey, message: [0x01]),
            try HMACSHA256.authenticate(key: chainKey, message: [0x02])
        )
    }

    /// The ChaCha20-Poly1305 key (32 bytes) and nonce (12) of one message:
    /// `HKDF-Expand(HKDF-Extract(32 zero bytes, mk), LP(message-key label), 44)`.
    package static func aead(messageKey: [UInt8]) throws -> (key: [UInt8], nonce: [UInt8]) {
        let prk = try HKDF.extract(salt: [UInt8](repeating: 0, count: 32), inputKeyMaterial: messageKey)
        let out = try HKDF.expand(pseudorandomKey: prk, info: field(messageKeyLabel), length: 44)
        return (Array(out.prefix(32)), Array(out.suffix(12)))
    }

    /// `LP(label) || LP(program) || LP(BE32(epoch)) || LP(token) || LP(direction) || LP(header)`.
    package static func associatedData(
        program: String, epoch: UInt32, token: [UInt8], sender: ConversationSide, header: [UInt8]
    ) -> [UInt8] {
        var out = [UInt8]()
        KeySchedule.appendField(associatedDataLabel.utf8, to: &out)
        KeySchedule.appendField(program.utf8, to: &out)
        KeySchedule.appendField(bigEndian(epoch), to: &out)
        KeySchedule.appendField(token, to: &out)
        KeySchedule.appendField(sender.direction.utf8, to: &out)
        KeySchedule.appendField(header, to: &out)
        return out
    }

    /// `version || ratchet public key || BE32(PN) || BE32(N)`, the envelope's first 41 bytes.
    package static func header(ratchetKey: [UInt8], previousLength: UInt32, number: UInt32) -> [UInt8] {
        [MessageEnvelope.version] + ratchetKey + bigEndian(previousLength) + bigEndian(number)
    }

    /// `BE16(len) || payload || zeros`, to the smallest of `MessageEnvelope.paddedSizes` that holds it.
    package static func pad(_ payload: [UInt8]) throws -> [UInt8] {
        guard let size = MessageEnvelope.paddedSizes.first(where: { $0 >= payload.count + 2 }) else {
            throw ReciprocityError(
                .messageTooLong,
                "a message is at most \(Conversation.maxPayloadBytes) bytes of UTF-8, got \(payload.count)")
        }
        return [UInt8(payload.count >> 8), UInt8(payload.count & 0xff)] + payload
            + [UInt8](repeating: 0, count: size - 2 - payload.count)
    }

    /// The inverse of `pad`: refuses a length that does not fit, a size class larger than the payload needs, a
    /// non-zero padding byte, or a payload that is not UTF-8.
    package static func unpad(_ padded: [UInt8]) throws -> String {
        let length = padded.count >= 2 ? Int(padded[0]) << 8 | Int(padded[1]) : Int.max
        guard length <= padded.count - 2 else {
            throw ReciprocityError(.invalidMessagePadding, "the message length does not fit its size class")
        }
        guard MessageEnvelope.paddedSizes.first(where: { $0 >= length + 2 }) == padded.count else {
            throw ReciprocityError(.invalidMessagePadding, "the message is not padded to the smallest size that fits")
        }
        guard padded[(2 + length)...].allSatisfy({ $0 == 0 }) else {
            throw ReciprocityError(.invalidMessagePadding, "padding bytes are not zero")
        }
        guard let text = String(validating: padded[2..<(2 + length)], as: UTF8.self) else {
            throw ReciprocityError(.invalidMessagePadding, "the message is not valid UTF-8")
        }
        return text
    }

    package static func bigEndian(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    private static func field(_ label: String) -> [UInt8] {
        var out = [UInt8]()
        KeySchedule.appendField(label.utf8, to: &out)
        return out
    }
}

/// Which member a conversation's side is: A is the member whose static public key sorts first, byte by byte
/// (Specs/messages.md section 3).
public enum ConversationSide: String, Sendable, Codable {
    case a = "A"
    case b = "B"

    public var other: ConversationSide { self == .a ? .b : .a }

    /// The direction label of the messages this side sends, bound into their associated data.
    var direction: String { self == .a ? "a-to-b" : "b-to-a" }
}
