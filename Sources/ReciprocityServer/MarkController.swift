import Foundation
import Hummingbird
import ReciprocityAPI
import ReciprocityCore
import ReciprocityStore

/// Submitting, listing and withdrawing marks, and reading matches. Every route acts only on the caller's
/// own marks; no response depends on another member's marks except through a match.
struct MarkController {
    let store: any ReciprocityStore
    let metrics: ServerMetrics
    /// Told of new matches, for live delivery to both members.
    var changes: ChangeFeed?
    static let maxBatch = 256

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("/marks", use: submit)
        group.get("/marks", use: pending)
        group.delete("/marks/:token", use: withdraw)
        group.get("/matches", use: matches)
    }

    @Sendable func submit(request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (member, program) = try context.requireMember()
        let body = try await request.decodeJSON(SubmitMarksRequest.self, context: context)
        guard (1...Self.maxBatch).contains(body.marks.count) else {
            throw Problem(.invalidBatch, detail: "a batch holds 1 to \(Self.maxBatch) marks; got \(body.marks.count)")
        }
        let withdraw = body.withdraw ?? []
        guard withdraw.count <= Self.maxBatch else {
            throw Problem(
                .invalidBatch, detail: "a batch withdraws at most \(Self.maxBatch) marks; got \(withdraw.count)")
        }
        let marks = try body.marks.map { try $0.mark() }
        let withdrawing = try withdraw.map(InterestToken.init(base64URL:))
        let submission = try await store.submitMarks(
            memberID: member.id, programID: program.id, epoch: body.epoch, marks: marks, withdrawing: withdrawing,
            now: Date())
        let (outcomes, matched) = (submission.outcomes, submission.newMatches)
        metrics.marksSubmitted.increment(by: marks.count)
        metrics.matchesMade.increment(by: matched.count)
        if let changes, !matched.isEmpty {
            // Both members' open apps hear of a match this request made, never of a resubmission of one they
            // already had (the other member's stream would tell them it was resubmitted). The caller's answer
            // does not wait for the look-up.
            let store = store
            Task {
                let counterparts = try? await Self.counterparts(
                    of: member.id, programID: program.id, tokens: matched, store: store)
                changes.changed(memberIDs: [member.id] + (counterparts ?? []))
            }
        }
        let results = zip(body.marks, outcomes).map { item, outcome in
            MarkResult(token: item.token, status: outcome == .matched ? .matched : .pending)
        }
        return try jsonResponse(SubmitMarksResponse(results: results))
    }

    /// The ids of the caller's counterparts in the matches `tokens` (the caller's own, just made).
    static func counterparts(
        of memberID: Int64, programID: Int64, tokens: Set<InterestToken>, store: any ReciprocityStore
    )
        async throws -> [Int64]
    {
        var ids: [Int64] = []
        for conversation in try await store.conversations(memberID: memberID, after: nil, limit: Int(Int32.max))
        where tokens.contains(conversation.token) {
            if let member = try await store.member(programID: programID, handle: conversation.counterpartHandle) {
                ids.append(member.id)
            }
        }
        return ids
    }

    @Sendable func pending(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, _) = try context.requireMember()
        let marks = try await store.pendingMarks(memberID: member.id).map {
            PendingMarkInfo(token: $0.token.base64URL, epoch: $0.epoch, createdAt: $0.createdAt)
        }
        return try jsonResponse(PendingMarksResponse(marks: marks))
    }

    @Sendable func withdraw(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, _) = try context.requireMember()
        let token = try InterestToken(base64URL: context.parameters.require("token"))
        guard try await store.withdraw(memberID: member.id, token: token) else {
            throw Problem(.markNotFound, detail: "you have no pending mark with this token")
        }
        return Response(status: .noContent)
    }

    /// The caller's matches, oldest first, a page at a time: `after` is the last token of the previous page.
    @Sendable func matches(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, _) = try context.requireMember()
        let parameters = request.uri.queryParameters
        let after = try parameters["after"].map { text in
            do { return try InterestToken(base64URL: String(text)) } catch {
                throw Problem.invalidParameter("'after' must be the token of one of your matches")
            }
        }
        let limit = try parameters.integer(
            "limit", in: 1...StoreLimits.matchesPerPage, default: StoreLimits.matchesPerPage)
        // One extra row tells whether another page follows.
        let records = try await store.matches(memberID: member.id, after: after, limit: limit + 1)
        let matches = records.prefix(limit).map {
            MatchInfo(
                token: $0.token.base64URL, epoch: $0.epoch, handle: $0.counterpartHandle.rawValue,
                publicKey: $0.counterpartKey.base64URL, tag: $0.counterpartTag.base64URL,
                note: $0.counterpartNote?.base64URL, matchedAt: $0.matchedAt)
        }
        return try jsonResponse(
            MatchesResponse(matches: Array(matches), nextCursor: records.count > limit ? matches.last?.token : nil))
    }
}
