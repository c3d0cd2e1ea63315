import Foundation
public import ReciprocityAPI
import ReciprocityCore

/// A member's report of the other member of a conversation to the operator (Specs/messages.md section 9b). The
/// messages go only when the member asks for them, and then in clear: what this device shows of the conversation,
/// each message's payload as the transcript stores it, and nothing else.
extension Membership {
    /// Reports the counterpart of the conversation with `handle` (the one `send` and `end` pick) with `reason`;
    /// with `includeMessages`, the messages this device holds (`reportedMessages`). Returns how many went.
    public mutating func report(
        _ handle: String, _ choice: ConversationChoice = .init(), reason: String, includeMessages: Bool
    ) async throws -> Int {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ClientError(.invalidArgument, "give a reason: say what happened") }
        let index = try await conversationIndex(handle, choice)
        let local = state.conversations![index]
        let quoted = includeMessages ? local.reportedMessages : nil
        try await api.report(token: local.token, reason: trimmed, messages: quoted)
        return quoted?.count ?? 0
    }
}

extension LocalConversation {
    /// The most messages one report quotes (the server's limit): the newest ones.
    public static let reportedLimit = 200

    /// The messages a report with messages quotes: every one this device shows (a payload that reads), the
    /// newest `reportedLimit`, its payload's JSON as stored (`quotable`). Messages this device cannot show (sent
    /// from another device, or that did not open) are left out: the member never saw them.
    public var reportedMessages: [ReportedMessage] {
        let shown = messages.compactMap { message -> ReportedMessage? in
            guard let payload = message.payload, (try? MessagePayload.decode(payload)) != nil else { return nil }
            return ReportedMessage(seq: message.seq, fromMe: message.fromMe, text: Self.quotable(payload))
        }
        return Array(shown.suffix(Self.reportedLimit))
    }

    /// A payload's JSON with each character the server's plain-text rule (`PlainText`) refuses written as a JSON
    /// `\uXXXX` escape: the same JSON value, so the operator reads exactly what was sent, and the other member
    /// cannot make their messages unreportable with a zero-width space or a bidi control. Such characters only
    /// occur inside the JSON's strings (a control outside one is not JSON; a payload that does not read is not
    /// quoted), so the escapes keep it JSON.
    static func quotable(_ payload: String) -> String {
        var out = ""
        for character in payload {
            let refused = PlainText.refusal(of: character)?.scalars ?? []
            for scalar in character.unicodeScalars {
                guard refused.contains(scalar) else {
                    out.unicodeScalars.append(scalar)
                    continue
                }
                for unit in String(scalar).utf16 { out += "\\u" + String(unit, radix: 16, uppercase: true).leftPadded }
            }
        }
        return out
    }
}

extension String {
    fileprivate var leftPadded: String { String(repeating: "0", count: max(0, 4 - count)) + self }
}
