import Foundation
import Hummingbird
import ReciprocityAPI
import ReciprocityCore
import ReciprocityStore

/// `/v1/admin/...`: the operator's and organizers' API, behind ``AdminAuthenticator``. Every route under
/// `/programs/{program}` sits behind ``ProgramScope``; the organizer routes and program creation are the
/// operator's alone (`operator-only`).
struct AdminController {
    let store: any ReciprocityStore
    /// Whether the server sends email notices (an SMTP relay is set); reminders are refused otherwise.
    var noticesEnabled = false
    /// Woken for a suspended member, so that their open event streams end at once (``EventsController``).
    var changes: ChangeFeed?

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/session", use: session)
        group.get("/organizers", use: organizers)
        group.post("/organizers", use: createOrganizer)
        group.delete("/organizers/:name", use: revokeOrganizer)
        group.get("/programs", use: programs)
        group.post("/programs", use: createProgram)
        let program = group.group("/programs/:program").add(middleware: ProgramScope())
        program.patch(use: setProgram)
        program.put("/epoch", use: setEpoch)
        program.put("/next-round", use: scheduleRound)
        program.delete("/next-round", use: cancelRound)
        program.get("/about", use: about)
        program.patch("/about", use: setAbout)
        program.post("/invites", use: createInvite)
        program.get("/invites", use: invites)
        program.delete("/invites/:invite", use: revokeInvite)
        program.get("/members", use: members)
        program.get("/health", use: health)
        program.post("/members/:handle/suspend", use: suspend)
        program.post("/members/:handle/reinstate", use: reinstate)
        program.get("/audit", use: audit)
        program.get("/reports", use: reports)
        program.post("/reminders", use: remind)
    }

    struct ReminderBody: Codable { var kind: String }

    /// `POST …/reminders`: queues the reminder for the members it applies to who gave an address; the answer
    /// and the audit entry carry the count only.
    @Sendable func remind(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(ReminderBody.self, context: context)
        guard noticesEnabled else {
            throw Problem(.noticesOff, detail: "this server has no SMTP relay set, so it sends no email")
        }
        let queued = try await operations(context).remind(
            program: context.parameters.require("program"), kind: body.kind)
        return try jsonResponse(ReminderResponse(kind: body.kind, queued: queued), status: .accepted)
    }

    struct EpochBody: Codable { var epoch: UInt32 }
    struct ProgramSettingsBody: Codable { var maxMarks: Int }

    /// The operations as the caller: the audit log names them.
    private func operations(_ context: AppRequestContext) -> AdminOperations {
        AdminOperations(store: store, actor: context.actor)
    }

    /// The program's reports from members (``Reports``), oldest first.
    @Sendable func reports(request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(
            ReportsResponse(
                reports: try await operations(context).reports(program: context.parameters.require("program"))))
    }

    @Sendable func session(request: Request, context: AppRequestContext) async throws -> Response {
        switch context.admin {
        case .organizer(let organizer):
            try jsonResponse(
                AdminSessionResponse(
                    role: "organizer", name: organizer.name, programs: organizer.programs.map(\.rawValue)))
        case .operator, nil:
            try jsonResponse(
                AdminSessionResponse(
                    role: "operator", name: nil, programs: try await store.programs().map(\.name.rawValue)))
        }
    }

    @Sendable func organizers(request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireOperator()
        return try jsonResponse(OrganizerListResponse(organizers: try await operations(context).organizers()))
    }

    @Sendable func createOrganizer(request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireOperator()
        var request = request
        let body = try await request.decodeJSON(CreateOrganizerRequest.self, context: context)
        let created = try await operations(context).createOrganizer(name: body.name, programs: body.programs)
        context.logger.notice(
            "organizer created", metadata: ["organizer": "\(created.name)", "programs": "\(created.programs)"])
        return try jsonResponse(created, status: .created)
    }

    @Sendable func revokeOrganizer(request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireOperator()
        let revoked = try await operations(context).revokeOrganizer(name: context.parameters.require("name"))
        context.logger.notice("organizer revoked", metadata: ["organizer": "\(revoked.name)"])
        return Response(status: .noContent)
    }

    /// Every program for the operator; an organizer's own for an organizer.
    @Sendable func programs(request: Request, context: AppRequestContext) async throws -> Response {
        var programs = try await operations(context).programs()
        if case .organizer(let organizer) = context.admin {
            let theirs = Set(organizer.programs.map(\.rawValue))
            programs.removeAll { !theirs.contains($0.name) }
        }
        return try jsonResponse(programs)
    }

    @Sendable func createProgram(request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireOperator()
        var request = request
        let body = try await request.decodeJSON(CreateProgramRequest.self, context: context)
        let program = try await operations(context).createProgram(
            name: body.name, maxMarks: body.maxMarks, epoch: body.epoch)
        context.logger.notice("program created", metadata: ["program": "\(program.name)"])
        return try jsonResponse(program, status: .created)
    }

    /// `PATCH /programs/{program}` `{"maxMarks": N}`: the quota setting.
    @Sendable func setProgram(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(ProgramSettingsBody.self, context: context)
        let program = try await operations(context).setMaxMarks(
            program: context.parameters.require("program"), maxMarks: body.maxMarks)
        context.logger.notice(
            "quota set",
            metadata: [
                "program": "\(program.name)", "max_marks": "\(program.maxMarks)", "actor": "\(context.actor.name)",
            ])
        return try jsonResponse(program)
    }

    @Sendable func setEpoch(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(EpochBody.self, context: context)
        let program = try await operations(context).setEpoch(
            program: context.parameters.require("program"), epoch: body.epoch)
        context.logger.notice(
            "epoch set",
            metadata: ["program": "\(program.name)", "epoch": "\(program.epoch)", "actor": "\(context.actor.name)"])
        return try jsonResponse(program)
    }

    struct NextRoundBody: Codable { var at: String }

    /// `PUT …/next-round` `{"at": RFC 3339}`: the program moves to its next epoch by itself then.
    @Sendable func scheduleRound(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(NextRoundBody.self, context: context)
        let program = try await operations(context).scheduleRound(
            program: context.parameters.require("program"), at: body.at)
        context.logger.notice(
            "round scheduled",
            metadata: [
                "program": "\(program.name)", "at": "\(program.nextRoundAt.map { $0.formatted(.iso8601) } ?? "")",
                "actor": "\(context.actor.name)",
            ])
        return try jsonResponse(program)
    }

    /// `DELETE …/next-round`: cancels the scheduled round (none scheduled is no error).
    @Sendable func cancelRound(request: Request, context: AppRequestContext) async throws -> Response {
        let program = try await operations(context).cancelRound(program: context.parameters.require("program"))
        context.logger.notice(
            "round cancelled", metadata: ["program": "\(program.name)", "actor": "\(context.actor.name)"])
        return try jsonResponse(program)
    }

    @Sendable func about(request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(try await operations(context).about(program: context.parameters.require("program")))
    }

    @Sendable func setAbout(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let program = try context.parameters.require("program")
        let body = try await request.decodeJSON(SetProgramAboutRequest.self, context: context)
        let about = try await operations(context).setAbout(
            program: program, description: body.description, conduct: body.conduct)
        context.logger.notice(
            "program description set", metadata: ["program": "\(program)", "actor": "\(context.actor.name)"])
        return try jsonResponse(about)
    }

    @Sendable func createInvite(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(CreateInviteRequest.self, context: context)
        let invite = try await operations(context).createInvite(
            program: context.parameters.require("program"), uses: body.uses,
            expiresIn: body.expiresInSeconds.map(TimeInterval.init))
        return try jsonResponse(invite, status: .created)
    }

    @Sendable func invites(request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(
            InviteListResponse(
                invites: try await operations(context).invites(program: context.parameters.require("program"))))
    }

    @Sendable func revokeInvite(request: Request, context: AppRequestContext) async throws -> Response {
        let program = try context.parameters.require("program")
        try await operations(context).revokeInvite(program: program, id: context.parameters.require("invite"))
        context.logger.notice("invite revoked", metadata: ["program": "\(program)", "actor": "\(context.actor.name)"])
        return Response(status: .noContent)
    }

    @Sendable func members(request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(
            MemberListResponse(
                members: try await operations(context).members(program: context.parameters.require("program"))))
    }

    /// JSON, or with `?format=csv` the same figures as an RFC 4180 download (``ProgramHealth/csv(_:)``).
    @Sendable func health(request: Request, context: AppRequestContext) async throws -> Response {
        let format = request.uri.queryParameters.get("format") ?? "json"
        guard format == "json" || format == "csv" else {
            throw Problem.invalidParameter("'format' must be 'json' or 'csv'")
        }
        let health = try await operations(context).health(program: context.parameters.require("program"))
        guard format == "csv" else { return try jsonResponse(health) }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8; header=present",
                .contentDisposition: "attachment; filename=\"\(health.program)-health.csv\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: ProgramHealth.csv(health))))
    }

    @Sendable func suspend(request: Request, context: AppRequestContext) async throws -> Response {
        try await setStatus(.suspended, request, context)
    }

    @Sendable func reinstate(request: Request, context: AppRequestContext) async throws -> Response {
        try await setStatus(.active, request, context)
    }

    /// The body is optional: none, or `{"reason": "..."}`.
    private func setStatus(_ status: MemberStatus, _ request: Request, _ context: AppRequestContext) async throws
        -> Response
    {
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        let body =
            buffer.readableBytes == 0
            ? MemberStatusRequest() : try await request.decodeJSON(MemberStatusRequest.self, context: context)
        let program = try context.parameters.require("program")
        let member = try await operations(context).setStatus(
            program: program, handle: context.parameters.require("handle"), status: status, reason: body.reason)
        if status == .suspended, let changes, let record = try await store.program(named: ProgramID(program)),
            let suspended = try await store.member(programID: record.id, handle: Handle(member.handle))
        {
            changes.changed(memberIDs: [suspended.id])
        }
        return try jsonResponse(member)
    }

    /// `?limit=N&before=ID`: a page of the audit log, newest first.
    @Sendable func audit(request: Request, context: AppRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try query.get("limit").map { text in
            guard let value = Int(text) else { throw Problem.invalidParameter("'limit' must be a whole number") }
            return value
        }
        let before = try query.get("before").map { text in
            guard let value = Int64(text), value > 0 else {
                throw Problem.invalidParameter("'before' must be an entry id, a whole number above 0")
            }
            return value
        }
        return try jsonResponse(
            try await operations(context).auditLog(
                program: context.parameters.require("program"), before: before, limit: limit))
    }
}
