public import Foundation

/// The private conversation between the two members of a verified match: Signal's Double Ratchet without header
/// encryption, rooted in the pair's static X25519 secret and the match's token (Specs/messages.md).
///
/// Each member keeps one `Conversation` per match on their own device and stores ``encoded()`` after every
/// ``seal(_:)`` and ``open(_:)`` (the state changes with each). Either side may write first, and both may write at
/// once. A refused envelope leaves the state as it was. Every start draws a fresh ratchet key (side A's first
/// chain hangs off its own fresh key), so a second start after a restore repeats no message key or nonce; it does
/// not, however, read the peer's messages sent on the peer's later chains (Specs/messages.md section 5).
public struct Conversation: Sendable, CustomStringConvertible {
    /// The most message keys one chain may skip (messages reordered or lost) before an envelope is refused.
    public static let maxSkip: UInt32 = 100
    /// The most skipped message keys kept in all; beyond it the oldest is deleted.
    public static let maxSkippedKeys = 1000
    /// How many of its own retired ratchet keys, and of the peer's, a side remembers to name a reflected or
    /// replayed envelope (older ones are simply refused as unauthentic).
    public static let maxRememberedKeys = 20
    /// How many starts of side A (first chains) side B reads in one conversation; a further one is refused.
    public static let maxFirstChains = 20
    /// The `PN` of a message on side A's first chain (Specs/messages.md section 6): no other chain reaches it.
    static let firstChainMarker = UInt32.max
    /// The longest message, in UTF-8 bytes: the largest padded size less the 2-byte length.
    public static let maxPayloadBytes = MessageEnvelope.paddedSizes.last! - 2

    package private(set) var state: ConversationState

    /// Which side this member is (A: the member whose static public key sorts first).
    public var side: ConversationSide { state.side }

    /// Starts the conversation of the match `token` in `program` and `epoch` between `me` (with `handle`) and
    /// `peer`, whose key the client has verified. Each side generates a fresh ratchet key here: A for its first
    /// chain (and deletes its private half at once), B for its first sending chain.
    public init(program: ProgramID, epoch: UInt32, token: InterestToken, me: PrivateKey, handle: Handle, peer: Party)
        throws
    {
        try self.init(
            program: program, epoch: epoch, token: token, me: me, handle: handle, peer: peer,
            ratchetKey: { try PrivateKey() })
    }

    /// The same, with the ratchet key the start generates supplied by the caller: for the test vectors only.
    package init(
        program: ProgramID, epoch: UInt32, token: InterestToken, me: PrivateKey, handle: Handle, peer: Party,
        ratchetKey: () throws -> PrivateKey
    ) throws {
        guard handle != peer.handle, me.publicKey != peer.publicKey else {
            throw ReciprocityError(.selfMark, "a conversation needs two members (same handle or same public key)")
        }
        let own = Party(handle: handle, publicKey: me.publicKey)
        let side: ConversationSide = own.publicKey < peer.publicKey ? .a : .b
        let (a, b) = side == .a ? (own, peer) : (peer, own)
        let secret = try ConversationKeys.staticSecret(me, peer.publicKey)
        let info = ConversationKeys.rootInfo(program: program, epoch: epoch, a: a, b: b)
        let root = try ConversationKeys.rootSecret(token: token.bytes, sharedSecret: secret, info: info)
        let ownPrivate = [UInt8](me.rawRepresentation)
        let fresh = try ratchetKey()
        if side == .a {
            // A's first chain: a side branch from SK and X25519(a0, B static); the main root stays SK, and A's
            // static pair stays DHs for B's virtual first step. a0's private half is dropped here.
            let dh = try X25519.sharedSecret(fresh.handle, peer: peer.publicKey.bytes)
            state = ConversationState(
                side: side, program: program.rawValue, epoch: epoch, token: token.bytes,
                ownStaticKey: me.publicKey.bytes, rootKey: root, sendingPrivateKey: ownPrivate,
                sendingPublicKey: me.publicKey.bytes, sendingChain: try ConversationKeys.firstChain(root: root, dh: dh))
            state.firstRatchetKey = fresh.publicKey.bytes
        } else {
            // B has, in effect, received A's static key with an empty chain, and answers with a fresh key b1.
            // It keeps SK and its static private key to open A's first chains, whichever start they come from.
            state = ConversationState(
                side: side, program: program.rawValue, epoch: epoch, token: token.bytes,
                ownStaticKey: me.publicKey.bytes, rootKey: root, sendingPrivateKey: ownPrivate,
                sendingPublicKey: me.publicKey.bytes, sendingChain: root)  // replaced by b1's chain below
            state.rootSecret = root
            state.staticPrivateKey = ownPrivate
            state.receivingKey = peer.publicKey.bytes
            try state.startSendingChain(with: fresh)
            state.retiredOwnKeys = []  // b1 replaces no ratchet key: the static key is not one (section 5)
        }
    }

    /// Reloads a conversation stored with ``encoded()``.
    public init(encoded: Data) throws {
        do {
            state = try JSONDecoder().decode(ConversationState.self, from: encoded)
        } catch {
            throw ReciprocityError(.invalidConversationState, "the stored conversation cannot be read")
        }
        try state.validate()
    }

    /// The state to store on the member's device (secret: it holds the current chain and message keys).
    public func encoded() throws -> Data { try JSONEncoder().encode(state) }

    public var description: String { "Conversation(side: \(side.rawValue), <secret state>)" }

    /// Encrypts `payload` (UTF-8, at most ``maxPayloadBytes``) into an envelope for the peer.
    public mutating func seal(_ payload: String) throws -> [UInt8] {
        try sealPadded(ConversationKeys.pad(Array(payload.utf8))).envelope
    }

    /// One sealed message and the values the test vectors publish with it.
    package struct Sealed {
        package let envelope: [UInt8]
        package let associatedData: [UInt8]
        package let key: [UInt8]
        package let nonce: [UInt8]
    }

    /// Seals an already padded plaintext (the vector generator also seals malformed ones with it).
    package mutating func sealPadded(_ padded: [UInt8]) throws -> Sealed {
        // Ns stays below the first-chain marker, so no PN of a later chain can look like it.
        guard state.sent < Self.firstChainMarker - 1 else {
            throw ReciprocityError(.messageTooLong, "this sending chain has used every message number")
        }
        let header =
            if let first = state.firstRatchetKey {
                ConversationKeys.header(ratchetKey: first, previousLength: Self.firstChainMarker, number: state.sent)
            } else {
                ConversationKeys.header(
                    ratchetKey: state.sendingPublicKey, previousLength: state.previousLength, number: state.sent)
            }
        let (messageKey, chainKey) = try ConversationKeys.chainStep(state.sendingChain)
        let (key, nonce) = try ConversationKeys.aead(messageKey: messageKey)
        let associatedData = ConversationKeys.associatedData(
            program: state.program, epoch: state.epoch, token: state.token, sender: side, header: header)
        let ciphertext = try ChaChaPoly.seal(key: key, nonce: nonce, plaintext: padded, associatedData: associatedData)
        state.sendingChain = chainKey
        state.sent += 1
        return Sealed(envelope: header + ciphertext, associatedData: associatedData, key: key, nonce: nonce)
    }

    /// Opens an envelope from the peer and returns its payload, or throws one of the refusals of
    /// Specs/messages.md section 7 and leaves the state unchanged.
    public mutating func open(_ envelope: some Collection<UInt8>) throws -> String {
        try open(envelope, ratchetKey: { try PrivateKey() })
    }

    /// The same, with the ratchet key a DH ratchet step generates supplied by the caller (test vectors only). It
    /// is asked for only when the envelope opens and starts a new chain.
    package mutating func open(_ envelope: some Collection<UInt8>, ratchetKey: () throws -> PrivateKey) throws
        -> String
    {
        let bytes = Array(envelope)
        guard MessageEnvelope.isWellFormed(bytes) else {
            throw ReciprocityError(
                .messageMalformed, "an envelope is version 1 and one of \(MessageEnvelope.lengths) bytes long")
        }
        let header = Array(bytes.prefix(MessageEnvelope.headerLength))
        let peerKey = Array(bytes[1..<33])
        let previousLength = Self.number(bytes[33..<37])
        let number = Self.number(bytes[37..<41])
        guard (try? PublicKey(rawRepresentation: peerKey)) != nil else {
            throw ReciprocityError(.messageMalformed, "the envelope's ratchet key is not a valid public key")
        }
        guard !state.isOwn(peerKey) else {
            throw ReciprocityError(.messageWrongSide, "the envelope carries this member's own ratchet key")
        }
        var next = state
        let messageKey: [UInt8]
        var newChain = false
        if previousLength == Self.firstChainMarker {
            messageKey = try next.openFirstChain(peerKey, number)
        } else if let index = next.skipped.firstIndex(where: { $0.ratchetKey == peerKey && $0.number == number }) {
            messageKey = next.skipped.remove(at: index).messageKey
        } else if peerKey == next.receivingKey, next.receivingChain != nil {
            guard number >= next.received else {
                throw ReciprocityError(.messageReplayed, "message \(number) of this chain was already read")
            }
            try next.skip(until: number)
            messageKey = try next.advanceReceivingChain()
        } else if next.retiredPeerKeys.contains(peerKey) {
            throw ReciprocityError(.messageReplayed, "this message's chain is closed and its key was already used")
        } else {
            // The receiving half of a DH ratchet step: close the current chain, open the peer's new one.
            try next.skip(until: previousLength)
            if let old = next.receivingKey { next.retiredPeerKeys.appendBounded(old) }
            next.previousLength = next.sent
            next.sent = 0
            next.received = 0
            next.receivingKey = peerKey
            let secret = try X25519.sharedSecret(
                X25519.PrivateKeyHandle(rawPrivateKey: next.sendingPrivateKey), peer: peerKey)
            (next.rootKey, next.receivingChain) = try ConversationKeys.rootStep(rootKey: next.rootKey, dh: secret)
            try next.skip(until: number)
            messageKey = try next.advanceReceivingChain()
            newChain = true
        }
        let (key, nonce) = try ConversationKeys.aead(messageKey: messageKey)
        let associatedData = ConversationKeys.associatedData(
            program: state.program, epoch: state.epoch, token: state.token, sender: side.other, header: header)
        let padded: [UInt8]
        do {
            padded = try ChaChaPoly.open(
                key: key, nonce: nonce, sealed: Array(bytes.dropFirst(MessageEnvelope.headerLength)),
                associatedData: associatedData)
        } catch let error as ReciprocityError where error.code == .noteAuthenticationFailed {
            throw ReciprocityError(.messageAuthenticationFailed, "the envelope does not authenticate")
        }
        let payload = try ConversationKeys.unpad(padded)
        // The sending half of the step, only once the envelope has proved to be the peer's. A's first chain ends.
        if newChain {
            try next.startSendingChain(with: ratchetKey())
            next.firstRatchetKey = nil
        }
        state = next
        return payload
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// Everything one side of a conversation remembers between messages (Specs/messages.md section 5). Secret.
package struct ConversationState: Codable, Sendable {
    /// A message key kept for a message not yet received (skipped past), by the peer's ratchet key and number.
    package struct SkippedKey: Codable, Sendable {
        package var ratchetKey: [UInt8]
        package var number: UInt32
        package var messageKey: [UInt8]
    }

    /// One of A's first chains as B reads it: a0's public key, the chain key and the number of the next message.
    package struct FirstChain: Codable, Sendable {
        package var ratchetKey: [UInt8]
        package var chainKey: [UInt8]
        package var received: UInt32
    }

    package var side: ConversationSide
    package var program: String
    package var epoch: UInt32
    package var token: [UInt8]
    package var ownStaticKey: [UInt8]
    package var rootKey: [UInt8]
    /// DHs: the current own ratchet key pair.
    package var sendingPrivateKey: [UInt8]
    package var sendingPublicKey: [UInt8]
    /// CKs, Ns and PN.
    package var sendingChain: [UInt8]
    package var sent: UInt32 = 0
    package var previousLength: UInt32 = 0
    /// DHr, CKr and Nr: absent for A until B's first message.
    package var receivingKey: [UInt8]?
    package var receivingChain: [UInt8]?
    package var received: UInt32 = 0
    package var skipped: [SkippedKey] = []
    /// The peer's ratchet keys of closed receiving chains, and this side's own retired ratchet public keys, the
    /// last ``Conversation/maxRememberedKeys`` of each.
    package var retiredPeerKeys: [[UInt8]] = []
    package var retiredOwnKeys: [[UInt8]] = []
    /// A only: a0's public key while A still sends on its first chain (the sending chain is then that chain).
    package var firstRatchetKey: [UInt8]?
    /// B only: SK and B's static private key, which open A's first chains, and the first chains read so far.
    package var rootSecret: [UInt8]?
    package var staticPrivateKey: [UInt8]?
    package var firstChains: [FirstChain] = []

    init(
        side: ConversationSide, program: String, epoch: UInt32, token: [UInt8], ownStaticKey: [UInt8],
        rootKey: [UInt8], sendingPrivateKey: [UInt8], sendingPublicKey: [UInt8], sendingChain: [UInt8]
    ) {
        self.side = side
        self.program = program
        self.epoch = epoch
        self.token = token
        self.ownStaticKey = ownStaticKey
        self.rootKey = rootKey
        self.sendingPrivateKey = sendingPrivateKey
        self.sendingPublicKey = sendingPublicKey
        self.sendingChain = sendingChain
    }

    /// Whether `key` is one of this side's own static or ratchet public keys (a reflected envelope).
    func isOwn(_ key: [UInt8]) -> Bool {
        key == ownStaticKey || key == sendingPublicKey || retiredOwnKeys.contains(key)
    }

    /// Stores the message keys of the current receiving chain up to (not including) `number`, refusing more than
    /// ``Conversation/maxSkip`` of them.
    mutating func skip(until number: UInt32) throws {
        guard let key = receivingKey, var chain = receivingChain else { return }
        var next = received
        try skip(key, &chain, &next, until: number)
        (receivingChain, received) = (chain, next)
    }

    /// KDF_CK on the receiving chain: returns message `received`'s key and moves on.
    mutating func advanceReceivingChain() throws -> [UInt8] {
        var chain = receivingChain!
        defer { receivingChain = chain }
        return try Self.advance(&chain, &received)
    }

    /// Skips to `number` on the chain of ratchet key `key` (the main receiving chain or a first chain).
    private mutating func skip(_ key: [UInt8], _ chain: inout [UInt8], _ next: inout UInt32, until number: UInt32)
        throws
    {
        guard UInt64(number) <= UInt64(next) + UInt64(Conversation.maxSkip) else {
            throw ReciprocityError(
                .messageOutsideWindow, "the envelope is more than \(Conversation.maxSkip) messages ahead of its chain")
        }
        while next < number {
            skipped.append(SkippedKey(ratchetKey: key, number: next, messageKey: try Self.advance(&chain, &next)))
        }
        if skipped.count > Conversation.maxSkippedKeys {
            skipped.removeFirst(skipped.count - Conversation.maxSkippedKeys)
        }
    }

    private static func advance(_ chain: inout [UInt8], _ next: inout UInt32) throws -> [UInt8] {
        guard next < UInt32.max else {
            throw ReciprocityError(.messageOutsideWindow, "this receiving chain has used every message number")
        }
        let (messageKey, chainKey) = try ConversationKeys.chainStep(chain)
        chain = chainKey
        next += 1
        return messageKey
    }

    /// The message key of message `number` of the first chain of A's ratchet key `a0` (section 7 step 3): a
    /// skipped key, or the next on a chain already read, or a new chain from SK and X25519(B static, a0).
    mutating func openFirstChain(_ a0: [UInt8], _ number: UInt32) throws -> [UInt8] {
        guard let root = rootSecret, let own = staticPrivateKey else {
            throw ReciprocityError(.messageWrongSide, "only side A sends on a first chain: this envelope is A's own")
        }
        if let index = skipped.firstIndex(where: { $0.ratchetKey == a0 && $0.number == number }) {
            return skipped.remove(at: index).messageKey
        }
        var index = firstChains.firstIndex(where: { $0.ratchetKey == a0 })
        if index == nil {
            guard firstChains.count < Conversation.maxFirstChains else {
                throw ReciprocityError(
                    .messageOutsideWindow, "side A has started this conversation \(Conversation.maxFirstChains) times")
            }
            let dh = try X25519.sharedSecret(X25519.PrivateKeyHandle(rawPrivateKey: own), peer: a0)
            firstChains.append(
                FirstChain(ratchetKey: a0, chainKey: try ConversationKeys.firstChain(root: root, dh: dh), received: 0))
            index = firstChains.count - 1
        }
        var chain = firstChains[index!]
        guard number >= chain.received else {
            throw ReciprocityError(.messageReplayed, "message \(number) of this first chain was already read")
        }
        try skip(a0, &chain.chainKey, &chain.received, until: number)
        let messageKey = try Self.advance(&chain.chainKey, &chain.received)
        firstChains[index!] = chain
        return messageKey
    }

    /// The sending half of a DH ratchet step: a new own ratchet key and `KDF_RK(RK, X25519(new key, DHr))`.
    mutating func startSendingChain(with key: PrivateKey) throws {
        retiredOwnKeys.appendBounded(sendingPublicKey)
        sendingPrivateKey = [UInt8](key.rawRepresentation)
        sendingPublicKey = key.publicKey.bytes
        let secret = try X25519.sharedSecret(key.handle, peer: receivingKey!)
        (rootKey, sendingChain) = try ConversationKeys.rootStep(rootKey: rootKey, dh: secret)
    }

    /// A stored state must have keys and chains of 32 bytes; anything else is refused rather than trusted.
    func validate() throws {
        let keys =
            [token, ownStaticKey, rootKey, sendingPrivateKey, sendingPublicKey, sendingChain]
            + [receivingKey, receivingChain, firstRatchetKey, rootSecret, staticPrivateKey].compactMap { $0 }
            + skipped.flatMap { [$0.ratchetKey, $0.messageKey] } + retiredPeerKeys + retiredOwnKeys
            + firstChains.flatMap { [$0.ratchetKey, $0.chainKey] }
        let sideFields =
            side == .a
            ? rootSecret == nil && staticPrivateKey == nil && firstChains.isEmpty
            : firstRatchetKey == nil && rootSecret != nil && staticPrivateKey != nil
        guard keys.allSatisfy({ $0.count == 32 }), receivingChain == nil || receivingKey != nil, sideFields,
            firstChains.count <= Conversation.maxFirstChains, (try? ProgramID(program)) != nil
        else { throw ReciprocityError(.invalidConversationState, "the stored conversation is malformed") }
    }
}

extension [[UInt8]] {
    /// Appends, keeping only the last ``Conversation/maxRememberedKeys`` entries.
    fileprivate mutating func appendBounded(_ key: [UInt8]) {
        append(key)
        if count > Conversation.maxRememberedKeys { removeFirst(count - Conversation.maxRememberedKeys) }
    }
}
