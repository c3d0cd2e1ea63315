public import Foundation
public import ReciprocityCore

// Conversations: one per match, between its two members only. The server stores each message as the opaque
// envelope it received (`MessageEnvelope`), with a sequence number it assigns, the sender and the time.
//
// Privacy rule (SECURITY.md): every conversation method first finds the match through the caller's own rows
// only (the match's `a_member_id` or `b_member_id` index, never the token's key), by (program, token, caller).
// A token of nobody's match, of a pending mark, of two other members' match or of another program's match
// is refused with the same `conversation-not-found` after the same single look-up, so no answer and no
// timing tells a third member whether two others matched.

/// The bounds of one conversation, set by the operator (`reciprocityd serve`'s settings table).
public struct ConversationLimits: Sendable, Equatable {
    /// Messages each member may send in one conversation in any 24 hours.
    public var messagesPerDay: Int
    /// Envelope bytes one conversation may hold, both members' together.
    public var storedBytes: Int

    public init(messagesPerDay: Int = 300, storedBytes: Int = 4 << 20) {
        self.messagesPerDay = messagesPerDay
        self.storedBytes = storedBytes
    }

    /// The window `messagesPerDay` counts in.
    public static let window: TimeInterval = 24 * 3600
    /// Messages per page of `GET /v1/conversations/{token}/messages`.
    public static let messagesPerPage = 200
}

/// A conversation as one of its two members sees it: the match's token and counterpart, and counts that let a
/// client tell what it has not read (messages after the last sequence number it read) without fetching them.
public struct ConversationRecord: Sendable, Equatable {
    public let token: InterestToken
    public let epoch: UInt32
    public let counterpartHandle: Handle
    /// Messages stored now (none once ended).
    public let messageCount: Int
    /// The sequence number of the last message ever sent (0 before the first); it survives the end.
    public let lastSeq: Int64
    public let lastSentAt: Date?
    /// Whether either member ended it; not who.
    public let ended: Bool

    public init(
        token: InterestToken, epoch: UInt32, counterpartHandle: Handle, messageCount: Int, lastSeq: Int64,
        lastSentAt: Date?, ended: Bool
    ) {
        self.token = token
        self.epoch = epoch
        self.counterpartHandle = counterpartHandle
        self.messageCount = messageCount
        self.lastSeq = lastSeq
        self.lastSentAt = lastSentAt
        self.ended = ended
    }
}

/// One stored message, as one of the two members sees it.
public struct MessageRecord: Sendable, Equatable {
    public let seq: Int64
    public let fromMe: Bool
    /// The envelope exactly as the sender posted it.
    public let envelope: Data
    public let sentAt: Date

    public init(seq: Int64, fromMe: Bool, envelope: Data, sentAt: Date) {
        self.seq = seq
        self.fromMe = fromMe
        self.envelope = envelope
        self.sentAt = sentAt
    }
}

/// A page of one conversation's messages.
public struct MessagePage: Sendable, Equatable {
    public let messages: [MessageRecord]
    public let ended: Bool

    public init(messages: [MessageRecord], ended: Bool) {
        self.messages = messages
        self.ended = ended
    }
}

/// What the server assigned to a posted message.
public struct PostedMessage: Sendable, Equatable {
    public let seq: Int64
    public let sentAt: Date
    /// The other member's id, for live delivery within the server (never sent to a client).
    public let counterpartID: Int64

    public init(seq: Int64, sentAt: Date, counterpartID: Int64) {
        self.seq = seq
        self.sentAt = sentAt
        self.counterpartID = counterpartID
    }
}

/// The conversation methods every backend implements (part of `ReciprocityStore`).
public protocol ConversationStore: Sendable {
    /// The member's conversations, one per match, in the order of `matches` (oldest match first), after the
    /// match with token `after` (one of theirs), at most `limit`.
    func conversations(memberID: Int64, after: InterestToken?, limit: Int) async throws -> [ConversationRecord]
    /// Messages of the caller's match `token` after sequence number `after`, in order, at most `limit`.
    /// Throws `conversationNotFound` unless the caller is one of the match's two members.
    func messages(memberID: Int64, programID: Int64, token: InterestToken, after: Int64, limit: Int) async throws
        -> MessagePage
    /// Stores `envelope` (already checked well formed) as the caller's next message. Throws
    /// `conversationNotFound` unless the caller is one of the match's members, then `conversationEnded`,
    /// `messagesLimited` (with `retryAfter`) or `conversationFull` beyond `limits`.
    func postMessage(
        memberID: Int64, programID: Int64, token: InterestToken, envelope: Data, limits: ConversationLimits,
        now: Date
    ) async throws -> PostedMessage
    /// Ends the conversation: deletes its stored messages (leaving no copy in the store's files where the
    /// backend can promise it) and refuses new ones. Ending an ended conversation changes nothing. Returns the
    /// other member's id, for live delivery.
    @discardableResult
    func endConversation(memberID: Int64, programID: Int64, token: InterestToken, now: Date) async throws -> Int64
}

/// A member's report of the other member of one of their conversations, for the operator.
public struct ReportRecord: Sendable, Equatable {
    public let reporterHandle: Handle
    public let reportedHandle: Handle
    public let epoch: UInt32
    /// Validated plain text.
    public let reason: String
    /// The messages the reporter chose to include, decrypted by their own client, as the server encoded them
    /// (JSON); the server cannot check them against the envelopes, which it cannot open.
    public let messages: String
    public let createdAt: Date

    public init(
        reporterHandle: Handle, reportedHandle: Handle, epoch: UInt32, reason: String, messages: String,
        createdAt: Date
    ) {
        self.reporterHandle = reporterHandle
        self.reportedHandle = reportedHandle
        self.epoch = epoch
        self.reason = reason
        self.messages = messages
        self.createdAt = createdAt
    }
}

/// Reports (part of `ReciprocityStore`).
public protocol ReportStore: Sendable {
    /// Stores the caller's report of the other member of the match `token`, replacing an earlier report of
    /// theirs on the same conversation (one per member per conversation; the replaced text leaves no copy where
    /// the backend can promise it, as a purge). Throws `conversationNotFound` unless the caller is one of the
    /// match's members, exactly as the conversation routes do.
    func report(memberID: Int64, programID: Int64, token: InterestToken, reason: String, messages: String, now: Date)
        async throws
    /// The program's reports, oldest first. Kept when the match is purged: they are the operator's record, kept
    /// as long as the audit log's entries and purged with them (`purge(now:matchRetention:auditRetention:)`).
    func reports(programID: Int64) async throws -> [ReportRecord]
}

extension StoreError {
    static let noConversation = "no conversation of yours has this token"

    /// The one refusal for every token the caller is not a member of, worded the same by every backend.
    public static var conversationNotFound: StoreError { StoreError(.conversationNotFound, noConversation) }

    public static var conversationEnded: StoreError {
        StoreError(.conversationEnded, "this conversation was ended; it takes no new messages")
    }

    /// The refusal of a message beyond `limits.messagesPerDay`, retryable once the oldest of the sender's
    /// messages in the window (at `oldest` milliseconds) leaves it.
    public static func messagesLimited(_ limits: ConversationLimits, oldest: Int64, now: Date) -> StoreError {
        var error = StoreError(
            .messagesLimited, "at most \(limits.messagesPerDay) messages from each member per conversation in 24 hours")
        let leaves = oldest + Int64(ConversationLimits.window * 1000) - StoredTime.millis(now)
        error.retryAfter = max(1, Int(leaves / 1000) + 1)
        return error
    }

    public static func conversationFull(_ limits: ConversationLimits) -> StoreError {
        StoreError(
            .conversationFull,
            "this conversation holds the most message bytes a conversation may (\(limits.storedBytes)); it takes no more"
        )
    }
}
