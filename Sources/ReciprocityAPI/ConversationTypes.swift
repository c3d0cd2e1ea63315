public import Foundation

// The wire types of the conversation routes (Specs/openapi.yaml, "conversations"). Envelopes travel as
// base64url without padding; their shape is `MessageEnvelope`'s (ReciprocityCore), their content only the two
// members can read.

/// One of the caller's conversations: one per match, named by the match's token.
public struct ConversationInfo: Codable, Sendable, Equatable {
    /// The match's token, base64url: the `{token}` of the conversation's routes.
    public var token: String
    public var epoch: UInt32
    /// The counterpart's handle, as `GET /v1/matches` names them.
    public var handle: String
    /// Messages stored now (none once ended).
    public var messages: Int
    /// The sequence number of the last message sent (0 before the first): a client that has read up to a
    /// smaller one has something to read.
    public var lastSeq: Int64
    public var lastSentAt: Date?
    /// Ended by either member (the answer does not say which).
    public var ended: Bool

    public init(
        token: String, epoch: UInt32, handle: String, messages: Int, lastSeq: Int64, lastSentAt: Date?, ended: Bool
    ) {
        self.token = token
        self.epoch = epoch
        self.handle = handle
        self.messages = messages
        self.lastSeq = lastSeq
        self.lastSentAt = lastSentAt
        self.ended = ended
    }
}

public struct ConversationsResponse: Codable, Sendable, Equatable {
    public var conversations: [ConversationInfo]
    /// Pass as `after` to get the next page; absent on the last page.
    public var nextCursor: String?
    public init(conversations: [ConversationInfo], nextCursor: String? = nil) {
        self.conversations = conversations
        self.nextCursor = nextCursor
    }
}

/// One message of a conversation.
public struct MessageInfo: Codable, Sendable, Equatable {
    /// Assigned by the server, 1, 2, 3… in the order it stored them.
    public var seq: Int64
    /// Sent by the caller (else by the counterpart).
    public var fromMe: Bool
    /// The envelope as its sender posted it, base64url.
    public var envelope: String
    public var sentAt: Date
    public init(seq: Int64, fromMe: Bool, envelope: String, sentAt: Date) {
        self.seq = seq
        self.fromMe = fromMe
        self.envelope = envelope
        self.sentAt = sentAt
    }
}

public struct MessagesResponse: Codable, Sendable, Equatable {
    public var messages: [MessageInfo]
    public var ended: Bool
    /// More messages follow: ask again with `after` set to the last `seq`.
    public var more: Bool
    public init(messages: [MessageInfo], ended: Bool, more: Bool) {
        self.messages = messages
        self.ended = ended
        self.more = more
    }
}

public struct PostMessageRequest: Codable, Sendable, Equatable {
    /// base64url of a well-formed envelope.
    public var envelope: String
    public init(envelope: String) { self.envelope = envelope }
}

public struct PostMessageResponse: Codable, Sendable, Equatable {
    public var seq: Int64
    public var sentAt: Date
    public init(seq: Int64, sentAt: Date) {
        self.seq = seq
        self.sentAt = sentAt
    }
}

/// `POST /v1/conversations/{token}/report`: a member reports the other member of the conversation to the
/// operator, with the messages they choose to include, decrypted by their own client (in clear: the page says
/// so before sending).
public struct ReportRequest: Codable, Sendable, Equatable {
    public var reason: String
    public var messages: [ReportedMessage]?
    public init(reason: String, messages: [ReportedMessage]? = nil) {
        self.reason = reason
        self.messages = messages
    }
}

/// One message quoted in a report, as the reporter's client read it.
public struct ReportedMessage: Codable, Sendable, Equatable {
    public var seq: Int64
    public var fromMe: Bool
    public var text: String
    public init(seq: Int64, fromMe: Bool, text: String) {
        self.seq = seq
        self.fromMe = fromMe
        self.text = text
    }
}

/// A report as the operator sees it (`GET /v1/admin/programs/{program}/reports`).
public struct ReportInfo: Codable, Sendable, Equatable {
    public var reporter: String
    public var reported: String
    public var epoch: UInt32
    public var reason: String
    /// `fromMe` is the reporter's side.
    public var messages: [ReportedMessage]
    public var createdAt: Date
    public init(
        reporter: String, reported: String, epoch: UInt32, reason: String, messages: [ReportedMessage],
        createdAt: Date
    ) {
        self.reporter = reporter
        self.reported = reported
        self.epoch = epoch
        self.reason = reason
        self.messages = messages
        self.createdAt = createdAt
    }
}

public struct ReportsResponse: Codable, Sendable, Equatable {
    public var reports: [ReportInfo]
    public init(reports: [ReportInfo]) { self.reports = reports }
}
