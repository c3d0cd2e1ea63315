public import Foundation
public import ReciprocityCore

/// A program: one community whose members can mark each other.
public struct ProgramRecord: Sendable, Equatable {
    public let id: Int64
    public let name: ProgramID
    /// The most marks a member may hold pending at once.
    public let maxMarks: Int
    public let epoch: UInt32
    public let createdAt: Date
    /// The operator's description and code of conduct, as validated when set.
    public let about: ProgramAbout
    /// When the program moves to its next epoch by itself (a scheduled round), nil when none is scheduled. Any
    /// change of the epoch clears it.
    public let nextRoundAt: Date?
    /// Who scheduled that round, as the audit log names them (``AuditActor/name``): the `epoch-changed` entry
    /// written when it starts is theirs.
    public let nextRoundBy: String?

    public init(
        id: Int64, name: ProgramID, maxMarks: Int, epoch: UInt32, createdAt: Date, about: ProgramAbout = ProgramAbout(),
        nextRoundAt: Date? = nil, nextRoundBy: String? = nil
    ) {
        self.id = id
        self.name = name
        self.maxMarks = maxMarks
        self.epoch = epoch
        self.createdAt = createdAt
        self.about = about
        self.nextRoundAt = nextRoundAt
        self.nextRoundBy = nextRoundBy
    }
}

extension ProgramRecord {
    /// The audit entry of this program's scheduled round starting: `epoch-changed` to the next epoch, by whoever
    /// scheduled it, as a change by hand is audited by whoever made it.
    public func startedRound(at now: Date = Date()) -> AuditEvent {
        let scheduled = nextRoundAt.map { ", the round scheduled for \($0.formatted(.iso8601))" } ?? ""
        return AuditEvent(
            actor: nextRoundBy.flatMap(AuditActor.init(name:)) ?? .operator, action: .epochChanged,
            detail: "epoch \(epoch &+ 1)\(scheduled)", at: now)
    }
}

/// Whether a member may use the API.
public enum MemberStatus: String, Sendable, Codable, CaseIterable {
    case active
    case suspended
}

/// A member of one program.
public struct MemberRecord: Sendable, Equatable {
    public let id: Int64
    public let programID: Int64
    public let handle: Handle
    public let publicKey: PublicKey
    public let profile: Profile
    public let status: MemberStatus
    public let joinedAt: Date

    public init(
        id: Int64, programID: Int64, handle: Handle, publicKey: PublicKey, profile: Profile, status: MemberStatus,
        joinedAt: Date
    ) {
        self.id = id
        self.programID = programID
        self.handle = handle
        self.publicKey = publicKey
        self.profile = profile
        self.status = status
        self.joinedAt = joinedAt
    }
}

/// An invite, as stored: only the SHA-256 of its code.
public struct InviteRecord: Sendable, Equatable {
    public let programID: Int64
    public let usesLeft: Int
    public let expiresAt: Date?
    /// Its public id (``InviteID``).
    public let id: String

    public init(programID: Int64, usesLeft: Int, expiresAt: Date?, id: String) {
        self.programID = programID
        self.usesLeft = usesLeft
        self.expiresAt = expiresAt
        self.id = id
    }
}

/// One of a member's own pending marks.
public struct PendingMarkRecord: Sendable, Equatable {
    public let token: InterestToken
    public let epoch: UInt32
    public let createdAt: Date

    public init(token: InterestToken, epoch: UInt32, createdAt: Date) {
        self.token = token
        self.epoch = epoch
        self.createdAt = createdAt
    }
}

/// A match as one of its two members sees it.
public struct MatchRecord: Sendable, Equatable {
    public let token: InterestToken
    public let epoch: UInt32
    public let counterpartHandle: Handle
    public let counterpartKey: PublicKey
    /// The counterpart's confirmation tag, for the member's client to verify.
    public let counterpartTag: ConfirmationTag
    /// The counterpart's sealed note, stored as received.
    public let counterpartNote: SealedNote?
    public let matchedAt: Date

    public init(
        token: InterestToken, epoch: UInt32, counterpartHandle: Handle, counterpartKey: PublicKey,
        counterpartTag: ConfirmationTag, counterpartNote: SealedNote?, matchedAt: Date
    ) {
        self.token = token
        self.epoch = epoch
        self.counterpartHandle = counterpartHandle
        self.counterpartKey = counterpartKey
        self.counterpartTag = counterpartTag
        self.counterpartNote = counterpartNote
        self.matchedAt = matchedAt
    }
}

/// One entry of a program's key log.
public struct KeyLogRecord: Sendable, Equatable {
    public let index: Int
    public let entry: KeyLogEntry
    public let createdAt: Date

    public init(index: Int, entry: KeyLogEntry, createdAt: Date) {
        self.index = index
        self.entry = entry
        self.createdAt = createdAt
    }
}

/// One page of the directory, in handle order. There is no search: clients search their local replica
/// (`profileChanges`), so that no request says what a member looks for.
public struct DirectoryQuery: Sendable, Equatable {
    /// Handles after this one (the cursor of the previous page).
    public var after: String?
    public var limit: Int

    public init(after: String? = nil, limit: Int = 50) {
        self.after = after
        self.limit = limit
    }
}

/// Counts for metrics and the operator; aggregate only.
public struct StoreStatistics: Sendable, Equatable {
    public let programs: Int
    public let members: Int
    public let pendingMarks: Int
    public let matches: Int
    /// Bytes the database takes on disk, where the backend can tell.
    public let databaseBytes: Int?

    public init(programs: Int, members: Int, pendingMarks: Int, matches: Int, databaseBytes: Int? = nil) {
        self.programs = programs
        self.members = members
        self.pendingMarks = pendingMarks
        self.matches = matches
        self.databaseBytes = databaseBytes
    }
}

/// A storage failure the caller can act on. The message never contains a token, tag or credential.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for a class of storage failure, spelled as the problem code the server answers it
    /// with (the table is `ProblemCode` in ReciprocityAPI); `corrupt-data` is answered `internal`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A program of that name exists already.
        public static let programExists = Code(rawValue: "program-exists")
        /// No program has that name.
        public static let programNotFound = Code(rawValue: "program-not-found")
        /// The invite is unknown, used up, expired or for another program: one code for all, so none is told.
        public static let inviteInvalid = Code(rawValue: "invite-invalid")
        /// The handle, or one that looks like it, is a member's of the program.
        public static let handleTaken = Code(rawValue: "handle-taken")
        /// The public key is registered already, or was once.
        public static let keyTaken = Code(rawValue: "key-taken")
        /// The program has no member by that handle.
        public static let memberNotFound = Code(rawValue: "member-not-found")
        /// More pending marks and matches this epoch than the program allows.
        public static let quotaExceeded = Code(rawValue: "quota-exceeded")
        /// Marks for another epoch than the program's current one.
        public static let wrongEpoch = Code(rawValue: "wrong-epoch")
        /// A token that cannot be accepted from this member.
        public static let tokenUnavailable = Code(rawValue: "token-unavailable")
        /// The member has no pending mark with that token.
        public static let markNotFound = Code(rawValue: "mark-not-found")
        /// An argument out of range.
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        /// A time that is not RFC 3339 text, or beyond how far ahead it may be.
        public static let invalidTime = Code(rawValue: "invalid-time")
        /// A time that should be ahead has passed.
        public static let timePassed = Code(rawValue: "time-passed")
        /// Stored data that does not decode: the server's fault, never the caller's.
        public static let corruptData = Code(rawValue: "corrupt-data")
        /// Too many key rotations in the window (StoreLimits).
        public static let rotationLimited = Code(rawValue: "rotation-limited")
        /// A directory query ran past its time limit.
        public static let queryTooSlow = Code(rawValue: "query-too-slow")
        /// The member is suspended.
        public static let memberSuspended = Code(rawValue: "member-suspended")
        /// The program has no invite with that id.
        public static let inviteNotFound = Code(rawValue: "invite-not-found")
        /// No organizer has that name.
        public static let organizerNotFound = Code(rawValue: "organizer-not-found")
        /// An organizer of that name (or with that credential) exists already.
        public static let organizerExists = Code(rawValue: "organizer-exists")
        /// The caller is not one of the two members of a match with that token (whoever else's it may be).
        public static let conversationNotFound = Code(rawValue: "conversation-not-found")
        /// The conversation was ended by one of its members.
        public static let conversationEnded = Code(rawValue: "conversation-ended")
        /// More messages from this member in this conversation in 24 hours than the operator allows.
        public static let messagesLimited = Code(rawValue: "messages-limited")
        /// The conversation holds as many envelope bytes as the operator allows.
        public static let conversationFull = Code(rawValue: "conversation-full")
        /// An email address that is not of the accepted shape (`EmailAddress`).
        public static let invalidEmail = Code(rawValue: "invalid-email")
        /// A reminder of this kind was sent to the program in the last `NoticeLimits.reminderInterval`.
        public static let reminderLimited = Code(rawValue: "reminder-limited")
    }

    public let code: Code
    public let message: String
    /// Seconds after which the same request can succeed, for limits that lift with time.
    public var retryAfter: Int?

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// Bounds every backend enforces, so that one member's cost to the server and to the key log stays bounded.
public enum StoreLimits {
    /// Key rotations a member may make in `rotationWindow` seconds: each is a key-log entry forever.
    public static let rotationsPerWindow = 3
    public static let rotationWindow: TimeInterval = 24 * 3600
    /// A directory query is aborted after this long.
    public static let directoryQuerySeconds = 2.0
    /// How long matches of past epochs are kept (their members have had time to read them).
    public static let defaultMatchRetentionDays = 90
    /// How long audit entries are kept (a year and a month: a yearly review still finds last year's entries).
    public static let defaultAuditRetentionDays = 400
    /// Entries per page of a program's audit log, at most.
    public static let auditPageLimit = 500
    /// Matches per page of `GET /v1/matches`.
    public static let matchesPerPage = 100
}
