import Foundation
import Hummingbird
import ReciprocityAPI
import ReciprocityStore

/// `/v1/admin/...`: the operator's API, behind ``OperatorAuthenticator``.
struct AdminController {
    let operations: AdminOperations

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/programs", use: programs)
        group.post("/programs", use: createProgram)
        group.put("/programs/:program/epoch", use: setEpoch)
        group.get("/programs/:program/about", use: about)
        group.patch("/programs/:program/about", use: setAbout)
        group.post("/programs/:program/invites", use: createInvite)
        group.get("/programs/:program/members", use: members)
        group.get("/programs/:program/health", use: health)
        group.post("/programs/:program/members/:handle/suspend", use: suspend)
        group.post("/programs/:program/members/:handle/reinstate", use: reinstate)
    }

    struct EpochBody: Codable { var epoch: UInt32 }

    @Sendable func programs(request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(try await operations.programs())
    }

    @Sendable func createProgram(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(CreateProgramRequest.self, context: context)
        let program = try await operations.createProgram(name: body.name, maxMarks: body.maxMarks, epoch: body.epoch)
        context.logger.notice("program created", metadata: ["program": "\(program.name)"])
        return try jsonResponse(program, status: .created)
    }

    @Sendable func setEpoch(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(EpochBody.self, context: context)
        let program = try await operations.setEpoch(program: context.parameters.require("program"), epoch: body.epoch)
        context.logger.notice("epoch set", metadata: ["program": "\(program.name)", "epoch": "\(program.epoch)"])
        return try jsonResponse(program)
    }

    @Sendable func about(request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(try await operations.about(program: context.parameters.require("program")))
    }

    @Sendable func setAbout(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let program = try context.parameters.require("program")
        let body = try await request.decodeJSON(SetProgramAboutRequest.self, context: context)
        let about = try await operations.setAbout(
            program: program, description: body.description, conduct: body.conduct)
        context.logger.notice("program description set", metadata: ["program": "\(program)"])
        return try jsonResponse(about)
    }

    @Sendable func createInvite(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(CreateInviteRequest.self, context: context)
        let invite = try await operations.createInvite(
            program: context.parameters.require("program"), uses: body.uses,
            expiresIn: body.expiresInSeconds.map(TimeInterval.init))
        return try jsonResponse(invite, status: .created)
    }

    @Sendable func members(request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(
            MemberListResponse(members: try await operations.members(program: context.parameters.require("program"))))
    }

    /// JSON, or with `?format=csv` the same figures as an RFC 4180 download (``ProgramHealth/csv(_:)``).
    @Sendable func health(request: Request, context: AppRequestContext) async throws -> Response {
        let format = request.uri.queryParameters.get("format") ?? "json"
        guard format == "json" || format == "csv" else {
            throw Problem.invalidParameter("'format' must be 'json' or 'csv'")
        }
        let health = try await operations.health(program: context.parameters.require("program"))
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
        try await setStatus(.suspended, context)
    }

    @Sendable func reinstate(request: Request, context: AppRequestContext) async throws -> Response {
        try await setStatus(.active, context)
    }

    private func setStatus(_ status: MemberStatus, _ context: AppRequestContext) async throws -> Response {
        let member = try await operations.setStatus(
            program: context.parameters.require("program"), handle: context.parameters.require("handle"),
            status: status)
        return try jsonResponse(member)
    }
}
