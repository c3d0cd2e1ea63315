public import Foundation
public import ReciprocityAPI
public import ReciprocityCore
public import ReciprocityStore

/// What an operator can do, shared by the admin HTTP API and `reciprocityd admin`, so both behave the same.
public struct AdminOperations: Sendable {
    public static let defaultMaxMarks = 16
    public static let defaultInviteUses = 1
    /// Ten years, in seconds.
    public static let maxInviteLifetime: TimeInterval = 315_360_000

    let store: any ReciprocityStore

    public init(store: any ReciprocityStore) { self.store = store }

    public func createProgram(name: String, maxMarks: Int?, epoch: UInt32?) async throws -> ProgramInfo {
        try await store.createProgram(
            name: ProgramID(name), maxMarks: maxMarks ?? Self.defaultMaxMarks, epoch: epoch ?? 0
        ).info
    }

    public func programs() async throws -> [ProgramInfo] {
        try await store.programs().map(\.info)
    }

    public func setEpoch(program: String, epoch: UInt32) async throws -> ProgramInfo {
        try await store.setEpoch(program: ProgramID(program), epoch: epoch).info
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
        return try await store.setAbout(program: ProgramID(program), about: about).about
    }

    /// Creates an invite and returns its code: shown this once, stored only as SHA-256.
    public func createInvite(program: String, uses: Int?, expiresIn: TimeInterval?, now: Date = Date()) async throws
        -> InviteInfo
    {
        if let expiresIn, !(1...Self.maxInviteLifetime).contains(expiresIn) {
            throw StoreError(.invalidArgument, "an invite expires 1 second to 10 years from now")
        }
        let code = try BearerSecret.generate(.invite)
        let expiresAt = expiresIn.map { now.addingTimeInterval($0) }
        let invite = try await store.createInvite(
            program: ProgramID(program), codeDigest: code.digest, uses: uses ?? Self.defaultInviteUses,
            expiresAt: expiresAt)
        return InviteInfo(code: code.text, program: program, uses: invite.usesLeft, expiresAt: expiresAt)
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

    /// The program named `program`, or `program-not-found`.
    func record(of program: String) async throws -> ProgramRecord {
        let name = try ProgramID(program)
        guard let record = try await store.program(named: name) else {
            throw StoreError(.programNotFound, "no program named '\(name)'")
        }
        return record
    }

    public func setStatus(program: String, handle: String, status: MemberStatus) async throws -> MemberAdminInfo {
        try await store.setStatus(program: ProgramID(program), handle: Handle(handle), status: status).adminInfo
    }
}

extension MemberRecord {
    var adminInfo: MemberAdminInfo {
        MemberAdminInfo(handle: handle.rawValue, status: status.rawValue, joinedAt: joinedAt)
    }
}
