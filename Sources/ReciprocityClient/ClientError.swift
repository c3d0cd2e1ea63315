public import ReciprocityAPI

/// A failure talking to the server, phrased for a member: one sentence, no secrets.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    /// A stable identifier for a class of failure, in kebab-case: a problem code from the server
    /// (`quota-exceeded`, ...; the table is `ProblemCode`), `http-<status>` for an answer that is not a problem,
    /// or one of the client's own codes below.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ problem: ProblemCode) { rawValue = problem.rawValue }
        public var description: String { rawValue }

        /// The server answered with this HTTP status and no problem body.
        public static func http(_ status: UInt) -> Code { Code(rawValue: "http-\(status)") }

        // Problem codes the client acts on, or raises itself for the same refusal (invalid-argument).
        public static let invalidArgument = Code(.invalidArgument)
        public static let markNotFound = Code(.markNotFound)
        public static let proofNotFound = Code(.proofNotFound)
        public static let quotaExceeded = Code(.quotaExceeded)

        /// A conversation payload this client cannot show or send (Specs/messages.md section 9).
        public static let invalidPayload = Code(rawValue: "invalid-payload")
        /// No verified match with that handle has a conversation here.
        public static let noConversation = Code(rawValue: "no-conversation")
        /// The member has more than one conversation with that handle, and the command did not say which.
        public static let ambiguousConversation = Code(rawValue: "ambiguous-conversation")
        /// Another command of this device is using the membership's state (``StateLock``).
        public static let stateBusy = Code(rawValue: "state-busy")
        /// No meeting of that conversation fits the command.
        public static let noMeeting = Code(rawValue: "no-meeting")
        /// This device already holds a membership.
        public static let alreadyJoined = Code(rawValue: "already-joined")
        /// The server's list of web asset hashes is not what the API describes.
        public static let badManifest = Code(rawValue: "bad-manifest")
        /// The server answered outside the API.
        public static let badResponse = Code(rawValue: "bad-response")
        /// The private key file does not hold a valid key.
        public static let corruptKey = Code(rawValue: "corrupt-key")
        /// The membership's state file, or a record in it, is not valid.
        public static let corruptState = Code(rawValue: "corrupt-state")
        /// The key was replaced, but not the credential: the rotation must be finished.
        public static let credentialNotRotated = Code(rawValue: "credential-not-rotated")
        /// The server says the program is in an epoch before one this device saw.
        public static let epochRollback = Code(rawValue: "epoch-rollback")
        /// A file holding a secret may be read by others.
        public static let insecurePermissions = Code(rawValue: "insecure-permissions")
        /// A key backup opened, but does not hold a membership this program can use.
        public static let invalidBackup = Code(rawValue: "invalid-backup")
        /// The server's address is not a URL the client accepts.
        public static let invalidServerUrl = Code(rawValue: "invalid-server-url")
        /// A member's key is not the one this device pinned.
        public static let keyChanged = Code(rawValue: "key-changed")
        /// The key log holds a key under the member's handle that this device did not make.
        public static let logForeignKey = Code(rawValue: "log-foreign-key")
        /// The server's key log is not an extension of the one verified before.
        public static let logFork = Code(rawValue: "log-fork")
        /// A tree head is dated too far ahead of this clock.
        public static let logFutureHead = Code(rawValue: "log-future-head")
        /// A key-log entry is malformed or breaks the directory's rules.
        public static let logInvalidEntry = Code(rawValue: "log-invalid-entry")
        /// A tree head is malformed or for another program.
        public static let logInvalidHead = Code(rawValue: "log-invalid-head")
        /// The server's log public key is malformed.
        public static let logInvalidKey = Code(rawValue: "log-invalid-key")
        /// The server's log public key is not the pinned one.
        public static let logKeyChanged = Code(rawValue: "log-key-changed")
        /// The server does not serve the entries its head covers.
        public static let logMissingEntries = Code(rawValue: "log-missing-entries")
        /// The key log does not hold a key as live where it must.
        public static let logMissingKey = Code(rawValue: "log-missing-key")
        /// The server's key log is shorter than one this device verified.
        public static let logRollback = Code(rawValue: "log-rollback")
        /// A tree head is not signed by the pinned log key.
        public static let logSignature = Code(rawValue: "log-signature")
        /// A served tree head is older than a client accepts.
        public static let logStaleHead = Code(rawValue: "log-stale-head")
        /// The server publishes no list of web asset hashes.
        public static let noManifest = Code(rawValue: "no-manifest")
        /// No membership in this folder.
        public static let noMembership = Code(rawValue: "no-membership")
        /// A match's counterpart has no pinned key to open their note with.
        public static let noPinnedKey = Code(rawValue: "no-pinned-key")
        /// A membership file is missing: the device has not joined.
        public static let noState = Code(rawValue: "no-state")
        /// No pending interest of that kind in that member.
        public static let noSuchInterest = Code(rawValue: "no-such-interest")
        /// The program now allows fewer marks than this device keeps pending.
        public static let quotaLowered = Code(rawValue: "quota-lowered")
        /// A key rotation was interrupted and must be finished first.
        public static let rotationUnfinished = Code(rawValue: "rotation-unfinished")
        /// A member cannot mark themself.
        public static let selfMark = Code(rawValue: "self-mark")
        /// The server's pages of matches do not end.
        public static let serverPages = Code(rawValue: "server-pages")
        /// An answer came in a content coding that does not decode.
        public static let undecodable = Code(rawValue: "undecodable")
        /// No member by that handle is live in the key log.
        public static let unknownHandle = Code(rawValue: "unknown-handle")
        /// The server cannot be reached.
        public static let unreachable = Code(rawValue: "unreachable")
        /// A membership file cannot be read.
        public static let unreadable = Code(rawValue: "unreadable")
        /// A file cannot be written.
        public static let writeFailed = Code(rawValue: "write-failed")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
