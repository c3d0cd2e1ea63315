import Foundation
import Hummingbird
import ReciprocityAPI
import ReciprocityCore
import ReciprocityStore

/// Joining, the member's own record, and the directory.
struct MemberController {
    let store: any ReciprocityStore
    let transparency: KeyTransparency
    /// Wakes the member's open event streams after a rotation, so that those opened with the old credential end.
    var changes: ChangeFeed?
    /// Profile bytes (plus a generous allowance per member for key, proof and tags) one directory page holds.
    static let maxPageBytes = 1 << 20

    /// `POST /v1/programs/{program}/members`: needs no credential, only an invite code.
    func addPublicRoutes(to router: RouterGroup<AppRequestContext>) {
        router.post("/v1/programs/:program/members", use: join)
    }

    func addMemberRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/me", use: me)
        group.put("/me/profile", use: updateProfile)
        group.put("/me/email", use: setEmail)
        group.delete("/me/email", use: removeEmail)
        group.post("/me/credential", use: rotateCredential)
        group.put("/me/key", use: rotateKey)
        group.get("/directory", use: directory)
        group.get("/directory/:handle", use: directoryEntry)
        group.get("/profiles", use: profileChanges)
    }

    @Sendable func join(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let program = try ProgramID(context.parameters.require("program"))
        let body = try await request.decodeJSON(JoinRequest.self, context: context)
        let handle = try Handle(body.handle)
        let publicKey = try PublicKey(base64URL: body.publicKey)
        let profile = try body.profile.validated()
        let credential = try BearerSecret.generate(.memberCredential)
        let (member, programRecord) = try await store.join(
            program: program, inviteDigest: BearerSecret.digest(of: body.invite), handle: handle,
            publicKey: publicKey, profile: profile, credentialDigest: credential.digest, now: Date())
        context.logger.info("member joined", metadata: ["program": "\(program)"])
        let info = try await transparency.withKeyProofs([member], program: programRecord)[0]
        return try jsonResponse(
            JoinResponse(
                member: info, program: programRecord.info, credential: credential.text,
                logPublicKey: transparency.signingKey.publicKey.base64URL),
            status: .created)
    }

    @Sendable func me(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, program) = try context.requireMember()
        let email = try await store.email(memberID: member.id)
        return try jsonResponse(SelfInfo(member: member.info, program: program.info, email: email))
    }

    /// `PUT /v1/me/email`: sets the caller's address for notices; the answer is the address as stored.
    @Sendable func setEmail(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (member, _) = try context.requireMember()
        let body = try await request.decodeJSON(EmailSetting.self, context: context)
        try await store.setEmail(memberID: member.id, email: body.email)
        return try jsonResponse(EmailSetting(email: try await store.email(memberID: member.id) ?? ""))
    }

    /// `DELETE /v1/me/email`: removes the caller's address and their notices not yet sent; 204 whether or not
    /// there was one.
    @Sendable func removeEmail(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, _) = try context.requireMember()
        try await store.setEmail(memberID: member.id, email: nil)
        return Response(status: .noContent)
    }

    @Sendable func updateProfile(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (member, _) = try context.requireMember()
        let profile = try await request.decodeJSON(Profile.self, context: context).validated()
        return try jsonResponse(try await store.updateProfile(memberID: member.id, profile: profile).info)
    }

    @Sendable func rotateCredential(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, _) = try context.requireMember()
        let credential = try BearerSecret.generate(.memberCredential)
        try await store.replaceCredential(memberID: member.id, credentialDigest: credential.digest)
        changes?.changed(memberIDs: [member.id])
        return try jsonResponse(CredentialResponse(credential: credential.text))
    }

    /// Replaces the caller's public key (the old one is logged as replaced, pending marks are deleted).
    @Sendable func rotateKey(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (member, program) = try context.requireMember()
        let body = try await request.decodeJSON(KeyRotationRequest.self, context: context)
        let updated = try await store.rotateKey(
            memberID: member.id, publicKey: try PublicKey(base64URL: body.publicKey), now: Date())
        context.logger.info("member rotated key", metadata: ["program": "\(program.name)"])
        return try jsonResponse(try await transparency.withKeyProofs([updated], program: program)[0])
    }

    @Sendable func directory(request: Request, context: AppRequestContext) async throws -> Response {
        let (_, program) = try context.requireMember()
        let query = try Self.directoryQuery(request.uri.queryParameters)
        // One extra row tells whether another page follows.
        var page = query
        page.limit += 1
        let members = try await store.directory(programID: program.id, query: page)
        var shown = Array(members.prefix(query.limit))
        // A page stays well under clients' response limits even if old profiles predate the byte limits.
        var bytes = 0
        if let cut = shown.firstIndex(where: { member in
            bytes += member.profile.displayName.utf8.count + member.profile.headline.utf8.count + 1024
            return bytes > Self.maxPageBytes
        }), cut > 0 {
            shown.removeSubrange(cut...)
        }
        let next = members.count > shown.count ? shown.last?.handle.rawValue : nil
        return try jsonResponse(
            DirectoryPage(members: try await transparency.withKeyProofs(shown, program: program), nextCursor: next))
    }

    @Sendable func directoryEntry(request: Request, context: AppRequestContext) async throws -> Response {
        let (_, program) = try context.requireMember()
        let handle = try Handle(context.parameters.require("handle"))
        guard let member = try await store.member(programID: program.id, handle: handle), member.status == .active
        else { throw Problem(.memberNotFound, detail: "no active member by that handle in this program") }
        return try jsonResponse(try await transparency.withKeyProofs([member], program: program)[0])
    }

    /// The search and filter parameters `GET /v1/directory` took until clients searched their own replica: a
    /// request that sends one is refused, naming it, rather than answered with an unfiltered page the old
    /// client would show as results.
    static let removedDirectoryParameters = ["q", "tag", "offersMentoring", "seeksMentoring"]

    /// `GET /v1/profiles`: the directory's changes after `since`, for the client's replica. The answer depends
    /// only on the program, the cursor and the limit, never on who asks.
    @Sendable func profileChanges(request: Request, context: AppRequestContext) async throws -> Response {
        let (_, program) = try context.requireMember()
        let parameters = request.uri.queryParameters
        var since: DirectoryCursor?
        if let text = parameters["since"] {
            guard let cursor = DirectoryCursor(text) else {
                throw Problem.invalidParameter("'since' must be the 'cursor' of an earlier answer, unchanged")
            }
            since = cursor
        }
        let limit = try parameters.integer(
            "limit", in: 1...DirectoryChangeLimits.maxPage, default: DirectoryChangeLimits.defaultPage)
        var page = try await store.profileChanges(programID: program.id, since: since, limit: limit)
        // A page stays well under clients' response limits whatever its profiles hold: cut it before the change
        // that would pass the budget (at least one change always goes), and the next page starts there.
        var bytes = 0
        if let cut = page.changes.firstIndex(where: { change in
            bytes += Self.encodedBytesBound(change)
            return bytes > Self.maxChangesPageBytes
        }), cut > 0 {
            page.changes.removeSubrange(cut...)
            page.cursor = DirectoryCursor(generation: page.cursor.generation, version: page.changes.last!.version)
            page.more = true
        }
        return try jsonResponse(
            ProfileChanges(
                changes: page.changes.map {
                    ProfileChange(handle: $0.handle.rawValue, profile: $0.profile, joinedAt: $0.joinedAt)
                },
                cursor: page.cursor.text, more: page.more, reset: page.reset))
    }

    /// Bytes of JSON one change takes at most: every name and headline byte escaped (two bytes), each tag
    /// quoted, and the keys, handle and time.
    static func encodedBytesBound(_ change: ProfileChangeRecord) -> Int {
        let profile = change.profile.map { profile in
            2 * (profile.displayName.utf8.count + profile.headline.utf8.count)
                + profile.tags.reduce(0) { $0 + $1.utf8.count + 3 }
        }
        return change.handle.rawValue.utf8.count + (profile ?? 0) + 200
    }

    /// The most JSON bytes one page of `GET /v1/profiles` carries (half of `maxPageBytes`).
    static let maxChangesPageBytes = 1 << 19

    static func directoryQuery(_ parameters: Parameters) throws -> DirectoryQuery {
        if let removed = removedDirectoryParameters.first(where: { parameters[Substring($0)] != nil }) {
            throw Problem.invalidParameter(
                "'\(removed)' is no longer supported: the server does not search or filter the directory; clients keep a copy of it (GET /v1/profiles) and search it locally"
            )
        }
        var query = DirectoryQuery()
        if let after = parameters["after"] { query.after = try Handle(String(after)).rawValue }
        query.limit = try parameters.integer("limit", in: 1...200, default: query.limit)
        return query
    }
}

extension MemberRecord {
    var info: MemberInfo {
        MemberInfo(handle: handle.rawValue, publicKey: publicKey.base64URL, profile: profile, joinedAt: joinedAt)
    }
}

extension ProgramRecord {
    var info: ProgramInfo {
        ProgramInfo(name: name.rawValue, epoch: epoch, maxMarks: maxMarks, about: about, nextRoundAt: nextRoundAt)
    }
}
