import Foundation
public import ReciprocityAPI
import ReciprocityCore

/// A member's report of the other member of a conversation to the operator (Specs/messages.md section 9b). The
/// messages go only when the member asks for them, and then in clear: what this device shows of the conversation,
/// each message as its screen shows it (the payload's one encoding), and nothing else.
extension Membership {
    /// Reports the counterpart of the conversation with `handle` (the one `send` and `end` pick) with `reason`;
    /// with `includeMessages`, the messages this device shows that fit one report (`reportedMessages`). Returns
    /// how many went and how many older ones were left out.
    public mutating func report(
        _ handle: String, _ choice: ConversationChoice = .init(), reason: String, includeMessages: Bool
    ) async throws -> (sent: Int, leftOut: Int) {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ClientError(.invalidArgument, "give a reason: say what happened") }
        let index = try await conversationIndex(handle, choice)
        let local = state.conversations![index]
        let quoted = includeMessages ? try local.reportedMessages(reason: trimmed) : nil
        try await api.report(token: local.token, reason: trimmed, messages: quoted?.messages)
        return (quoted?.messages.count ?? 0, quoted?.leftOut ?? 0)
    }
}

extension LocalConversation {
    /// The most messages one report quotes (the server's limit): the newest ones.
    public static let reportedLimit = 200
    /// The most bytes of request body a report with messages takes, as encoded, under the server's limit of
    /// 320 KiB (`AppRequestContext.maxUploadSize`); the page's `REPORT_BUDGET` in conversations.js is the same.
    public static let reportBudget = 256 * 1_024

    /// The messages a report with `reason` quotes (Specs/messages.md section 9b): of those this device shows (a
    /// payload that reads), the newest that fit `reportedLimit` and `reportBudget`, each as its payload's one
    /// encoding (`MessagePayload.encoded()`: the members shown, nothing the screen ignores); and how many older
    /// ones were left out. Messages this device cannot show (sent from another device, or that did not open) are
    /// not counted: the member never saw them.
    public func reportedMessages(reason: String) throws -> (messages: [ReportedMessage], leftOut: Int) {
        let shown = messages.compactMap { message -> ReportedMessage? in
            guard let payload = message.payload, let text = try? MessagePayload.decode(payload).encoded() else {
                return nil
            }
            return ReportedMessage(seq: message.seq, fromMe: message.fromMe, text: text)
        }
        let encoder = APICoding.encoder()
        var size = try encoder.encode(ReportRequest(reason: reason, messages: [])).count
        var quoted: [ReportedMessage] = []
        for message in shown.reversed() where quoted.count < Self.reportedLimit {
            let added = try encoder.encode(message).count + (quoted.isEmpty ? 0 : 1)
            guard size + added <= Self.reportBudget else { break }
            size += added
            quoted.append(message)
        }
        return (quoted.reversed(), shown.count - quoted.count)
    }
}
