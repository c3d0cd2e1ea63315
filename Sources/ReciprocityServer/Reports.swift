import Foundation
import Hummingbird
public import ReciprocityAPI
import ReciprocityCore
import ReciprocityStore

/// Reports: a member reports the other member of one of their conversations to the operator
/// (`POST /v1/conversations/{token}/report`, which answers anyone else as a token of nothing, as every
/// conversation route does), with the messages they choose to include, which their own client decrypted: the
/// server stores those texts as given and cannot check them against the envelopes it holds. The operator reads
/// them (`GET /v1/admin/programs/{program}/reports`, `reciprocityd admin report list PROGRAM`) and may suspend.
enum Reports {
    static let maxReason = 2_000
    static let maxMessages = 200
    /// Characters of one quoted message: the largest payload (`Conversation.maxPayloadBytes`) with every byte a
    /// refused scalar escaped (`PlainText.escapingRefused`: at most 6 characters per byte, a DEL's).
    static let maxMessageText = 6 * Conversation.maxPayloadBytes

    /// The report's texts by the plain-text rule (`PlainText`), as JSON for the store; a 400 naming the field
    /// otherwise. A quoted message's refused characters are escaped here, not refused (Specs/messages.md section
    /// 9b): the quoting member's client sends what its screen showed, and this is the one place that decides.
    static func validated(_ body: ReportRequest) throws -> (reason: String, messages: String) {
        let reason = try PlainText.validated(body.reason, field: "reason", max: maxReason)
        guard !reason.isEmpty else { throw Problem(.invalidInput, detail: "'reason' must say what happened") }
        let quoted = body.messages ?? []
        guard quoted.count <= maxMessages else {
            throw Problem(.invalidInput, detail: "a report quotes at most \(maxMessages) messages")
        }
        let messages = try quoted.enumerated().map { index, message in
            guard message.seq >= 1 else {
                throw Problem(.invalidInput, detail: "'messages[\(index)].seq' must be a message's sequence number")
            }
            return ReportedMessage(
                seq: message.seq, fromMe: message.fromMe,
                text: try PlainText.validated(
                    PlainText.escapingRefused(message.text), field: "messages[\(index)].text", max: maxMessageText))
        }
        return (reason, String(decoding: try APICoding.encoder().encode(messages), as: UTF8.self))
    }
}

extension AdminOperations {
    /// The program's reports, oldest first.
    public func reports(program: String) async throws -> [ReportInfo] {
        try await store.reports(programID: record(of: program).id).map { report in
            ReportInfo(
                reporter: report.reporterHandle.rawValue, reported: report.reportedHandle.rawValue, epoch: report.epoch,
                reason: report.reason,
                messages: try StoreError.mappingStoredData {
                    guard
                        let messages = try? APICoding.decoder().decode(
                            [ReportedMessage].self, from: Data(report.messages.utf8))
                    else { throw StoreError(.corruptData, "a stored report's messages do not decode") }
                    return messages
                }, createdAt: report.createdAt)
        }
    }
}
