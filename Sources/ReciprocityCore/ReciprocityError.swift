/// An error from the Reciprocity protocol core: a stable machine-readable ``code``, a human ``reason``
/// that never contains secret material, and where it was raised.
public struct ReciprocityError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable identifier for a class of failure. Test vectors, the HTTP API and the CLI use these strings.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A key or value has the wrong number of bytes.
        public static let invalidLength = Code(rawValue: "invalidLength")
        /// A public key is not the canonical encoding of a field element (top bit set, or u >= 2^255 - 19).
        public static let nonCanonicalPublicKey = Code(rawValue: "nonCanonicalPublicKey")
        /// A public key is a point of small order: the shared secret would be all zero.
        public static let lowOrderPublicKey = Code(rawValue: "lowOrderPublicKey")
        /// A handle does not match `[a-z0-9][a-z0-9._-]{2,63}`.
        public static let invalidHandle = Code(rawValue: "invalidHandle")
        /// A program name does not match `[a-z0-9][a-z0-9._-]{2,63}`.
        public static let invalidProgram = Code(rawValue: "invalidProgram")
        /// The relation is unknown, or the role does not belong to the relation.
        public static let invalidRole = Code(rawValue: "invalidRole")
        /// A member tried to mark themself (same handle or same public key).
        public static let selfMark = Code(rawValue: "selfMark")
        /// A wire value is not canonical unpadded base64url of the expected length.
        public static let invalidEncoding = Code(rawValue: "invalidEncoding")
        /// A sealed note does not authenticate: wrong key, wrong token, or tampered.
        public static let noteAuthenticationFailed = Code(rawValue: "noteAuthenticationFailed")
        /// A sealed note opened, but its padded plaintext is malformed.
        public static let invalidNotePadding = Code(rawValue: "invalidNotePadding")
        /// A note is longer than the padded size allows.
        public static let noteTooLong = Code(rawValue: "noteTooLong")
        /// A message to send is longer than the largest padded size holds (4,094 bytes of UTF-8).
        public static let messageTooLong = Code(rawValue: "messageTooLong")
        /// A conversation envelope has the wrong length or version, or its ratchet key is not a valid public key.
        public static let messageMalformed = Code(rawValue: "messageMalformed")
        /// A conversation envelope does not authenticate: altered, or moved from another match, epoch or chain.
        public static let messageAuthenticationFailed = Code(rawValue: "messageAuthenticationFailed")
        /// A conversation envelope authenticates, but its padded plaintext is malformed.
        public static let invalidMessagePadding = Code(rawValue: "invalidMessagePadding")
        /// A conversation envelope whose message was already read (its key is gone): a replay.
        public static let messageReplayed = Code(rawValue: "messageReplayed")
        /// A conversation envelope further ahead of the last one read than the skipped-key window allows.
        public static let messageOutsideWindow = Code(rawValue: "messageOutsideWindow")
        /// A conversation envelope carries one of the receiver's own ratchet keys: its own message, reflected.
        public static let messageWrongSide = Code(rawValue: "messageWrongSide")
        /// A stored conversation state cannot be read or is malformed.
        public static let invalidConversationState = Code(rawValue: "invalidConversationState")
        /// A profile field breaks its rule.
        public static let invalidProfile = Code(rawValue: "invalidProfile")
        /// A program's description or code of conduct breaks its rule (`ProgramAbout`).
        public static let invalidText = Code(rawValue: "invalidText")
        /// A key-log entry breaks the directory's rules (a second live key for a handle, a key live under two
        /// handles, a leave or rotation of a handle that is not live), or has an unknown event.
        public static let invalidLogEntry = Code(rawValue: "invalidLogEntry")
        /// A signed tree head's signature does not verify with the log key.
        public static let invalidSignature = Code(rawValue: "invalidSignature")
        /// A signed tree head is older than a client accepts (24 hours by default): a frozen view of the log.
        public static let staleHead = Code(rawValue: "staleHead")
        /// A signed tree head is dated further ahead of the client's clock than the allowed skew (5 minutes by
        /// default): a head signed for the future would otherwise stay fresh until then.
        public static let futureHead = Code(rawValue: "futureHead")
        /// An epoch outside 0...2^32 - 1.
        public static let invalidEpoch = Code(rawValue: "invalidEpoch")
        /// A test-vector file cannot be read or does not have the expected shape.
        public static let malformedVectors = Code(rawValue: "malformedVectors")
        /// An OpenSSL call failed for a reason that is not the caller's input.
        public static let cryptoFailure = Code(rawValue: "cryptoFailure")
    }

    public let code: Code
    public let reason: String
    public let file: String
    public let line: UInt

    public init(_ code: Code, _ reason: String, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { "\(code): \(reason)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code && lhs.reason == rhs.reason }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(reason)
    }
}
