import Foundation
import Hummingbird
import ReciprocityAPI
import ReciprocityCore
import ReciprocityStore

/// The conversation of each match, between its two members only (the relay: the server stores and hands out
/// envelopes it cannot open). Every route with a `{token}` answers anyone who is not one of the match's two
/// members exactly as it answers a token of no match at all: `conversation-not-found`, after the same one
/// look-up through the caller's own rows (`ConversationStore`). Input is checked before that look-up, so a
/// refusal of bad input is the same whoever's token it names.
struct ConversationController {
    let store: any ReciprocityStore
    let limits: ConversationLimits
    /// Told of every stored message, for live delivery.
    let changes: ChangeFeed?

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/conversations", use: list)
        group.get("/conversations/:token/messages", use: messages)
        group.post("/conversations/:token/messages", use: post)
        group.post("/conversations/:token/end", use: end)
        group.post("/conversations/:token/report", use: report)
    }

    /// The caller's conversations, one per match, in the order of `GET /v1/matches`, a page at a time.
    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, _) = try context.requireMember()
        let parameters = request.uri.queryParameters
        let after = try parameters["after"].map { text in
            do { return try InterestToken(base64URL: String(text)) } catch {
                throw Problem.invalidParameter("'after' must be the token of one of your conversations")
            }
        }
        let limit = try parameters.integer(
            "limit", in: 1...StoreLimits.matchesPerPage, default: StoreLimits.matchesPerPage)
        let records = try await store.conversations(memberID: member.id, after: after, limit: limit + 1)
        let shown = records.prefix(limit).map {
            ConversationInfo(
                token: $0.token.base64URL, epoch: $0.epoch, handle: $0.counterpartHandle.rawValue,
                messages: $0.messageCount, lastSeq: $0.lastSeq, lastSentAt: $0.lastSentAt, ended: $0.ended)
        }
        return try jsonResponse(
            ConversationsResponse(
                conversations: Array(shown), nextCursor: records.count > limit ? shown.last?.token : nil))
    }

    @Sendable func messages(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, program) = try context.requireMember()
        let token = try Self.token(context)
        let parameters = request.uri.queryParameters
        let after = try parameters.integer("after", in: 0...Int.max, default: 0)
        let limit = try parameters.integer(
            "limit", in: 1...ConversationLimits.messagesPerPage, default: ConversationLimits.messagesPerPage)
        let page = try await store.messages(
            memberID: member.id, programID: program.id, token: token, after: Int64(after), limit: limit + 1)
        let shown = page.messages.prefix(limit).map {
            MessageInfo(seq: $0.seq, fromMe: $0.fromMe, envelope: Base64URL.encode($0.envelope), sentAt: $0.sentAt)
        }
        return try jsonResponse(
            MessagesResponse(messages: Array(shown), ended: page.ended, more: page.messages.count > limit))
    }

    @Sendable func post(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (member, program) = try context.requireMember()
        let token = try Self.token(context)
        let body = try await request.decodeJSON(PostMessageRequest.self, context: context)
        let envelope = try Self.envelope(body.envelope)
        let posted = try await store.postMessage(
            memberID: member.id, programID: program.id, token: token, envelope: envelope, limits: limits, now: Date())
        changes?.changed(memberIDs: [posted.counterpartID])
        return try jsonResponse(PostMessageResponse(seq: posted.seq, sentAt: posted.sentAt), status: .created)
    }

    @Sendable func end(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, program) = try context.requireMember()
        let token = try Self.token(context)
        let counterpart = try await store.endConversation(
            memberID: member.id, programID: program.id, token: token, now: Date())
        changes?.changed(memberIDs: [counterpart])
        return Response(status: .noContent)
    }

    /// Reports the other member to the operator (`Reports`): 204, or the answer of a token of nothing.
    @Sendable func report(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (member, program) = try context.requireMember()
        let token = try Self.token(context)
        let body = try await request.decodeJSON(ReportRequest.self, context: context)
        let (reason, messages) = try Reports.validated(body)
        try await store.report(
            memberID: member.id, programID: program.id, token: token, reason: reason, messages: messages, now: Date())
        context.logger.notice("member reported", metadata: ["program": "\(program.name)"])
        return Response(status: .noContent)
    }

    /// The `{token}` of the path: a match's token in base64url.
    static func token(_ context: AppRequestContext) throws -> InterestToken {
        do {
            return try InterestToken(base64URL: context.parameters.require("token"))
        } catch is ReciprocityError {
            throw Problem.invalidParameter(
                "the conversation's token must be a match token in base64url (43 characters)")
        }
    }

    /// The envelope of a posted message: base64url of one of `MessageEnvelope.lengths` bytes, of its version.
    static func envelope(_ text: String) throws -> Data {
        let sizes = MessageEnvelope.lengths.map { "\($0)" }.joined(separator: ", ")
        let refusal = Problem(
            .invalidEnvelope,
            detail:
                "'envelope' must be base64url of a version \(MessageEnvelope.version) envelope of \(sizes) bytes (Specs/messages.md)"
        )
        guard let length = MessageEnvelope.lengths.first(where: { ($0 * 4 + 2) / 3 == text.utf8.count }),
            let bytes = try? Base64URL.decode(text, byteCount: length, what: "envelope"),
            MessageEnvelope.isWellFormed(bytes)
        else { throw refusal }
        return Data(bytes)
    }
}
