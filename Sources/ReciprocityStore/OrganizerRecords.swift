public import Foundation
public import ReciprocityCore

/// A person the operator lets run some programs through the admin API: a name, and the programs granted. The
/// credential is stored only as its SHA-256.
public struct OrganizerRecord: Sendable, Equatable {
    public let id: Int64
    /// 3-64 characters of a-z 0-9 . _ - (the rule of program names).
    public let name: String
    /// The programs this organizer may see and manage, by name.
    public let programs: [ProgramID]
    public let createdAt: Date

    public init(id: Int64, name: String, programs: [ProgramID], createdAt: Date) {
        self.id = id
        self.name = name
        self.programs = programs.sorted { $0.rawValue < $1.rawValue }
        self.createdAt = createdAt
    }

    /// An organizer's name follows the rule of program names, so that it is safe in a log line, a URL path and
    /// an audit entry's actor ("organizer:NAME"); otherwise `invalid-argument`.
    public static func validName(_ name: String) throws -> String {
        guard (try? ProgramID(name)) != nil else {
            throw StoreError(
                .invalidArgument,
                "an organizer's name must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
            )
        }
        return name
    }
}

/// What a state-changing admin action was, as the audit log names it (kebab-case, stable: consoles and scripts
/// read them).
public enum AuditAction: String, Sendable, Codable, CaseIterable {
    case programCreated = "program-created"
    case programDescribed = "program-described"
    case epochChanged = "epoch-changed"
    case roundScheduled = "round-scheduled"
    case roundCancelled = "round-cancelled"
    case quotaChanged = "quota-changed"
    case inviteCreated = "invite-created"
    case inviteRevoked = "invite-revoked"
    case memberSuspended = "member-suspended"
    case memberReinstated = "member-reinstated"
    case organizerGranted = "organizer-granted"
    case organizerRevoked = "organizer-revoked"
    case reminderSent = "reminder-sent"
}

/// Who acted, as the audit log names them: the operator through the API, the operator at the command line (on
/// the database directly), or an organizer by name.
public enum AuditActor: Sendable, Equatable {
    case `operator`
    case commandLine
    case organizer(String)

    public var name: String {
        switch self {
        case .operator: "operator"
        case .commandLine: "operator (command line)"
        case .organizer(let name): "organizer:\(name)"
        }
    }

    /// The actor a stored ``name`` stands for; nil for text no actor is named.
    public init?(name: String) {
        switch name {
        case Self.operator.name: self = .operator
        case Self.commandLine.name: self = .commandLine
        case _ where name.hasPrefix("organizer:") && name.count > 10: self = .organizer(String(name.dropFirst(10)))
        default: return nil
        }
    }
}

/// One audit entry to write, in the transaction of the change it records. The program is the one the change
/// is made to (an organizer's grant or revocation is one entry per program).
public struct AuditEvent: Sendable, Equatable {
    public let actor: AuditActor
    public let action: AuditAction
    /// What the action was done to: a member's handle, an invite's id, an organizer's name.
    public let subject: String?
    /// A short free text: the new epoch, an invite's uses, a reason for a suspension.
    public let detail: String?
    public let at: Date

    /// The most characters of a detail (a suspension's reason is at most 500; the rest are short).
    public static let maxDetail = 500

    public init(
        actor: AuditActor, action: AuditAction, subject: String? = nil, detail: String? = nil, at: Date = Date()
    ) {
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
        self.at = at
    }
}

/// One stored entry of a program's audit log.
public struct AuditEntry: Sendable, Equatable {
    /// The entry's number in its program's log: 1, 2, 3, … in the order written, counting only that program's
    /// entries (never another program's, which an organizer of this one may not learn of), never reused.
    public let id: Int64
    public let at: Date
    public let actor: String
    public let action: String
    public let subject: String?
    public let detail: String?

    public init(id: Int64, at: Date, actor: String, action: String, subject: String?, detail: String?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }
}

/// One invite as the invite list shows it: never its code, which only its SHA-256 stands for.
public struct InviteListing: Sendable, Equatable {
    /// Opaque and stable: base64url of the first 16 bytes of the code's SHA-256 (``inviteID(codeDigest:)``).
    public let id: String
    public let usesLeft: Int
    public let expiresAt: Date?
    public let createdAt: Date
    public let revokedAt: Date?

    public init(id: String, usesLeft: Int, expiresAt: Date?, createdAt: Date, revokedAt: Date?) {
        self.id = id
        self.usesLeft = usesLeft
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// An invite's public id: the first 16 bytes of its code's SHA-256, base64url. A hash of a 32-byte random code
/// says nothing of the code; the stored digest is the key, so the id needs no column of its own, and an invite
/// is found by the digest's range of the id's prefix, through the digest's unique index.
public enum InviteID {
    public static let prefixBytes = 16

    public static func of(codeDigest: Data) -> String { Base64URL.encode(codeDigest.prefix(prefixBytes)) }

    /// The smallest and largest digests with the id's prefix; nil for text that is not an id.
    public static func digestRange(_ id: String) -> (lower: Data, upper: Data)? {
        guard let prefix = try? Base64URL.decode(id, byteCount: prefixBytes, what: "invite id") else { return nil }
        return (Data(prefix) + Data(repeating: 0, count: 16), Data(prefix) + Data(repeating: 0xFF, count: 16))
    }
}
