import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityClient

// The conversation of a verified match (Specs/messages.md): every message is sealed and opened on this device;
// the server relays envelopes. Everything the counterpart wrote is printed through terminalSafe.

/// `--as` and `--epoch`: which conversation with HANDLE a command means, needed only when the member matched that
/// person more than once (in two epochs, or in two relations); the client refuses to guess.
struct ConversationChoiceOptions: ParsableArguments {
    @Option(
        name: .customLong("as"),
        help: "If you matched them more than once: the match where you wanted them as mentor, mentee or peer.")
    var wants: String?
    @Option(help: "If you matched them more than once: the match of this epoch ('reciprocity conversations').")
    var epoch: UInt32?

    func choice() throws -> ConversationChoice { ConversationChoice(epoch: epoch, wants: try wants.map(wantedRole)) }
}

struct Conversations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the conversations of your verified matches: messages, unread, ended.")
    @OptionGroup var membership: MembershipOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        var session = try await membership.connect()
        let list = try await session.conversationList()
        if json { return try printJSON(list) }
        for item in list {
            let state = item.ended ? "ended" : "\(item.unread) unread"
            let match = "as \(item.wants?.rawValue ?? "?"), epoch \(item.epoch)"
            print("\(terminalSafe(item.handle)) (\(match)): \(item.messages) messages, \(state)")
        }
        if list.isEmpty { print("no conversations yet (they start at a verified match)") }
    }
}

struct Read: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the conversation with a match, decrypted on this device, in order.")
    @OptionGroup var membership: MembershipOptions
    @Argument(help: "The handle of the match.") var handle: String
    @OptionGroup var match: ConversationChoiceOptions
    @Flag(help: "Print JSON.") var json = false

    struct Entry: Encodable {
        var seq: Int64
        var fromMe: Bool
        var sentAt: Date
        var payload: MessagePayload?
        var problem: String?
    }

    func run() async throws {
        var session = try await membership.connect()
        let conversation = try await session.read(handle, try match.choice())
        let entries = conversation.messages.map { message in
            var entry = Entry(
                seq: message.seq, fromMe: message.fromMe, sentAt: message.sentAt, problem: message.problem)
            if let text = message.payload {
                do { entry.payload = try MessagePayload.decode(text) } catch { entry.problem = "\(error)" }
            }
            return entry
        }
        if json {
            struct Output: Encodable {
                var handle: String
                var ended: Bool
                var messages: [Entry]
            }
            return try printJSON(Output(handle: handle, ended: conversation.ended, messages: entries))
        }
        let accepted = Set(conversation.meetings.filter(\.accepted).compactMap(\.meeting.id))
        for entry in entries {
            let who = entry.fromMe ? "you" : terminalSafe(handle)
            let stamp = ISO8601DateFormatter().string(from: entry.sentAt)
            guard let payload = entry.payload else {
                print("[\(stamp)] \(who): (\(terminalSafe(entry.problem ?? "cannot be shown")))")
                continue
            }
            print("[\(stamp)] \(who): \(terminalSafe(Self.describe(payload, accepted: accepted)))")
        }
        if entries.isEmpty { print("no messages yet") }
        if conversation.ended { print("this conversation was ended: no more messages can be sent") }
    }

    /// One line for a payload; the caller makes it terminal-safe.
    static func describe(_ p: MessagePayload, accepted: Set<String>) -> String {
        switch p.type {
        case "text": return p.text ?? ""
        case "contact":
            let parts = [("email", p.email), ("phone", p.phone), ("chat", p.chat), ("note", p.note)]
                .compactMap { name, value in value.map { "\(name) \($0)" } }
            return "contact details: " + parts.joined(separator: "; ")
        case "meeting":
            let whereText = [p.place, p.link].compactMap { $0 }.joined(separator: ", ")
            let state = accepted.contains(p.id ?? "") ? " (accepted: 'reciprocity meet ics' prints the event)" : ""
            let instead = p.replaces.map { " instead of meeting \($0)" } ?? ""
            return
                "proposes a meeting\(instead): \(p.topic ?? ""), \(p.start ?? "") for \(p.minutes ?? 0) minutes at \(whereText) [id \(p.id ?? "")]\(state)"
        case "meeting-reply":
            return "\(p.answer == "accept" ? "accepts" : "declines") meeting \(p.id ?? "")"
        default: return "a message this version cannot show"
        }
    }
}

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a message to a match (the text, or standard input), or share your contact details.")
    @OptionGroup var membership: MembershipOptions
    @Argument(help: "The handle of the match.") var handle: String
    @Argument(help: "The text (default: read from standard input).") var text: String?
    @Flag(help: "Share the contact details saved with 'reciprocity contact set'.") var contact = false
    @OptionGroup var match: ConversationChoiceOptions

    func run() async throws {
        let choice = try match.choice()
        var session = try await membership.connect()
        let payload: MessagePayload
        if contact {
            guard text == nil else { throw CLIFailure("give either a text or --contact, not both") }
            guard let details = session.state.contact else {
                throw CLIFailure("you have no contact details saved; run 'reciprocity contact set' first")
            }
            payload = .contact(details)
        } else {
            let body = text ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw CLIFailure("the message is empty") }
            payload = .text(trimmed)
        }
        let sent = try await session.send(payload, to: handle, choice)
        print("sent to \(terminalSafe(handle)) (message \(sent.seq))")
    }
}

struct End: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "End the conversation with a match: the server deletes its messages and refuses new ones.")
    @OptionGroup var membership: MembershipOptions
    @Argument(help: "The handle of the match.") var handle: String
    @OptionGroup var match: ConversationChoiceOptions

    func run() async throws {
        var session = try await membership.connect()
        try await session.endConversation(handle, try match.choice())
        print("ended the conversation with \(terminalSafe(handle))")
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Report a match to the operator and the program's organizers, with a reason and, if asked, the messages.",
        discussion: """
            Without --include-messages nothing of the conversation leaves this device. With it, every message \
            this device shows of it goes decrypted, in clear, as shown, the newest that fit one report (256 KiB; \
            the command says how many older ones were left out): the operator and the program's organizers can \
            read them (Specs/messages.md section 9b). A new report of the conversation replaces the last.
            """)
    @OptionGroup var membership: MembershipOptions
    @Argument(help: "The handle of the match.") var handle: String
    @Option(help: "What happened (up to 2,000 characters).") var reason: String
    @Flag(help: "Also send the messages of the conversation, decrypted: whoever reads the report can read them.")
    var includeMessages = false
    @OptionGroup var match: ConversationChoiceOptions

    func run() async throws {
        var session = try await membership.connect()
        let quoted = try await session.report(
            handle, try match.choice(), reason: reason, includeMessages: includeMessages)
        var with = "without any message"
        if includeMessages { with = "with \(quoted.sent) message\(quoted.sent == 1 ? "" : "s"), in clear" }
        if quoted.leftOut == 1 {
            with += "; 1 older one did not fit in one report and was left out"
        } else if quoted.leftOut > 1 {
            with += "; \(quoted.leftOut) older ones did not fit in one report and were left out"
        }
        print("reported \(terminalSafe(handle)) to the operator and the program's organizers, \(with)")
    }
}

struct Contact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your contact details, kept only in this device's state file and shared with 'send --contact'.",
        subcommands: [Set.self, Show.self, Clear.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save your contact details on this device.")
        @OptionGroup var membership: MembershipOptions
        @Option(help: "Email address.") var email: String?
        @Option(help: "Phone number.") var phone: String?
        @Option(help: "Chat handle.") var chat: String?
        @Option(help: "A note, e.g. when to call.") var note: String?

        func run() async throws {
            var session = try membership.open()
            try session.setContact(ContactDetails(email: email, phone: phone, chat: chat, note: note))
            print("contact details saved on this device only")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the contact details saved on this device.")
        @OptionGroup var membership: MembershipOptions
        func run() async throws {
            guard let details = try membership.open().state.contact else { return print("no contact details saved") }
            print(terminalSafe(Read.describe(.contact(details), accepted: [])))
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the contact details from this device.")
        @OptionGroup var membership: MembershipOptions
        func run() async throws {
            var session = try membership.open()
            try session.setContact(nil)
            print("contact details deleted from this device")
        }
    }
}

struct Meet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Propose a meeting to a match, accept one or suggest another time, print an accepted one as .ics.",
        subcommands: [Propose.self, Accept.self, Suggest.self, Ics.self], defaultSubcommand: Propose.self)

    struct When: ParsableArguments {
        @Option(help: "Start, ISO 8601 with a time zone, e.g. 2026-12-10T15:00:00Z.") var at: String
        @Option(help: "Length in minutes (5-480).") var minutes = 30
        @Option(help: "Where.") var place: String?
        @Option(help: "An https:// link for a call.") var link: String?
        @Option(help: "What about.") var topic: String?

        func payload(replaces: String?, defaultTopic: String?) throws -> MessagePayload {
            let formatter = ISO8601DateFormatter()
            guard let start = formatter.date(from: at) else {
                throw CLIFailure("--at must be a time like 2026-12-10T15:00:00Z or 2026-12-10T16:00:00+01:00")
            }
            guard let topic = topic ?? defaultTopic else { throw CLIFailure("give --topic") }
            return .meeting(start: start, minutes: minutes, topic: topic, place: place, link: link, replaces: replaces)
        }
    }

    struct Propose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Propose a meeting.")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "The handle of the match.") var handle: String
        @OptionGroup var when: When
        @OptionGroup var match: ConversationChoiceOptions

        func run() async throws {
            var session = try await membership.connect()
            let payload = try when.payload(replaces: nil, defaultTopic: nil)
            _ = try await session.send(payload, to: handle, try match.choice())
            print("proposed meeting \(payload.id!) to \(terminalSafe(handle))")
        }
    }

    /// Prints the .ics of `meeting`: its exact bytes into a file or a pipe; on a terminal, each line through the
    /// terminal-safe printer (its text is the counterpart's), with a hint to redirect it.
    static func printEvent(_ meeting: MessagePayload) throws {
        let ics = try MeetingCalendar.ics(meeting)
        guard isatty(STDOUT_FILENO) == 1 else { return print(ics, terminator: "") }
        print(terminalSafeLines(ics.replacingOccurrences(of: "\r\n", with: "\n")), terminator: "")
        FileHandle.standardError.write(Data("(redirect it to a file for your calendar: > meeting.ics)\n".utf8))
    }

    /// The meeting `id`, or the newest the counterpart proposed.
    static func meeting(_ conversation: LocalConversation, id: String?, fromPeer: Bool) throws -> (
        meeting: MessagePayload, fromMe: Bool, accepted: Bool
    ) {
        let found = conversation.meetings.last { id == nil ? (!fromPeer || !$0.fromMe) : $0.meeting.id == id }
        guard let found else {
            throw CLIFailure("no such meeting in the conversation with \(terminalSafe(conversation.handle))")
        }
        return found
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a meeting (the newest they proposed, or ID) and print it as .ics.")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "The handle of the match.") var handle: String
        @Argument(help: "The meeting's id (default: the newest they proposed).") var id: String?
        @OptionGroup var match: ConversationChoiceOptions

        func run() async throws {
            let choice = try match.choice()
            var session = try await membership.connect()
            let found = try Meet.meeting(try await session.read(handle, choice), id: id, fromPeer: true)
            guard !found.fromMe else { throw CLIFailure("that meeting is your own proposal") }
            _ = try await session.send(.reply(to: found.meeting.id!, accept: true), to: handle, choice)
            try Meet.printEvent(found.meeting)
        }
    }

    struct Suggest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suggest another time for a meeting they proposed (the newest, or --instead-of ID).")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "The handle of the match.") var handle: String
        @Option(help: "The meeting's id.") var insteadOf: String?
        @OptionGroup var when: When
        @OptionGroup var match: ConversationChoiceOptions

        func run() async throws {
            let choice = try match.choice()
            var session = try await membership.connect()
            let found = try Meet.meeting(try await session.read(handle, choice), id: insteadOf, fromPeer: true)
            var payload = try when.payload(replaces: found.meeting.id, defaultTopic: found.meeting.topic)
            if when.place == nil && when.link == nil {
                payload.place = found.meeting.place
                payload.link = found.meeting.link
            }
            _ = try await session.send(payload, to: handle, choice)
            print("suggested meeting \(payload.id!) to \(terminalSafe(handle)) instead of \(found.meeting.id!)")
        }
    }

    struct Ics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an accepted meeting (the newest, or ID) as an RFC 5545 .ics event.")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "The handle of the match.") var handle: String
        @Argument(help: "The meeting's id.") var id: String?
        @OptionGroup var match: ConversationChoiceOptions

        func run() async throws {
            var session = try await membership.connect()
            let conversation = try await session.read(handle, try match.choice())
            guard let found = conversation.meetings.last(where: { $0.accepted && (id == nil || $0.meeting.id == id) })
            else { throw CLIFailure("no accepted meeting in the conversation with \(terminalSafe(handle))") }
            try Meet.printEvent(found.meeting)
        }
    }
}
