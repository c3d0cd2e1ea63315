import Foundation
import ReciprocityClient
import Testing

/// The .ics rule of Specs/messages.md section 9a: the Swift client makes, byte for byte, the events the page
/// made for the cases of Tests/web/meeting_ics_cases.json (escaping, folding at 75 octets without splitting a
/// character, UTC times, place or link), and refuses the same invalid meetings.
@Suite struct MeetingCalendarTests {
    struct Cases: Decodable {
        struct Case: Decodable {
            var comment: String
            var payload: MessagePayload
            var ics: String?
        }
        var valid: [Case]
        var invalid: [Case]
    }

    static let cases: Cases = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("web/meeting_ics_cases.json")
        return try! JSONDecoder().decode(Cases.self, from: Data(contentsOf: url))
    }()

    @Test func theSameBytesAsThePage() throws {
        #expect(Self.cases.valid.count == 4)
        for item in Self.cases.valid {
            #expect(try MeetingCalendar.ics(item.payload) == item.ics, "\(item.comment)")
            // Every line of the event is at most 75 octets and ends with CRLF.
            let ics = try MeetingCalendar.ics(item.payload)
            #expect(ics.hasSuffix("\r\n"))
            for line in ics.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 75, "\(line)") }
        }
    }

    @Test func invalidMeetingsGiveNoEvent() {
        #expect(Self.cases.invalid.count == 6)
        for item in Self.cases.invalid {
            #expect(throws: (any Error).self, "\(item.comment)") { try MeetingCalendar.ics(item.payload) }
        }
    }

    /// A payload read from a message round-trips through the one encoding this client sends.
    @Test func aPayloadRoundTripsAndUnknownTypesAreRefused() throws {
        let meeting = MessagePayload.meeting(
            start: Date(timeIntervalSince1970: 1_800_000_000), minutes: 45, topic: "Coffee", place: "Library",
            link: nil, replaces: nil)
        #expect(try MessagePayload.decode(try meeting.encoded()) == meeting)
        #expect(meeting.start == "2027-01-15T08:00:00Z" && meeting.id?.count == 22)
        for bad in [#"{"type":"poll"}"#, #"["text"]"#, #"{"type":"text","text":""}"#, "not json"] {
            #expect(throws: (any Error).self, "\(bad)") { try MessagePayload.decode(bad) }
        }
    }
}
