public import Foundation
public import ReciprocityAPI
public import ReciprocityCore
public import ReciprocityStore

/// What an operator or organizer can do, shared by the admin HTTP API and `reciprocityd admin`, so both behave
/// the same. Every change is written to the program's audit log as `actor`'s, in the change's own transaction.
public struct AdminOperations: Sendable {
    public static let defaultMaxMarks = 16
    public static let defaultInviteUses = 1
    /// Ten years, in seconds.
    public static let maxInviteLifetime: TimeInterval = 315_360_000
    /// Entries per page of the audit log unless the caller asks for fewer or more (up to
    /// `StoreLimits.auditPageLimit`).
    public static let defaultAuditPage = 50

    let store: any ReciprocityStore
    /// Who acts, as the audit log names them.
    let actor: AuditActor

    public init(store: any ReciprocityStore, actor: AuditActor = .operator) {
        self.store = store
        self.actor = actor
    }

    private func event(_ action: AuditAction, subject: String? = nil, detail: String? = nil, at: Date = Date())
        -> AuditEvent
    {
        AuditEvent(actor: actor, action: action, subject: subject, detail: detail, at: at)
    }

    public func createProgram(name: String, maxMarks: Int?, epoch: UInt32?) async throws -> ProgramInfo {
        let maxMarks = maxMarks ?? Self.defaultMaxMarks
        let epoch = epoch ?? 0
        return try await store.createProgram(
            name: ProgramID(name), maxMarks: maxMarks, epoch: epoch,
            audit: event(.programCreated, detail: "max marks \(maxMarks), epoch \(epoch)")
        ).info
    }

    public func programs() async throws -> [ProgramInfo] {
        try await store.programs().map(\.info)
    }

    public func setEpoch(program: String, epoch: UInt32) async throws -> ProgramInfo {
        try await store.setEpoch(
            program: ProgramID(program), epoch: epoch, audit: event(.epochChanged, detail: "epoch \(epoch)")
        ).info
    }

    /// The furthest ahead a round may be scheduled.
    public static let maxRoundLead: TimeInterval = 366 * 86_400

    /// Schedules the program's next round (its move to epoch + 1, exactly as ``setEpoch(program:epoch:)`` would
    /// move it, audited as the scheduler's) at `at`, RFC 3339 text with its offset; `invalid-time` for other
    /// text or a time more than ``maxRoundLead`` ahead, `time-passed` for one not after `now`.
    public func scheduleRound(program: String, at text: String, now: Date = Date()) async throws -> ProgramInfo {
        guard let at = Self.time(text) else {
            throw StoreError(
                .invalidTime,
                "'\(text.prefix(40))' is not a time with its offset, such as 2027-01-31T18:00:00Z (RFC 3339)")
        }
        guard at > now else {
            throw StoreError(.timePassed, "\(at.formatted(.iso8601)) has passed; give a time ahead")
        }
        guard at <= now + Self.maxRoundLead else {
            throw StoreError(.invalidTime, "a round may be scheduled at most 366 days ahead")
        }
        let record = try await record(of: program)
        return try await store.scheduleRound(
            program: record.name, at: at,
            audit: event(.roundScheduled, detail: "epoch \(record.epoch &+ 1) at \(at.formatted(.iso8601))", at: now)
        ).info
    }

    /// Cancels the program's scheduled round; nothing changes, and nothing is audited, when none is scheduled.
    public func cancelRound(program: String) async throws -> ProgramInfo {
        let record = try await record(of: program)
        guard let at = record.nextRoundAt else { return record.info }
        return try await store.scheduleRound(
            program: record.name, at: nil,
            audit: event(.roundCancelled, detail: "the round scheduled for \(at.formatted(.iso8601))")
        ).info
    }

    /// RFC 3339 text (with or without fractional seconds, with its offset) as a time; nil for anything else.
    static func time(_ text: String) -> Date? {
        let whole = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions.insert(.withFractionalSeconds)
        return whole.date(from: text) ?? fractional.date(from: text)
    }

    /// Sets the program's quota: the most marks a member may hold in an epoch, pending or matched.
    public func setMaxMarks(program: String, maxMarks: Int) async throws -> ProgramInfo {
        try await store.setMaxMarks(
            program: ProgramID(program), maxMarks: maxMarks,
            audit: event(.quotaChanged, detail: "max marks \(maxMarks)")
        ).info
    }

    /// The program's description and code of conduct.
    public func about(program: String) async throws -> ProgramAbout {
        try await record(of: program).about
    }

    /// Sets the texts given (an empty one clears it) and keeps the other; the store applies the one rule
    /// (`ProgramAbout.validated`) and answers what it stored.
    public func setAbout(program: String, description: String?, conduct: String?) async throws -> ProgramAbout {
        let current = try await about(program: program)
        let about = ProgramAbout(
            description: description ?? current.description, conduct: conduct ?? current.conduct)
        let changed = [description.map { _ in "description" }, conduct.map { _ in "code of conduct" }]
            .compactMap { $0 }.joined(separator: " and ")
        return try await store.setAbout(
            program: ProgramID(program), about: about,
            audit: event(.programDescribed, detail: changed.isEmpty ? nil : "\(changed) set")
        ).about
    }

    /// Creates an invite and returns its code: shown this once, stored only as SHA-256.
    public func createInvite(program: String, uses: Int?, expiresIn: TimeInterval?, now: Date = Date()) async throws
        -> InviteInfo
    {
        if let expiresIn, !(1...Self.maxInviteLifetime).contains(expiresIn) {
            throw StoreError(.invalidArgument, "an invite expires 1 second to 10 years from now")
        }
        let code = try BearerSecret.generate(.invite)
        let uses = uses ?? Self.defaultInviteUses
        let expiresAt = expiresIn.map { now.addingTimeInterval($0) }
        let id = InviteID.of(codeDigest: code.digest)
        let expiry = expiresAt.map { ", expires \($0.formatted(.iso8601))" } ?? ""
        let invite = try await store.createInvite(
            program: ProgramID(program), codeDigest: code.digest, uses: uses, expiresAt: expiresAt,
            audit: event(.inviteCreated, subject: id, detail: "uses \(uses)\(expiry)", at: now))
        return InviteInfo(code: code.text, program: program, uses: invite.usesLeft, expiresAt: expiresAt, id: id)
    }

    /// The program's invites, newest first; never a code.
    public func invites(program: String) async throws -> [InviteListItem] {
        try await store.invites(programID: record(of: program).id).map {
            InviteListItem(
                id: $0.id, usesLeft: $0.usesLeft, expiresAt: $0.expiresAt, createdAt: $0.createdAt,
                revokedAt: $0.revokedAt)
        }
    }

    /// Revokes the program's invite `id`: joins with it are refused from now on.
    public func revokeInvite(program: String, id: String) async throws {
        _ = try await store.revokeInvite(program: ProgramID(program), id: id, audit: event(.inviteRevoked, subject: id))
    }

    public func members(program: String) async throws -> [MemberAdminInfo] {
        try await store.members(programID: record(of: program).id).map(\.adminInfo)
    }

    /// The program's health figures (``ProgramHealth``): from its members and its match counts, never a mark.
    public func health(program: String) async throws -> ProgramHealthResponse {
        let record = try await record(of: program)
        return ProgramHealth.figures(
            program: record.name.rawValue, members: try await store.members(programID: record.id),
            matchesByEpoch: try await store.matchCounts(programID: record.id))
    }

    /// Queues the reminder `kind` for the program's active members it applies to who gave an email address
    /// (for `complete-profile`: whose profile is not complete by ``ProgramHealth/isComplete(_:)``) and audits it
    /// as `reminder-sent` with the count only; returns the count.
    public func remind(program: String, kind: String) async throws -> Int {
        guard let kind = NoticeKind(rawValue: kind), kind == .completeProfile else {
            throw StoreError(.invalidArgument, "'kind' must be 'complete-profile'")
        }
        let record = try await record(of: program)
        let members = try await store.members(programID: record.id).filter {
            $0.status == .active && !ProgramHealth.isComplete($0.profile)
        }
        return try await store.queueReminder(
            programID: record.id, memberIDs: members.map(\.id), kind: kind, actor: actor, now: Date())
    }

    /// Suspends or reinstates a member; `reason`, if given, goes to the audit log only.
    public func setStatus(program: String, handle: String, status: MemberStatus, reason: String? = nil) async throws
        -> MemberAdminInfo
    {
        let reason = try Self.validReason(reason)
        let (program, handle) = (try ProgramID(program), try Handle(handle))
        return try await store.setStatus(
            program: program, handle: handle, status: status,
            audit: event(
                status == .active ? .memberReinstated : .memberSuspended, subject: handle.rawValue, detail: reason)
        ).adminInfo
    }

    /// A reason as stored: trimmed, nil when empty; `invalid-argument` beyond 500 characters or with a control
    /// or formatting character (it is shown in terminals and pages).
    static func validReason(_ reason: String?) throws -> String? {
        guard let text = reason?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        let invisible = text.unicodeScalars.contains {
            [.control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .unassigned].contains(
                $0.properties.generalCategory)
        }
        guard text.count <= MemberStatusRequest.maxReason, !invisible else {
            throw StoreError(
                .invalidArgument,
                "a reason is one line of at most \(MemberStatusRequest.maxReason) characters, without control characters"
            )
        }
        return text
    }

    /// A page of the program's audit log, newest first: entries with ids below `before` (all when nil).
    public func auditLog(program: String, before: Int64?, limit: Int?) async throws -> AuditLogResponse {
        let limit = limit ?? Self.defaultAuditPage
        guard (1...StoreLimits.auditPageLimit).contains(limit) else {
            throw StoreError(.invalidArgument, "limit must be 1 to \(StoreLimits.auditPageLimit)")
        }
        let entries = try await store.auditLog(programID: record(of: program).id, before: before, limit: limit)
        return AuditLogResponse(
            entries: entries.map {
                AuditEntryInfo(
                    id: $0.id, at: $0.at, actor: $0.actor, action: $0.action, subject: $0.subject, detail: $0.detail)
            },
            next: entries.count == limit ? entries.last?.id : nil)
    }

    // MARK: Organizers (the operator's alone: the server checks the caller, the command line is the operator)

    /// Creates an organizer of `programs` (at least one, each existing) and returns the credential, shown this
    /// once: the store keeps its SHA-256.
    public func createOrganizer(name: String, programs: [String], now: Date = Date()) async throws
        -> OrganizerCreatedResponse
    {
        guard !programs.isEmpty else { throw StoreError(.invalidArgument, "give at least one program") }
        let credential = try BearerSecret.generate(.organizerCredential)
        let organizer = try await store.createOrganizer(
            name: name, credentialDigest: credential.digest, programs: programs.map(ProgramID.init), actor: actor,
            now: now)
        return OrganizerCreatedResponse(
            name: organizer.name, programs: organizer.programs.map(\.rawValue), credential: credential.text,
            createdAt: organizer.createdAt)
    }

    public func organizers() async throws -> [OrganizerInfo] {
        try await store.organizers().map(\.info)
    }

    public func revokeOrganizer(name: String) async throws -> OrganizerInfo {
        try await store.revokeOrganizer(name: name, actor: actor, now: Date()).info
    }

    /// The program named `program`, or `program-not-found` (``programNotFound(_:)``).
    func record(of program: String) async throws -> ProgramRecord {
        let name = try ProgramID(program)
        guard let record = try await store.program(named: name) else { throw Self.programNotFound(name) }
        return record
    }

    /// The one answer for a program the caller cannot reach: the store's for a missing one, word for word.
    static func programNotFound(_ name: ProgramID) -> StoreError {
        StoreError(.programNotFound, "no program named '\(name)'")
    }
}

extension MemberRecord {
    var adminInfo: MemberAdminInfo {
        MemberAdminInfo(handle: handle.rawValue, status: status.rawValue, joinedAt: joinedAt)
    }
}

extension OrganizerRecord {
    var info: OrganizerInfo { OrganizerInfo(name: name, programs: programs.map(\.rawValue), createdAt: createdAt) }
}
