public import Foundation

// The JSON bodies of the organizers' part of the admin API (#27): sessions, organizers, invite lists, the audit
// log. A field the contract gives as "X|null" is always present, null when absent, so a console reads one shape.

/// `GET /v1/admin/session`: who the credential belongs to and which programs it reaches.
public struct AdminSessionResponse: Codable, Sendable, Equatable {
    /// `operator` or `organizer`.
    public var role: String
    /// The organizer's name; null for the operator.
    public var name: String?
    public var programs: [String]

    public init(role: String, name: String?, programs: [String]) {
        self.role = role
        self.name = name
        self.programs = programs
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role, forKey: .role)
        try container.encode(name, forKey: .name)
        try container.encode(programs, forKey: .programs)
    }
}

/// `POST /v1/admin/organizers`.
public struct CreateOrganizerRequest: Codable, Sendable {
    public var name: String
    public var programs: [String]

    public init(name: String, programs: [String]) {
        self.name = name
        self.programs = programs
    }
}

/// An organizer as the operator sees it; the credential is never shown again.
public struct OrganizerInfo: Codable, Sendable, Equatable {
    public var name: String
    public var programs: [String]
    public var createdAt: Date

    public init(name: String, programs: [String], createdAt: Date) {
        self.name = name
        self.programs = programs
        self.createdAt = createdAt
    }
}

/// The answer to `POST /v1/admin/organizers`: the credential, shown this once (the server keeps its SHA-256).
public struct OrganizerCreatedResponse: Codable, Sendable {
    public var name: String
    public var programs: [String]
    public var credential: String
    public var createdAt: Date

    public init(name: String, programs: [String], credential: String, createdAt: Date) {
        self.name = name
        self.programs = programs
        self.credential = credential
        self.createdAt = createdAt
    }
}

/// `GET /v1/admin/organizers`.
public struct OrganizerListResponse: Codable, Sendable {
    public var organizers: [OrganizerInfo]
    public init(organizers: [OrganizerInfo]) { self.organizers = organizers }
}

/// One invite in `GET /v1/admin/programs/{program}/invites`: never its code.
public struct InviteListItem: Codable, Sendable, Equatable {
    public var id: String
    public var usesLeft: Int
    public var expiresAt: Date?
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, usesLeft: Int, expiresAt: Date?, createdAt: Date, revokedAt: Date?) {
        self.id = id
        self.usesLeft = usesLeft
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(usesLeft, forKey: .usesLeft)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(revokedAt, forKey: .revokedAt)
    }
}

/// `GET /v1/admin/programs/{program}/invites`, newest first.
public struct InviteListResponse: Codable, Sendable {
    public var invites: [InviteListItem]
    public init(invites: [InviteListItem]) { self.invites = invites }
}

/// The optional body of `POST .../suspend` and `.../reinstate`: a reason, for the audit log only.
public struct MemberStatusRequest: Codable, Sendable {
    /// At most ``maxReason`` characters.
    public var reason: String?
    public static let maxReason = 500

    public init(reason: String? = nil) { self.reason = reason }

    private enum CodingKeys: String, CodingKey { case reason }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reason = try container.decodePresent(String.self, forKey: .reason)
    }
}

/// One entry of a program's audit log.
public struct AuditEntryInfo: Codable, Sendable, Equatable {
    public var id: Int64
    public var at: Date
    /// `operator`, `operator (command line)` or `organizer:NAME`.
    public var actor: String
    /// Kebab-case and stable: `program-created`, `invite-revoked`, `member-suspended`, ...
    public var action: String
    public var subject: String?
    public var detail: String?

    public init(id: Int64, at: Date, actor: String, action: String, subject: String?, detail: String?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(at, forKey: .at)
        try container.encode(actor, forKey: .actor)
        try container.encode(action, forKey: .action)
        try container.encode(subject, forKey: .subject)
        try container.encode(detail, forKey: .detail)
    }
}

/// `GET /v1/admin/programs/{program}/audit?limit=N&before=ID`: newest first; `next` is the `before` of the next
/// page, null on the last.
public struct AuditLogResponse: Codable, Sendable, Equatable {
    public var entries: [AuditEntryInfo]
    public var next: Int64?

    public init(entries: [AuditEntryInfo], next: Int64?) {
        self.entries = entries
        self.next = next
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
        try container.encode(next, forKey: .next)
    }
}

/// `POST /v1/admin/programs/{program}/reminders`: how many members with an email address the reminder was queued
/// for (never who).
public struct ReminderResponse: Codable, Sendable, Equatable {
    public var kind: String
    public var queued: Int
    public init(kind: String, queued: Int) {
        self.kind = kind
        self.queued = queued
    }
}
