import Foundation
import ReciprocityClient
import Testing

/// What a report quotes of each payload (Specs/messages.md section 9b): the Swift client quotes, byte for byte,
/// what the page quotes for the cases of Tests/web/report_quote_cases.json: the payload's one encoding with only
/// the members its screen shows, and nothing of a payload that names a member twice (which is not shown).
@Suite struct ReportQuoteTests {
    struct Cases: Decodable {
        struct Case: Decodable {
            var comment: String
            var payload: String
            var quote: String?
        }
        var cases: [Case]
    }

    @Test func theSameQuotesAsThePage() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("web/report_quote_cases.json")
        let cases = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: url)).cases
        #expect(cases.count == 10)
        for (index, item) in cases.enumerated() {
            let message: [String: Any] = ["seq": index + 1, "fromMe": false, "sentAt": 0, "payload": item.payload]
            let record: [String: Any] = [
                "token": "t", "epoch": 1, "handle": "bob", "readSeq": index + 1, "ended": false, "messages": [message],
            ]
            let local = try JSONDecoder().decode(
                LocalConversation.self, from: JSONSerialization.data(withJSONObject: record))
            let quoted = try local.reportedMessages(reason: "Odd")
            #expect(quoted.messages.map(\.text) == [item.quote].compactMap { $0 }, "\(item.comment)")
            #expect(quoted.leftOut == 0)
        }
    }
}
