public import Foundation
public import ReciprocityCore

/// Where a directory replica stands in its program's changes (`GET /v1/profiles`): the program's directory
/// generation and the last version the replica holds. Every join, profile update and change of status gives
/// the member the program's next version, assigned in commit order, so "everything after version V" never
/// skips a change. The generation is random, new for each program and again in a database made by
/// `reciprocityd admin restore` or `admin copy`, so that a cursor from another database starts the listing
/// over instead of continuing from a version that means something else there.
public struct DirectoryCursor: Sendable, Hashable {
    public let generation: String
    public let version: Int64

    public init(generation: String, version: Int64) {
        self.generation = generation
        self.version = version
    }

    /// Parses a cursor's text, `GENERATION.VERSION`: 22 base64url characters, a dot, 1 to 18 digits (the
    /// pattern in openapi.yaml); nil for anything else. A well-formed cursor this server did not issue is no
    /// error: `continuation` starts the listing over.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        func isBase64URL(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
        guard parts.count == 2, parts[0].utf8.count == 22, parts[0].utf8.allSatisfy(isBase64URL),
            (1...18).contains(parts[1].utf8.count), parts[1].utf8.allSatisfy({ (48...57).contains($0) }),
            let version = Int64(parts[1])
        else { return nil }
        self.init(generation: String(parts[0]), version: version)
    }

    /// The opaque text a client passes back as `since`.
    public var text: String { "\(generation).\(version)" }

    /// A new random generation: 16 bytes, base64url (22 characters).
    public static func newGeneration() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The version to list changes after, or nil when the listing must start over with `reset`: no cursor, a
    /// cursor of another generation (another database, a restored or copied one), or one past the program's
    /// current version (from the future: the database went back, and what the client holds beyond it may
    /// never have happened here). Never a silent gap.
    public static func continuation(of cursor: DirectoryCursor?, generation: String, current: Int64) -> Int64? {
        guard let cursor, cursor.generation == generation, cursor.version <= current else { return nil }
        return cursor.version
    }
}

/// One handle's latest state in the directory: its profile and join time while the member is active, neither
/// once they left it (suspended).
public struct ProfileChangeRecord: Sendable, Equatable {
    public let handle: Handle
    public let profile: Profile?
    public let joinedAt: Date?
    public let version: Int64

    public init(handle: Handle, profile: Profile?, joinedAt: Date?, version: Int64) {
        self.handle = handle
        self.profile = profile
        self.joinedAt = joinedAt
        self.version = version
    }

    /// A member's row as the directory shows it: an active member's profile and join time, nothing for anyone
    /// else (both backends list changes through this, so a suspended profile can never leak from one of them).
    public init(member: MemberRecord, version: Int64) {
        let active = member.status == .active
        self.init(
            handle: member.handle, profile: active ? member.profile : nil, joinedAt: active ? member.joinedAt : nil,
            version: version)
    }
}

/// One page of a program's directory changes, oldest first.
public struct ProfileChangesPage: Sendable, Equatable {
    public var changes: [ProfileChangeRecord]
    /// Where the next page starts: the last change's version, or where this one started.
    public var cursor: DirectoryCursor
    /// More changes are ready now.
    public var more: Bool
    /// The listing started over: the client replaces its replica with what this and the following pages carry.
    public var reset: Bool

    public init(changes: [ProfileChangeRecord], cursor: DirectoryCursor, more: Bool, reset: Bool) {
        self.changes = changes
        self.cursor = cursor
        self.more = more
        self.reset = reset
    }

    /// The page both backends answer: `rows` are up to `limit + 1` changes after version `after`, in version
    /// order (a reset lists active members only: there is nothing to drop from a replica that starts empty).
    public init(rows: [ProfileChangeRecord], limit: Int, generation: String, after: Int64, reset: Bool) {
        let shown = Array(rows.prefix(limit))
        self.init(
            changes: shown, cursor: DirectoryCursor(generation: generation, version: shown.last?.version ?? after),
            more: rows.count > limit, reset: reset)
    }
}

/// Bounds of `GET /v1/profiles`.
public enum DirectoryChangeLimits {
    /// Changes per page by default and at most; the server also cuts a page at `maxPageBytes`.
    public static let defaultPage = 1000
    public static let maxPage = 1000
}
