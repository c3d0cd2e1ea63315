public import Foundation
import ReciprocityCore

/// One payload of a conversation (Specs/messages.md section 9): a JSON object with a `type`, checked against
/// the section's limits both when this client writes one and when it reads one. Every string in it is the
/// sender's untrusted text.
public struct MessagePayload: Codable, Sendable, Equatable {
    public var type: String
    public var text: String?
    // contact
    public var email: String?
    public var phone: String?
    public var chat: String?
    public var note: String?
    // meeting, meeting-reply
    public var id: String?
    public var start: String?
    public var minutes: Int?
    public var topic: String?
    public var place: String?
    public var link: String?
    public var replaces: String?
    public var answer: String?

    public init(type: String) { self.type = type }

    public static func text(_ text: String) -> MessagePayload {
        var payload = MessagePayload(type: "text")
        payload.text = text
        return payload
    }

    public static func contact(_ details: ContactDetails) -> MessagePayload {
        var payload = MessagePayload(type: "contact")
        payload.email = details.email
        payload.phone = details.phone
        payload.chat = details.chat
        payload.note = details.note
        return payload
    }

    public static func reply(to id: String, accept: Bool) -> MessagePayload {
        var payload = MessagePayload(type: "meeting-reply")
        payload.id = id
        payload.answer = accept ? "accept" : "decline"
        return payload
    }

    /// A new meeting: a fresh random `id` (16 bytes, base64url), `start` in UTC to the second.
    public static func meeting(
        start: Date, minutes: Int, topic: String, place: String?, link: String?, replaces: String?
    ) -> MessagePayload {
        var payload = MessagePayload(type: "meeting")
        payload.id = Base64URLText.encode((0..<16).map { _ in UInt8.random(in: .min ... .max) })
        payload.start = utcStamp(start)
        payload.minutes = minutes
        payload.topic = topic
        payload.place = place
        payload.link = link
        payload.replaces = replaces
        return payload
    }

    static func utcStamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// The one encoding this client sends and quotes in a report: compact JSON, members sorted, only the members
    /// of its `type` (what a screen shows of it), absent ones and an empty `note` left out. The page's
    /// `encodePayload` gives the same bytes.
    public func encoded() throws -> String {
        try check()
        var sent = MessagePayload(type: type)
        switch type {
        case "text":
            sent.text = text
        case "contact":
            (sent.email, sent.phone, sent.chat, sent.note) = (email, phone, chat, note == "" ? nil : note)
        case "meeting":
            (sent.id, sent.start, sent.minutes, sent.topic) = (id, start, minutes, topic)
            (sent.place, sent.link, sent.replaces) = (place, link, replaces)
        default:
            (sent.id, sent.answer) = (id, answer)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(sent), as: UTF8.self)
    }

    /// Reads a payload, refusing one that is not an object of a known type within section 9's limits, or that
    /// names a member twice (which JSON readers settle differently: this one would show the first, the page the
    /// last).
    public static func decode(_ text: String) throws -> MessagePayload {
        guard let payload = try? JSONDecoder().decode(MessagePayload.self, from: Data(text.utf8)),
            !DuplicateNames.present(in: Data(text.utf8))
        else {
            throw ClientError(.invalidPayload, "a message this version cannot show (not a payload it knows)")
        }
        try payload.check()
        return payload
    }

    /// Section 9's limits; the error names the member at fault.
    public func check() throws {
        func bytes(_ value: String?, _ name: String, _ range: ClosedRange<Int>, required: Bool = false) throws {
            guard let value else {
                if required { throw ClientError(.invalidPayload, "a \(type) message needs '\(name)'") }
                return
            }
            guard range.contains(value.utf8.count) else {
                throw ClientError(
                    .invalidPayload,
                    "'\(name)' of a \(type) message is \(range.lowerBound) to \(range.upperBound) bytes of UTF-8")
            }
        }
        switch type {
        case "text":
            try bytes(text, "text", 1...4000, required: true)
        case "contact":
            guard email != nil || phone != nil || chat != nil else {
                throw ClientError(.invalidPayload, "contact details need at least an email, a phone or a chat handle")
            }
            try bytes(email, "email", 1...254)
            try bytes(phone, "phone", 1...32)
            try bytes(chat, "chat", 1...128)
            try bytes(note, "note", 0...500)
        case "meeting":
            try Self.checkID(id)
            guard let start, Self.isUTCStamp(start) else {
                throw ClientError(.invalidPayload, "a meeting's start is a UTC time as YYYY-MM-DDTHH:MM:SSZ")
            }
            guard let minutes, (5...480).contains(minutes) else {
                throw ClientError(.invalidPayload, "a meeting lasts 5 to 480 minutes")
            }
            try bytes(topic, "topic", 1...200, required: true)
            guard place != nil || link != nil else {
                throw ClientError(.invalidPayload, "a meeting needs a place or a link")
            }
            try bytes(place, "place", 1...200)
            try bytes(link, "link", 9...500)
            if let link, !link.hasPrefix("https://") {
                throw ClientError(.invalidPayload, "a meeting's link is an https:// address")
            }
            if let replaces { try Self.checkID(replaces) }
        case "meeting-reply":
            try Self.checkID(id)
            guard answer == "accept" || answer == "decline" else {
                throw ClientError(.invalidPayload, "a meeting reply's answer is accept or decline")
            }
        default:
            throw ClientError(.invalidPayload, "a message this version cannot show (type '\(type)')")
        }
    }

    static func checkID(_ id: String?) throws {
        guard let id, id.utf8.count == 22, id.utf8.allSatisfy(Base64URLText.isAlphabet) else {
            throw ClientError(.invalidPayload, "a meeting's id is 22 characters of base64url")
        }
    }

    static func isUTCStamp(_ text: String) -> Bool {
        let digits = Array(text.utf8)
        guard digits.count == 20 else { return false }
        let pattern = Array("0000-00-00T00:00:00Z".utf8)
        for (c, p) in zip(digits, pattern) {
            if p == UInt8(ascii: "0") ? !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) : c != p { return false }
        }
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text).map { utcStamp($0) == text } ?? false
    }
}

/// base64url without padding, for the meeting ids.
enum Base64URLText {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static func isAlphabet(_ byte: UInt8) -> Bool { alphabet.contains(byte) }
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// The member's own contact details, kept only in this device's state file and sent only inside an encrypted
/// `contact` message.
public struct ContactDetails: Codable, Sendable, Equatable {
    public var email: String?
    public var phone: String?
    public var chat: String?
    public var note: String?
    public init(email: String? = nil, phone: String? = nil, chat: String? = nil, note: String? = nil) {
        self.email = email
        self.phone = phone
        self.chat = chat
        self.note = note
    }
}

/// The calendar event of an accepted meeting (Specs/messages.md section 9a): the same bytes from every client,
/// built from the `meeting` payload alone.
public enum MeetingCalendar {
    public static func ics(_ meeting: MessagePayload) throws -> String {
        guard meeting.type == "meeting" else { throw ClientError(.invalidPayload, "not a meeting") }
        try meeting.check()
        let start = meeting.start!.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Reciprocity//Conversations 1//EN", "CALSCALE:GREGORIAN",
            "BEGIN:VEVENT", "UID:\(meeting.id!)@reciprocity", "DTSTAMP:\(start)", "DTSTART:\(start)",
            "DURATION:PT\(meeting.minutes!)M", "SUMMARY:\(escape(meeting.topic!))",
        ]
        if let place = meeting.place { lines.append("LOCATION:\(escape(place))") }
        if let link = meeting.link {
            if meeting.place == nil { lines.append("LOCATION:\(escape(link))") }
            lines.append("DESCRIPTION:\(escape("Link: " + link))")
        }
        lines += ["END:VEVENT", "END:VCALENDAR"]
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 5545 section 3.3.11: backslash, semicolon and comma escaped, a line break as `\n`; other control
    /// characters dropped.
    static func escape(_ text: String) -> String {
        var out = ""
        let unified = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for scalar in unified.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// RFC 5545 section 3.1: lines of at most 75 octets, continued after CRLF and one space, never inside a
    /// character's UTF-8 bytes.
    static func fold(_ line: String) -> String {
        var out = ""
        var length = 0
        for scalar in line.unicodeScalars {
            let size = String(scalar).utf8.count
            if length + size > 75 {
                out += "\r\n "
                length = 1
            }
            out.unicodeScalars.append(scalar)
            length += size
        }
        return out
    }
}
