import Foundation
public import ReciprocityAPI

/// The conversation routes (Specs/openapi.yaml, "conversations"): envelopes in and out, nothing in clear.
extension ServerAPI {
    /// Every conversation of the caller, following the pages.
    public func conversations() async throws -> [ConversationInfo] {
        try await allPages { cursor in
            let suffix = cursor.map { "?after=" + $0 } ?? ""
            let response: ConversationsResponse = try await call(.GET, "/v1/conversations" + suffix)
            return (response.conversations, response.nextCursor)
        }
    }

    public func messages(token: String, after: Int64) async throws -> MessagesResponse {
        try await call(.GET, "/v1/conversations/\(token)/messages?after=\(after)")
    }

    public func postMessage(token: String, envelope: [UInt8]) async throws -> PostMessageResponse {
        try await call(
            .POST, "/v1/conversations/\(token)/messages",
            body: PostMessageRequest(envelope: Base64URLText.encode(envelope)))
    }

    public func endConversation(token: String) async throws {
        let _: Empty = try await call(.POST, "/v1/conversations/\(token)/end")
    }

    /// Reports the other member to the operator: `messages` are in clear (`LocalConversation.reportedMessages`),
    /// nil for none.
    public func report(token: String, reason: String, messages: [ReportedMessage]?) async throws {
        let _: Empty = try await call(
            .POST, "/v1/conversations/\(token)/report", body: ReportRequest(reason: reason, messages: messages))
    }
}
