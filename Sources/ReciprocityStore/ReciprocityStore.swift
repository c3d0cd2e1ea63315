public import Foundation
public import ReciprocityCore

/// Everything the server keeps. Implementations must make each method atomic, serialise writes so that two
/// members submitting the same token at once produce exactly one match, and never store anything that names
/// or points to the target of a mark.
public protocol ReciprocityStore: ConversationStore, ReportStore, NoticeStore {
    // Programs. Every change that takes an `audit` event writes it to the program's audit log in the change's
    // own transaction: both are stored, or neither.
    func createProgram(name: ProgramID, maxMarks: Int, epoch: UInt32, audit: AuditEvent?) async throws
        -> ProgramRecord
    func program(named name: ProgramID) async throws -> ProgramRecord?
    func program(id: Int64) async throws -> ProgramRecord?
    func programs() async throws -> [ProgramRecord]
    /// Moves a program to a new epoch and deletes every pending mark of earlier epochs; clears a scheduled round.
    func setEpoch(program: ProgramID, epoch: UInt32, audit: AuditEvent?) async throws -> ProgramRecord
    /// Schedules the program's next round (its move to epoch + 1) at `at`, or cancels it for nil, remembering
    /// `audit`'s actor as the one who scheduled it, and deletes the program's `round-closing` notices still queued
    /// (they told of the old time). `invalid-argument` when the program is in the last epoch.
    func scheduleRound(program: ProgramID, at: Date?, audit: AuditEvent?) async throws -> ProgramRecord
    /// Starts every scheduled round due at `now` exactly as `setEpoch` to epoch + 1 does, with an `epoch-changed`
    /// audit entry by whoever scheduled it. Each is one conditional update in its own transaction, so that of
    /// several processes on one database exactly one starts it. Returns the programs moved, as they are now.
    func startDueRounds(now: Date) async throws -> [ProgramRecord]
    /// Replaces the program's description and code of conduct with `about.validated()` (the one rule for both).
    func setAbout(program: ProgramID, about: ProgramAbout, audit: AuditEvent?) async throws -> ProgramRecord
    /// Sets the program's quota, 1 to 10000 (`invalid-argument` otherwise). Marks already stored stay; the new
    /// quota applies from the next submission.
    func setMaxMarks(program: ProgramID, maxMarks: Int, audit: AuditEvent?) async throws -> ProgramRecord

    // Invites
    func createInvite(program: ProgramID, codeDigest: Data, uses: Int, expiresAt: Date?, audit: AuditEvent?)
        async throws -> InviteRecord
    /// The program's invites, newest first, including used-up, expired and revoked ones until housekeeping
    /// deletes them.
    func invites(programID: Int64) async throws -> [InviteListing]
    /// Marks the program's invite `id` (``InviteID``) revoked: a join with it is refused like one with an unknown
    /// code. `invite-not-found` when the program has no such invite; revoking twice keeps the first time.
    func revokeInvite(program: ProgramID, id: String, audit: AuditEvent?) async throws -> InviteListing

    // Organizers
    /// Adds an organizer with the programs granted (each must exist) and an `organizer-granted` entry in each
    /// program's audit log by `actor`, atomically. `organizer-exists` when the name or credential is taken.
    func createOrganizer(name: String, credentialDigest: Data, programs: [ProgramID], actor: AuditActor, now: Date)
        async throws -> OrganizerRecord
    /// Every organizer, by name.
    func organizers() async throws -> [OrganizerRecord]
    /// The organizer whose credential has this SHA-256.
    func organizer(credentialDigest: Data) async throws -> OrganizerRecord?
    /// Deletes the organizer (their credential stops working at once) and writes `organizer-revoked` to each of
    /// their programs' audit logs, atomically; `organizer-not-found` when there is none of that name.
    func revokeOrganizer(name: String, actor: AuditActor, now: Date) async throws -> OrganizerRecord

    // Audit log
    /// The program's audit entries numbered below `before` (all when nil), newest first, at most `limit`. An
    /// entry's number (`AuditEntry.id`) counts that program's entries only.
    func auditLog(programID: Int64, before: Int64?, limit: Int) async throws -> [AuditEntry]

    // Members
    /// Consumes one use of a valid, unexpired invite of `program` and adds the member, atomically.
    func join(
        program: ProgramID, inviteDigest: Data, handle: Handle, publicKey: PublicKey, profile: Profile,
        credentialDigest: Data, now: Date
    ) async throws -> (MemberRecord, ProgramRecord)
    /// The member whose credential has this SHA-256, with their program.
    func authenticate(credentialDigest: Data) async throws -> (MemberRecord, ProgramRecord)?
    func replaceCredential(memberID: Int64, credentialDigest: Data) async throws
    /// Replaces the member's public key, logs the rotation and deletes the member's pending marks (derived
    /// from the old key, they can no longer match), atomically.
    func rotateKey(memberID: Int64, publicKey: PublicKey, now: Date) async throws -> MemberRecord
    func updateProfile(memberID: Int64, profile: Profile) async throws -> MemberRecord
    func member(programID: Int64, handle: Handle) async throws -> MemberRecord?
    /// Active members after `query.after`, ordered by handle, at most `query.limit`.
    func directory(programID: Int64, query: DirectoryQuery) async throws -> [MemberRecord]
    /// The program's directory changes after `since`, in version (commit) order, at most `limit`: each handle
    /// once, at its latest state, without a profile once it left the directory. No cursor, or one this
    /// database cannot continue from (`DirectoryCursor.continuation`), lists the active members from the
    /// start with `reset` set.
    func profileChanges(programID: Int64, since: DirectoryCursor?, limit: Int) async throws -> ProfileChangesPage
    /// Every member of a program, any status, ordered by handle (for the operator).
    func members(programID: Int64) async throws -> [MemberRecord]
    func setStatus(program: ProgramID, handle: Handle, status: MemberStatus, audit: AuditEvent?) async throws
        -> MemberRecord

    // Key log
    /// Up to `limit` entries of the program's key log from index `from`, in order. Joins, reinstatements and
    /// suspensions append entries in the same transaction as the change itself.
    func keyLog(programID: Int64, from: Int, limit: Int) async throws -> [KeyLogRecord]

    // Marks
    /// Stores a batch for `epoch`, all or nothing, and returns each item's state in order. Every refusal
    /// (wrong epoch, quota, a token matched between two others) is decided before any other member's pending
    /// mark is read, and does not depend on one: every new token counts against the quota, which limits a
    /// member's pending marks plus the matches they made in the epoch. Marks are scoped by program and epoch.
    /// `withdrawing` names the member's own pending marks of the epoch to delete first, in the same transaction
    /// (tokens they do not hold are ignored), so that one request replaces marks without the count moving.
    /// The answer also names the matches this submission made (``MarkSubmission/newMatches``).
    func submitMarks(
        memberID: Int64, programID: Int64, epoch: UInt32, marks: [Mark], withdrawing: [InterestToken], now: Date
    ) async throws -> MarkSubmission
    func pendingMarks(memberID: Int64) async throws -> [PendingMarkRecord]
    /// Deletes one of the member's own pending marks; false when there was none. Touches only the member's
    /// own rows, and leaves no copy of the token in the store's files.
    func withdraw(memberID: Int64, token: InterestToken) async throws -> Bool
    /// The member's matches, oldest first, after the match with token `after` (one of theirs), at most `limit`.
    func matches(memberID: Int64, after: InterestToken?, limit: Int) async throws -> [MatchRecord]
    /// How many matches of each epoch the program holds (epochs without one are absent). Reads matches only,
    /// never a pending mark; housekeeping deletes the matches of past epochs after their retention, so an old
    /// epoch's count can fall to nothing.
    func matchCounts(programID: Int64) async throws -> [UInt32: Int]

    // Operations
    func statistics() async throws -> StoreStatistics
    /// Throws unless the store can take a write right now (readiness).
    func checkWritable() async throws
    /// Deletes expired, used-up or revoked invites, pending marks of epochs other than their program's current
    /// one, matches of such epochs made more than `matchRetention` seconds ago, the conversations (with their
    /// messages) of matches that are gone, and audit entries and members' reports older than `auditRetention`
    /// seconds (a report is the operator's record, as the suspension it may lead to is).
    func purge(now: Date, matchRetention: TimeInterval, auditRetention: TimeInterval) async throws -> PurgeResult
}

extension ReciprocityStore {
    // The changes without an audit entry: for tests and for the store's own callers that are not an admin's
    // action. Every admin action goes through `AdminOperations`, which always passes one.

    public func createProgram(name: ProgramID, maxMarks: Int, epoch: UInt32) async throws -> ProgramRecord {
        try await createProgram(name: name, maxMarks: maxMarks, epoch: epoch, audit: nil)
    }

    public func setEpoch(program: ProgramID, epoch: UInt32) async throws -> ProgramRecord {
        try await setEpoch(program: program, epoch: epoch, audit: nil)
    }

    public func setAbout(program: ProgramID, about: ProgramAbout) async throws -> ProgramRecord {
        try await setAbout(program: program, about: about, audit: nil)
    }

    public func createInvite(program: ProgramID, codeDigest: Data, uses: Int, expiresAt: Date?) async throws
        -> InviteRecord
    {
        try await createInvite(program: program, codeDigest: codeDigest, uses: uses, expiresAt: expiresAt, audit: nil)
    }

    public func setStatus(program: ProgramID, handle: Handle, status: MemberStatus) async throws -> MemberRecord {
        try await setStatus(program: program, handle: handle, status: status, audit: nil)
    }

    /// Purges with the default audit retention.
    public func purge(now: Date, matchRetention: TimeInterval) async throws -> PurgeResult {
        try await purge(
            now: now, matchRetention: matchRetention,
            auditRetention: TimeInterval(StoreLimits.defaultAuditRetentionDays) * 86_400)
    }
}

extension ReciprocityStore {
    /// Stores a batch with no withdrawal; each item's state.
    public func submitMarks(memberID: Int64, programID: Int64, epoch: UInt32, marks: [Mark], now: Date) async throws
        -> [MarkOutcome]
    {
        try await submitMarks(
            memberID: memberID, programID: programID, epoch: epoch, marks: marks, withdrawing: [], now: now
        ).outcomes
    }
}

/// What one housekeeping pass deleted.
public struct PurgeResult: Sendable, Equatable {
    public let invites: Int
    public let marks: Int
    public let matches: Int
    public let auditEntries: Int
    public let conversations: Int
    public let reports: Int

    public init(
        invites: Int, marks: Int, matches: Int, auditEntries: Int = 0, conversations: Int = 0, reports: Int = 0
    ) {
        self.invites = invites
        self.marks = marks
        self.matches = matches
        self.auditEntries = auditEntries
        self.conversations = conversations
        self.reports = reports
    }
}

/// The state of one submitted mark.
public enum MarkOutcome: String, Sendable, Equatable {
    case pending
    case matched
}
