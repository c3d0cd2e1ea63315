public import Foundation
public import ReciprocityAPI
public import ReciprocityCore

/// This device's copy of its program's directory: every active member's public profile, kept in
/// `directory.json` beside the member state (mode 0600, written atomically) and synced with `GET /v1/profiles`.
/// Every search, filter and page is computed from it, so no request says what the member looks for; and when
/// it is synced depends only on its age, never on a search (Specs/client.md, section 1a).
public struct DirectoryReplica: Codable, Sendable, Equatable {
    /// One member as the directory shows them.
    public struct Member: Codable, Sendable, Equatable {
        public var profile: Profile
        public var joinedAt: Date
    }

    /// The server's cursor after the last sync; nil before the first.
    public var cursor: String?
    /// Active members by handle.
    public var members: [String: Member] = [:]

    public init() {}

    /// How old a replica may be before a command that contacts the server syncs it first.
    public static let maxAge: TimeInterval = 300
    /// Pages one sync follows at most (a million members at the server's largest page): a server that never
    /// says it is done is refused rather than followed forever.
    static let maxPages = 1000

    /// Applies one page of changes: a reset empties the replica first; a change without a profile drops its
    /// handle. What the server sends is checked as any server input is: a handle must be one.
    mutating func apply(_ page: ProfileChanges) throws {
        if page.reset { members = [:] }
        for change in page.changes {
            guard (try? Handle(change.handle)) != nil else {
                throw ClientError(.badResponse, "the server's directory changes hold a malformed handle")
            }
            if let profile = change.profile {
                guard let joinedAt = change.joinedAt else {
                    throw ClientError(.badResponse, "the server's directory changes hold a profile without a join time")
                }
                members[change.handle] = Member(profile: profile, joinedAt: joinedAt)
            } else {
                members[change.handle] = nil
            }
        }
        cursor = page.cursor
    }

    /// The members matching `filter`, in handle order, one page: what `GET /v1/directory` with `q`, `tag`,
    /// `offersMentoring` and `seeksMentoring` used to answer, computed here.
    public func page(_ filter: DirectoryFilter) -> DirectoryListing {
        var found: [DirectoryEntry] = []
        let matches = filter.matcher()
        for handle in members.keys.sorted() where filter.after.map({ handle > $0 }) ?? true {
            let member = members[handle]!
            guard matches(handle, member.profile) else { continue }
            if found.count == filter.limit {
                return DirectoryListing(members: found, nextCursor: found.last?.handle)
            }
            found.append(DirectoryEntry(handle: handle, profile: member.profile, joinedAt: member.joinedAt))
        }
        return DirectoryListing(members: found, nextCursor: nil)
    }
}

/// What the member looks for in the directory; applied to the local replica only.
public struct DirectoryFilter: Sendable, Equatable {
    /// Text in handle, display name or headline (`DirectorySearch`).
    public var search: String?
    public var tag: String?
    public var offersMentoring = false
    public var seeksMentoring = false
    /// Handles after this one (the previous page's `nextCursor`).
    public var after: String?
    public var limit = 50

    public init(
        search: String? = nil, tag: String? = nil, offersMentoring: Bool = false, seeksMentoring: Bool = false,
        after: String? = nil, limit: Int = 50
    ) {
        self.search = search
        self.tag = tag
        self.offersMentoring = offersMentoring
        self.seeksMentoring = seeksMentoring
        self.after = after
        self.limit = limit
    }

    /// Whether a member passes the filter, with the search text folded once for all members.
    func matcher() -> (_ handle: String, _ profile: Profile) -> Bool {
        let text = search.map(DirectorySearch.matcher)
        return { [self] handle, profile in
            (!offersMentoring || profile.offersMentoring) && (!seeksMentoring || profile.seeksMentoring)
                && tag.map(profile.tags.contains) ?? true && text.map { $0(handle, profile) } ?? true
        }
    }
}

/// One member in a directory listing.
public struct DirectoryEntry: Codable, Sendable, Equatable {
    public var handle: String
    public var profile: Profile
    public var joinedAt: Date
}

/// One page of a local directory listing.
public struct DirectoryListing: Codable, Sendable, Equatable {
    public var members: [DirectoryEntry]
    /// Pass as `after` for the next page; absent on the last page.
    public var nextCursor: String?
}

extension MembershipFolder {
    var directoryURL: URL { url.appendingPathComponent("directory.json") }

    /// The replica, or an empty one (stale, so the next command syncs it) when there is none or it does not
    /// decode; one that others can read is refused, as the state file is.
    public func loadDirectory() throws -> DirectoryReplica {
        guard FileManager.default.fileExists(atPath: directoryURL.path) else { return DirectoryReplica() }
        let data = try Self.readPrivate(directoryURL, what: "directory replica")
        return (try? JSONDecoder.iso8601.decode(DirectoryReplica.self, from: data)) ?? DirectoryReplica()
    }

    /// Whether the next command that contacts the server syncs the replica first: there is none, or its last
    /// sync (the file's modification time: every sync writes it) is older than `DirectoryReplica.maxAge` or
    /// "in the future" (the clock went back). A look at the file's metadata, so that commands do not pay for
    /// reading the whole replica.
    public func directoryIsStale(at now: Date) -> Bool {
        guard
            let synced = (try? FileManager.default.attributesOfItem(atPath: directoryURL.path))?[.modificationDate]
                as? Date
        else { return true }
        return now.timeIntervalSince(synced) >= DirectoryReplica.maxAge || now < synced
    }

    func saveDirectory(_ replica: DirectoryReplica) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try Self.writeAtomically(try encoder.encode(replica), to: directoryURL)
    }
}

extension Membership {
    /// The step every command that contacts the server begins with, whatever the command: sync the directory
    /// replica when it is stale (`MembershipFolder.directoryIsStale`).
    public func refreshDirectoryIfStale(now: Date = Date()) async throws {
        guard folder.directoryIsStale(at: now) else { return }
        try await syncDirectory(try folder.loadDirectory())
    }

    /// Brings `replica` up to date with `GET /v1/profiles`, following `more` to the end, and saves it. A
    /// server that restarts the listing (`reset`) on any page has it replaced.
    @discardableResult
    public func syncDirectory(_ replica: DirectoryReplica) async throws -> DirectoryReplica {
        var replica = replica
        for _ in 0..<DirectoryReplica.maxPages {
            let before = replica.cursor
            let page = try await api.profileChanges(since: before)
            try replica.apply(page)
            if !page.more {
                try folder.saveDirectory(replica)
                return replica
            }
            guard page.cursor != before, !page.changes.isEmpty else { break }
        }
        throw ClientError(
            .serverPages,
            "the server's directory changes do not end (more than \(DirectoryReplica.maxPages) pages or a cursor that does not advance)"
        )
    }
}
