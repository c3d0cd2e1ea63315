import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The conversation commands (Specs/messages.md) between two CLI members, against a real server process and
/// SQLite file.
@Suite(.serialized) struct ConversationCommandTests {
    /// Two members with a verified match (alice wanted bob as a mentor).
    static func matched() throws -> (ServerProcess, CLIMember, CLIMember) {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        try alice.join(invite: invite)
        try bob.join(invite: invite)
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        try bob.ok(["interest", "add", "alice", "--as", "mentee"])
        #expect(try alice.matches().first?.verified == true)
        return (server, alice, bob)
    }

    struct Listed: Decodable, Equatable {
        var handle: String
        var messages: Int
        var unread: Int
        var ended: Bool
    }

    struct Transcript: Decodable {
        struct Entry: Decodable {
            var seq: Int
            var fromMe: Bool
            var payload: [String: JSONValue]?
            var problem: String?
        }
        var ended: Bool
        var messages: [Entry]
    }

    enum JSONValue: Decodable, Equatable {
        case string(String)
        case number(Int)
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }
        var text: String? { if case .string(let s) = self { s } else { nil } }
    }

    static func list(_ member: CLIMember) throws -> [Listed] {
        try JSONDecoder().decode([Listed].self, from: Data(try member.ok(["conversations", "--json"]).utf8))
    }

    static func read(_ member: CLIMember, _ handle: String) throws -> Transcript {
        try JSONDecoder().decode(Transcript.self, from: Data(try member.ok(["read", handle, "--json"]).utf8))
    }

    @Test func twoMembersWriteShareContactsAgreeAMeetingAndEnd() throws {
        let (server, alice, bob) = try Self.matched()
        #expect(try Self.list(alice) == [Listed(handle: "bob", messages: 0, unread: 0, ended: false)])
        try alice.ok(["send", "bob", "Coffee next week?"])
        try alice.ok(["send", "bob", "I am free on Thursday."])
        #expect(try Self.list(bob) == [Listed(handle: "alice", messages: 2, unread: 2, ended: false)])
        let bobReads = try Self.read(bob, "alice")
        #expect(bobReads.messages.map { $0.payload?["text"]?.text } == ["Coffee next week?", "I am free on Thursday."])
        #expect(try Self.list(bob).first?.unread == 0)
        // A reply through standard input, and alice's own messages stay readable to her (kept on her device).
        let piped = Process()
        piped.executableURL = binDirectory.appendingPathComponent("reciprocity")
        piped.arguments = ["send", "alice"]
        piped.environment = ProcessInfo.processInfo.environment.merging(["RECIPROCITY_HOME": bob.home.path]) { $1 }
        let input = Pipe()
        piped.standardInput = input
        piped.standardOutput = Pipe()
        try piped.run()
        input.fileHandleForWriting.write(Data("Thursday works.\n".utf8))
        try input.fileHandleForWriting.close()
        piped.waitUntilExit()
        #expect(piped.terminationStatus == 0)
        let aliceReads = try Self.read(alice, "bob")
        #expect(
            aliceReads.messages.map { "\($0.fromMe):\($0.payload?["text"]?.text ?? "")" } == [
                "true:Coffee next week?", "true:I am free on Thursday.", "false:Thursday works.",
            ])
        // Contact details: kept in the state file (0600) and sent only inside an envelope.
        try alice.ok(["contact", "set", "--email", "alice@example.org", "--phone", "+44 20 7946 0000"])
        #expect(try alice.ok(["contact", "show"]).contains("alice@example.org"))
        try alice.ok(["send", "bob", "--contact"])
        #expect(try Self.read(bob, "alice").messages.last?.payload?["email"]?.text == "alice@example.org")
        #expect(try server.count("SELECT count(*) FROM message") == 4)
        // A meeting: bob suggests another time, alice accepts it; both print the same event.
        try alice.ok([
            "meet", "bob", "--at", "2026-12-10T15:00:00+01:00", "--place", "Café Rouge, Leeds; by the window",
            "--topic", "Coffee",
        ])
        try bob.ok(["read", "alice"])
        #expect(try bob.ok(["meet", "suggest", "alice", "--at", "2026-12-11T09:30:00Z"]).contains("suggested meeting"))
        let aliceIcs = try alice.ok(["meet", "accept", "bob"])
        let bobIcs = try bob.ok(["meet", "ics", "alice"])
        #expect(aliceIcs == bobIcs)
        #expect(aliceIcs.contains("DTSTART:20261211T093000Z\r\n"))
        #expect(aliceIcs.contains("LOCATION:Café Rouge\\, Leeds\\; by the window\r\n"))
        #expect(aliceIcs.hasPrefix("BEGIN:VCALENDAR\r\n") && aliceIcs.hasSuffix("END:VCALENDAR\r\n"))
        // The state file stays private; nothing of the contact details or texts is in the server's file.
        let stateFile = try FileManager.default.subpathsOfDirectory(atPath: alice.home.path)
            .first { $0.hasSuffix("state.json") }!
        let mode =
            try FileManager.default.attributesOfItem(atPath: alice.home.appendingPathComponent(stateFile).path)[
                .posixPermissions] as? Int
        #expect(mode == 0o600)
        // bob ends it: alice sees it ended and cannot send; the server holds no message any more.
        try bob.ok(["end", "alice"])
        #expect(try Self.list(alice).first?.ended == true)
        #expect(try Self.read(alice, "bob").ended)
        let refused = try alice.cli(["send", "bob", "still there?"])
        #expect(refused.status != 0 && refused.stderr.contains("ended"), "\(refused.stderr)")
        #expect(try server.count("SELECT count(*) FROM message") == 0)
        server.stop()
        for suffix in ["", "-wal"] {
            let bytes = FileManager.default.contents(atPath: server.database + suffix) ?? Data()
            #expect(bytes.range(of: Data("alice@example.org".utf8)) == nil)
            #expect(bytes.range(of: Data("Coffee next week".utf8)) == nil)
        }
    }

    struct ListedReport: Decodable, Equatable {
        struct Quoted: Decodable, Equatable {
            var seq: Int
            var fromMe: Bool
            var text: String
        }
        var reporter: String
        var reported: String
        var reason: String
        var messages: [Quoted]
    }

    static func reports(_ server: ServerProcess) throws -> [ListedReport] {
        struct Listed: Decodable { var reports: [ListedReport] }
        return try JSONDecoder().decode(
            Listed.self, from: Data(try server.admin(["report", "list", "acme", "--json"]).utf8)
        ).reports
    }

    /// `reciprocity report`: without --include-messages the operator's list holds the reason and no message; with
    /// it, exactly the messages the reporter's device shows, each payload's JSON as stored (what the plain-text
    /// rule refuses, written by the other member, is escaped, so it cannot make the report refused), both sides,
    /// and a message that did not open here is not quoted. A report after the end works; bad input is one
    /// sentence and a non-zero exit.
    @Test func aReportReachesTheOperatorWithMessagesOnlyWhenAsked() throws {
        let (server, alice, bob) = try Self.matched()
        try alice.ok(["send", "bob", "Coffee next week?"])
        // What the plain-text rule refuses in a report: a zero-width space, a bidi override, a C1 control, which the
        // server escapes (Tests/web/test_conversations.py quotes the same from the page).
        try bob.ok(["send", "alice", "Hi\u{200B} Erin\u{202E} e\u{301}\u{301}\u{301}\u{301}\u{301} \u{85}end"])
        try alice.ok(["read", "bob"])
        #expect(
            try alice.ok(["report", "bob", "--reason", "Rude"])
                == "reported bob to the operator and the program's organizers, without any message\n")
        #expect(
            try Self.reports(server) == [ListedReport(reporter: "alice", reported: "bob", reason: "Rude", messages: [])]
        )
        let with = try alice.ok(["report", "bob", "--reason", "Rude, twice", "--include-messages"])
        #expect(with == "reported bob to the operator and the program's organizers, with 2 messages, in clear\n")
        let quoted = try #require(try Self.reports(server).first)
        #expect(try Self.reports(server).count == 1)
        #expect(quoted.reason == "Rude, twice")
        #expect(
            quoted.messages == [
                .init(seq: 1, fromMe: true, text: #"{"text":"Coffee next week?","type":"text"}"#),
                .init(
                    seq: 2, fromMe: false,
                    // NFC makes e and a mark one character with four marks left, which the rule takes.
                    text: #"{"text":"Hi\u200B Erin\u202E \#u{E9}\#u{301}\#u{301}\#u{301}\#u{301} \u0085end","#
                        + #""type":"text"}"#),
            ])
        // Each quoted text reads as the payload the device shows.
        let shown = try Self.read(alice, "bob").messages.map { $0.payload?["text"]?.text }
        #expect(
            try quoted.messages.map {
                try JSONDecoder().decode([String: String].self, from: Data($0.text.utf8))["text"]
            }
                == shown)
        // A message this device cannot open is not quoted: bob's message is damaged on the server before alice reads.
        try bob.ok(["send", "alice", "second"])
        try server.tamper("UPDATE message SET envelope = zeroblob(length(envelope)) WHERE seq = 3")
        try alice.ok(["read", "bob"])
        try alice.ok(["report", "bob", "--reason", "Again", "--include-messages"])
        #expect(try Self.reports(server).first?.messages.map(\.seq) == [1, 2])
        // After the end, bob reports too, with what his device shows: his own two messages (he never read
        // alice's, and the end deleted it from the server).
        try bob.ok(["end", "alice"])
        try bob.ok(["report", "alice", "--reason", "Pushy", "--include-messages"])
        let bobs = try #require(try Self.reports(server).first { $0.reporter == "bob" })
        #expect(bobs.messages.map(\.seq) == [2, 3] && bobs.messages.allSatisfy(\.fromMe))
        for arguments in [
            ["report", "bob", "--reason", "  "], ["report", "carol", "--reason", "who?"], ["report", "bob"],
            ["report", "bob", "--reason", String(repeating: "x", count: 2001)],
        ] {
            let result = try alice.cli(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        #expect(try Self.reports(server).count == 2)
    }

    /// The other member cannot make a report with messages impossible: a character whose NFC has too many
    /// combining marks, escapes that lengthen a quote past a message's size, messages that together pass the
    /// server's body limit. Each report is accepted and quotes what `read` showed; the newest that fit go, and the
    /// command says how many older ones were left out.
    @Test func aReportWithMessagesIsAlwaysSendableAndQuotesWhatWasShown() throws {
        let with = "reported bob to the operator and the program's organizers, with"
        // Three U+0344 are five combining marks on one character once NFC-normalised (x with diaeresis).
        try Self.reportsWhatWasShown(
            after: ["x" + String(repeating: "\u{344}", count: 3)], "\(with) 1 message, in clear\n")
        // 1,332 zero-width spaces (3,996 bytes; between letters, as `send` trims them at the ends) escape to 7,992
        // characters.
        try Self.reportsWhatWasShown(
            after: ["x" + String(repeating: "\u{200B}", count: 1_332) + "y"], "\(with) 1 message, in clear\n")
        // 45 messages of 2,000 quotation marks: about 8 KB each in the request, 360 KB in all.
        try Self.reportsWhatWasShown(
            after: Array(repeating: String(repeating: "\"", count: 2_000), count: 45),
            "\(with) 32 messages, in clear; 13 older ones did not fit in one report and were left out\n")
    }

    /// In a new conversation bob sends `texts`; alice reads them and reports bob with the messages: the command
    /// prints `expected`, and the report quotes the newest of what `read` showed.
    static func reportsWhatWasShown(after texts: [String], _ expected: String) throws {
        let (server, alice, bob) = try Self.matched()
        defer { server.stop() }
        for text in texts { try bob.ok(["send", "alice", text]) }
        try alice.ok(["read", "bob"])
        let result = try alice.cli(["report", "bob", "--reason", "Odd", "--include-messages"])
        #expect(result.status == 0 && result.stdout == expected, "\(result.stdout)\(result.stderr)")
        let quoted = try Self.reports(server).first?.messages ?? []
        let shown = try Self.read(alice, "bob").messages
        let newest = Array(shown.suffix(quoted.count))
        #expect(quoted.map(\.seq) == newest.map(\.seq))
        #expect(
            try quoted.map { try JSONDecoder().decode([String: String].self, from: Data($0.text.utf8))["text"] }
                == newest.map { $0.payload?["text"]?.text })
    }

    /// A counterpart's text reaches the terminal as visible text only.
    @Test func aHostileMessageCannotDriveTheTerminal() throws {
        let (_, alice, bob) = try Self.matched()
        let hostile = "hi\u{1b}]0;owned\u{7}\n[2026-01-01T00:00:00Z] you: fake line\u{202e}txt.exe"
        try bob.ok(["send", "alice", hostile])
        let printed = try alice.ok(["read", "bob"])
        #expect(!printed.unicodeScalars.contains { [0x1b, 0x07, 0x202e].contains($0.value) }, "\(printed)")
        #expect(!printed.split(separator: "\n").contains { $0.hasPrefix("[2026-01-01") }, "\(printed)")
        #expect(try Self.read(alice, "bob").messages.first?.payload?["text"]?.text == hostile)
    }

    /// Bad input: one sentence and a non-zero exit, and no change to the state file.
    @Test func badInputIsRefusedPlainlyAndChangesNothing() throws {
        let (_, alice, bob) = try Self.matched()
        let before = try alice.memberFacts()
        for arguments in [
            ["send", "carol", "hello"], ["send", "bob", String(repeating: "x", count: 4001)],
            ["meet", "bob", "--at", "tomorrow", "--place", "here", "--topic", "t"],
            ["meet", "bob", "--at", "2026-12-10T15:00:00Z", "--topic", "no place"],
            ["meet", "bob", "--at", "2026-12-10T15:00:00Z", "--link", "http://insecure", "--topic", "t"],
            ["meet", "bob", "--at", "2026-12-10T15:00:00Z", "--place", "here", "--topic", "t", "--minutes", "4"],
            ["send", "bob", "--contact"], ["send", "bob", "   "], ["contact", "set", "--note", "no way to reach me"],
        ] {
            let result = try alice.cli(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        // Refused before anything was sealed or sent: the member's state is as it was.
        #expect(try alice.memberFacts() == before)
        for arguments in [["meet", "accept", "bob"], ["meet", "ics", "bob"], ["read", "carol"], ["end", "carol"]] {
            let result = try alice.cli(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        _ = bob
    }

    /// Two matches with one person (here two relations in one epoch; two epochs are the same case): a command
    /// that names only the handle is refused in one sentence that says how to choose, before anything is sealed
    /// or read, and `--as` / `--epoch` pick the conversation. Before, the newest was taken silently.
    @Test func aSecondMatchWithThePersonMakesTheChoiceExplicit() throws {
        let (server, alice, bob) = try Self.matched()
        defer { server.stop() }
        try alice.ok(["interest", "add", "bob", "--as", "peer"])
        try bob.ok(["interest", "add", "alice", "--as", "peer"])
        #expect(try alice.matches().filter(\.verified).count == 2)
        struct Chosen: Decodable { var handle: String, epoch: Int, wants: String? }
        let listed = try JSONDecoder().decode(
            [Chosen].self, from: Data(try alice.ok(["conversations", "--json"]).utf8))
        #expect(listed.map(\.handle) == ["bob", "bob"])
        #expect(Set(listed.compactMap(\.wants)) == ["mentor", "peer"])
        let epoch = "\(listed[0].epoch)"
        let before = try alice.memberFacts()
        for arguments in [
            ["read", "bob"], ["send", "bob", "hello"], ["end", "bob"], ["read", "bob", "--epoch", epoch],
            ["meet", "bob", "--at", "2026-12-10T15:00:00Z", "--place", "here", "--topic", "t"],
            ["report", "bob", "--reason", "spam"],
        ] {
            let result = try alice.cli(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            let sentence = "Error: you have 2 matches with bob: choose one with --as "
            #expect(result.stderr.hasPrefix(sentence), "\(result.stderr)")
            #expect(result.stderr.contains("--as mentor") && result.stderr.contains("--as peer"), "\(result.stderr)")
        }
        #expect(try alice.memberFacts() == before)
        for arguments in [["read", "bob", "--as", "mentee"], ["send", "bob", "hi", "--epoch", "99"]] {
            let result = try alice.cli(arguments)
            #expect(result.status != 0 && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        try alice.ok(["send", "bob", "as your mentee", "--as", "mentor"])
        try alice.ok(["send", "bob", "as your peer", "--as", "peer", "--epoch", epoch])
        let asMentor = try JSONDecoder().decode(
            Transcript.self, from: Data(try bob.ok(["read", "alice", "--as", "mentee", "--json"]).utf8))
        let asPeer = try JSONDecoder().decode(
            Transcript.self, from: Data(try bob.ok(["read", "alice", "--as", "peer", "--json"]).utf8))
        #expect(asMentor.messages.map { $0.payload?["text"]?.text } == ["as your mentee"])
        #expect(asPeer.messages.map { $0.payload?["text"]?.text } == ["as your peer"])
        #expect(try alice.ok(["report", "bob", "--reason", "spam", "--as", "peer"]).hasPrefix("reported bob"))
    }

    /// The ratchet state is saved before a send's request goes out and kept whatever happens to the request:
    /// with the network cut at every point of `send` in turn (before a request, or after it with its answer
    /// lost), every envelope the server stored still opens on the other side, none is refused as a replay (a key
    /// used twice), and the next message after the failures reads too.
    @Test func aSendCutAnywhereNeverUsesAKeyTwice() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let proxy = try FaultProxy(to: server.port)
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        try alice.ok(["join", "--server", proxy.url, "--program", "acme", "--invite", invite, "--handle", "alice"])
        try bob.join(invite: invite)
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        try bob.ok(["interest", "add", "alice", "--as", "mentee"])
        try alice.ok(["send", "bob", "first"])
        var cuts = 0
        for cut in FaultProxy.Cut.allCases {
            for passing in 0..<40 {
                proxy.arm(passing: passing, cut: cut)
                let result = try alice.cli(["send", "bob", "attempt \(cut) \(passing)"])
                proxy.arm(passing: nil)
                if result.status == 0 && !proxy.didCut { break }
                if result.status != 0 { cuts += 1 }
            }
        }
        #expect(cuts > 6)
        try alice.ok(["send", "bob", "last"])
        let read = try Self.read(bob, "alice").messages
        #expect(read.allSatisfy { $0.problem == nil }, "\(read.compactMap(\.problem))")
        #expect(read.first?.payload?["text"]?.text == "first" && read.last?.payload?["text"]?.text == "last")
        // Every attempt whose request reached the server was stored once and reads.
        #expect(try server.count("SELECT count(*) FROM message") == read.count)
    }

    /// Two commands at once on one membership: the second waits for the first (a `state.lock` held here stands
    /// for a long `reciprocity conversations` in another terminal), so it reads what the first saved and a
    /// send's advanced chain is never rolled back by a stale copy (which made the next send reuse a key and
    /// nonce). Without the lock the send finished while the other command still ran.
    @Test func aSecondCommandWaitsForTheFirstInsteadOfUndoingIt() throws {
        let (server, alice, bob) = try Self.matched()
        defer { server.stop() }
        let states = FileManager.default.enumerator(at: alice.home, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.lastPathComponent == "state.json" }
        let lockPath = try #require(states.first).deletingLastPathComponent().appendingPathComponent("state.lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        try #require(flock(fd, LOCK_EX) == 0)
        let finished = Mutex<CommandResult?>(nil)
        let sender = Thread {
            let result = try? alice.cli(["send", "bob", "while another command runs"])
            finished.withLock { $0 = result }
        }
        sender.start()
        Thread.sleep(forTimeInterval: 2)
        #expect(finished.withLock { $0 } == nil, "the send ran while another command held the membership")
        close(fd)
        let deadline = Date().addingTimeInterval(60)
        while finished.withLock({ $0 }) == nil, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let result = try #require(finished.withLock { $0 })
        #expect(result.status == 0, "\(result.stderr)")
        try alice.ok(["send", "bob", "and after it"])
        let transcript = try Self.read(bob, "alice")
        #expect(transcript.messages.count == 2)
        #expect(transcript.messages.allSatisfy { $0.problem == nil })
    }
}
