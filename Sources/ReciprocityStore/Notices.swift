public import Foundation
public import ReciprocityCore

// Email notices (opt-in). A member may give an address; it is kept in clear on their own row (the operator then
// knows it) and read back only by that member and by the notifier. Notices are queued durably in the database,
// off the marking path: a background notifier finds matches it has not yet noticed and queues one notice per
// member with an address, then sends them one at a time. A notice row holds no address and no name: the
// address is read from the member's row when it is sent, so removing it stops every notice still queued.

/// An email address as a member gives it: checked for shape only (no look-up, no confirmation).
public enum EmailAddress {
    /// The longest address accepted (RFC 5321 section 4.5.3.1.3 allows 254 in a path).
    public static let maxLength = 254

    /// `text` trimmed of surrounding white space, if it is 3 to 254 characters with exactly one `@` that has
    /// text on both sides, and no space or control character; otherwise `invalid-email`.
    public static func validated(_ text: String) throws -> String {
        let address = text.trimmingCharacters(in: .whitespaces)
        let refuse = { (why: String) in StoreError(.invalidEmail, "the email address \(why)") }
        guard !address.isEmpty else { throw refuse("is empty") }
        guard address.count <= maxLength else { throw refuse("is longer than \(maxLength) characters") }
        guard
            !address.unicodeScalars.contains(where: {
                $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F
                    || $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
            })
        else { throw refuse("has a space or a control character") }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw refuse("must have exactly one @") }
        guard !parts[0].isEmpty, !parts[1].isEmpty else { throw refuse("needs text before and after the @") }
        guard !address.contains(where: { "<>()[],;:\\\"".contains($0) }) else {
            throw refuse("has a character an address may not hold here (<>()[],;:\\\")")
        }
        return address
    }
}

/// What a notice says. Its wording (the subject and body the notifier writes) never names the other person.
public enum NoticeKind: String, Sendable, CaseIterable, Codable {
    /// "You have a new match in PROGRAM."
    case match
    /// "You have a new message from a match in PROGRAM." (never whose, never its text)
    case message
    /// The organizer's reminder to complete one's profile.
    case completeProfile = "complete-profile"
    /// "The current round of PROGRAM closes at TIME.", to every active member with an address, once per
    /// scheduled round (``NoticeStore/queueRoundClosingNotices(now:lead:)``).
    case roundClosing = "round-closing"
}

/// A queued notice, claimed for sending: the row id, the random part of its Message-ID, what it says, the
/// program's name and the member's address as it is now.
public struct NoticeDelivery: Sendable, Equatable {
    public let id: Int64
    /// A random value given at the notice's first claim and kept for every resend of it (``NoticeStore``): the
    /// Message-ID is made from it, never from the row id, which counts every notice the server queued.
    public let messageID: String
    public let kind: NoticeKind
    public let program: ProgramID
    public let email: String
    /// How many sends of it failed before.
    public let attempts: Int
    /// For a `round-closing` notice, when the program's round closes as scheduled now.
    public let roundClosesAt: Date?

    public init(
        id: Int64, messageID: String, kind: NoticeKind, program: ProgramID, email: String, attempts: Int,
        roundClosesAt: Date? = nil
    ) {
        self.id = id
        self.messageID = messageID
        self.kind = kind
        self.program = program
        self.email = email
        self.attempts = attempts
        self.roundClosesAt = roundClosesAt
    }

    /// A fresh random Message-ID part (122 random bits), for a notice's first claim.
    public static func newMessageID() -> String { UUID().uuidString.lowercased() }
}

/// The members' email addresses and the durable notice queue.
///
/// A notice is `queued` (with the time it is due), then `sending` (claimed, with the time of the claim) just
/// before its SMTP transaction, then `sent`. A claim older than the lease is claimable again: that is how a
/// notice whose sender died mid-transaction is sent again, at most once more per lease, with the same
/// Message-ID (random, stored at the first claim).
public protocol NoticeStore: Sendable {
    /// The member's address, nil when they gave none.
    func email(memberID: Int64) async throws -> String?
    /// Sets the member's address (`EmailAddress.validated`), or removes it for nil, which also deletes their
    /// notices not yet sent.
    func setEmail(memberID: Int64, email: String?) async throws
    /// Queues a `match` notice for each member with an address of each match made since `since` that has not
    /// had its notices queued, due at `now` plus a random delay of up to `spread` seconds each (so that the two
    /// notices of one match do not leave together); returns how many were queued.
    func queueMatchNotices(since: Date, now: Date, spread: TimeInterval) async throws -> Int
    /// Queues a `message` notice for each member with an address who, in a conversation not ended, has a
    /// message from the other member sent since `since` and after the last message notice of that conversation,
    /// at most one per conversation per member per `NoticeLimits.messageNoticeInterval`; returns how many.
    func queueMessageNotices(since: Date, now: Date, spread: TimeInterval) async throws -> Int
    /// Queues `kind` for each of `memberIDs` (members of the program) who has an address and writes a
    /// `reminder-sent` audit entry with the count only, atomically; returns the count. Refused
    /// (`StoreError.reminderLimited`) when the program's audit log holds a `reminder-sent` of `kind` from the
    /// last `NoticeLimits.reminderInterval`: one reminder per kind per program per 24 hours, decided in the same
    /// transaction, so two organizers at once cannot both send one.
    func queueReminder(programID: Int64, memberIDs: [Int64], kind: NoticeKind, actor: AuditActor, now: Date)
        async throws -> Int
    /// Queues a `round-closing` notice, due now, for each active member with an address of each program whose
    /// scheduled round starts after `now` and within `lead` seconds of it, once per round (epoch), however often
    /// it is rescheduled: the program's row records the epoch noticed in the same transaction, by a conditional
    /// update, so that of several processes one queues them. Returns how many.
    func queueRoundClosingNotices(now: Date, lead: TimeInterval) async throws -> Int
    /// Claims the oldest due notice whose member still has an address (notices of members without one are
    /// deleted, as are `round-closing` notices whose round is no longer scheduled after `now`; those held while
    /// their round is cancelled, `NoticeLimits.heldDueAt`, are not due), marking it
    /// `sending` at `now` and giving it a random Message-ID part unless it has one; nil when none is due.
    func claimNotice(now: Date, lease: TimeInterval) async throws -> NoticeDelivery?
    /// Marks a claimed notice sent.
    func noticeSent(id: Int64, now: Date) async throws
    /// Puts a claimed notice back in the queue, due at `retryAt`, one more failed attempt counted.
    func noticeFailed(id: Int64, retryAt: Date) async throws
    /// Deletes a notice that can never be sent (the relay refused the address for good).
    func dropNotice(id: Int64) async throws
    /// Counts of the queue by state (`queued`, `sending`, `sent`), for tests and the operator.
    func noticeCounts() async throws -> [String: Int]
}

/// Bounds of the notice queue.
public enum NoticeLimits {
    /// How long a claim holds before the notice may be sent again: longer than any SMTP transaction may take.
    public static func lease(smtpTimeout: TimeInterval) -> TimeInterval { 2 * smtpTimeout + 5 }
    /// Sent notices are deleted after this long (kept that long so a resend is recognisable by its id).
    public static let sentRetention: TimeInterval = 7 * 86_400
    /// A match made longer ago than this when the notifier first sees it gets no notice (so that turning
    /// notices on does not mail every old match).
    public static let matchLookback: TimeInterval = 86_400
    /// At most one message notice per conversation per member in this long, however many messages arrive.
    public static let messageNoticeInterval: TimeInterval = 3600
    /// How long before a scheduled round closes its `round-closing` notice is queued, unless the operator sets
    /// another (`--round-notice-hours`).
    public static let defaultRoundNoticeLead: TimeInterval = 24 * 3600
    /// The `due_at` (stored milliseconds) of a `round-closing` notice held while its round is cancelled: never
    /// due. Scheduling the round again in the same epoch gives it back its first due time; a new epoch deletes it.
    public static let heldDueAt = Int64.max
    /// At most one organizer's reminder of each kind per program in this long (shorter than the shortest audit
    /// retention, a day, so the audit log that records the reminders always holds the last one).
    public static let reminderInterval: TimeInterval = 86_400
}

extension StoreError {
    /// The refusal of a reminder sent too soon after the last of its kind, at `last` (stored milliseconds);
    /// retryable when that one is `NoticeLimits.reminderInterval` old.
    public static func reminderLimited(_ kind: NoticeKind, last: Int64, now: Date) -> StoreError {
        var error = StoreError(
            .reminderLimited, "a '\(kind.rawValue)' reminder was sent to this program in the last 24 hours; one a day")
        let lifts = last + Int64(NoticeLimits.reminderInterval * 1000) - StoredTime.millis(now)
        error.retryAfter = max(1, Int(lifts / 1000) + 1)
        return error
    }
}
