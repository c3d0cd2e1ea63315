import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityAPI
import ReciprocityClient
import ReciprocityCore

/// Which membership a command acts on: `--server` and `--program`, or the one last joined.
struct MembershipOptions: ParsableArguments {
    @Option(help: "Server URL, e.g. http://127.0.0.1:8080 (default: the membership last joined on this device).")
    var server: String?

    @Option(help: "Program name (default: the membership last joined on this device).")
    var program: String?

    var home: URL { MembershipFolder.home() }

    func open() throws -> Membership {
        guard (server == nil) == (program == nil) else {
            throw CLIFailure("give both --server and --program, or neither")
        }
        return try Membership.open(home: home, server: server, program: program)
    }

    /// Opens the membership for a command that contacts the server, with the step every such command begins
    /// with, whatever it is: the directory replica's sync when the replica is stale (Specs/client.md, 1a).
    func connect() async throws -> Membership {
        let membership = try open()
        try await membership.refreshDirectoryIfStale()
        return membership
    }
}

/// Profile fields shared by `join` and `profile set`.
struct ProfileOptions: ParsableArguments {
    @Option(help: "Name shown in the directory.") var displayName: String?
    @Option(help: "One line about you.") var headline: String?
    @Option(name: .customLong("tag"), help: "A skill or topic (repeat for several).") var tags: [String] = []
    @Flag(inversion: .prefixedNo, help: "Whether you offer mentoring.") var offersMentoring: Bool?
    @Flag(inversion: .prefixedNo, help: "Whether you seek mentoring.") var seeksMentoring: Bool?

    func apply(to profile: Profile) -> Profile {
        var profile = profile
        if let displayName { profile.displayName = displayName }
        if let headline { profile.headline = headline }
        if !tags.isEmpty { profile.tags = tags }
        if let offersMentoring { profile.offersMentoring = offersMentoring }
        if let seeksMentoring { profile.seeksMentoring = seeksMentoring }
        return profile
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = APICoding.encoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// The sentence for a round its organizers scheduled to close at `date` (ProgramInfo's `nextRoundAt`), in UTC.
func roundCloses(_ date: Date) -> String {
    "this round closes at \(ISO8601DateFormatter().string(from: date)); your interests are then sent again for the "
        + "new round by your next command; matches stay"
}

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a key pair on this device and join a program with an invite code.")

    @Option(help: "Server URL, e.g. http://127.0.0.1:8080.") var server: String
    @Option(help: "Program name.") var program: String
    @Option(help: "Invite code from the operator.") var invite: String
    @Option(help: "Your handle: 3-64 characters of a-z 0-9 . _ -") var handle: String
    @OptionGroup var profile: ProfileOptions

    func run() async throws {
        let membership = try await Membership.join(
            home: MembershipFolder.home(), server: server, program: program, invite: invite, handle: handle,
            profile: try profile.apply(to: Profile(displayName: profile.displayName ?? handle)).validated())
        // The directory replica's first sync, as every join has it: the next commands find it fresh.
        try await membership.refreshDirectoryIfStale()
        print("joined \(program) as \(handle); key fingerprint \(membership.publicKey.fingerprint)")
        print("state in \(membership.folder.url.path)")
        if let program = membership.joinedProgram { printAbout(program) }
    }
}

struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile", abstract: "Show or change your directory profile.", subcommands: [Show.self, Set.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show your profile as the directory shows it.")
        @OptionGroup var membership: MembershipOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let me = try await membership.connect().me()
            if json { return try printJSON(me) }
            let profile = me.member.profile
            print(
                terminalSafe(
                    "\(me.member.handle) in \(me.program.name) (epoch \(me.program.epoch), up to \(me.program.maxMarks) marks)"
                ))
            if let closes = me.program.nextRoundAt { print(roundCloses(closes)) }
            print("name: \(terminalSafe(profile.displayName))")
            print("headline: \(terminalSafe(profile.headline))")
            print("tags: \(terminalSafe(profile.tags.joined(separator: ", ")))")
            print(
                "offers mentoring: \(profile.offersMentoring ? "yes" : "no"); seeks mentoring: \(profile.seeksMentoring ? "yes" : "no")"
            )
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change the profile fields you give; the others keep their values.")
        @OptionGroup var membership: MembershipOptions
        @OptionGroup var profile: ProfileOptions

        func run() async throws {
            let session = try await membership.connect()
            let current = try await session.me().member.profile
            let updated = try await session.updateProfile(try profile.apply(to: current).validated())
            print("profile updated for \(terminalSafe(updated.handle))")
        }
    }
}

struct Directory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search your program's members, on this device's copy of the directory.",
        discussion: """
            The search, the filters and the pages are computed here: no request says what you look for. Like \
            every command that contacts the server, this one first syncs the copy if it is older than 5 minutes, \
            and otherwise sends nothing.
            """)

    @OptionGroup var membership: MembershipOptions
    @Option(help: "Only members with this tag.") var tag: String?
    @Flag(help: "Only members who offer mentoring.") var offersMentoring = false
    @Flag(help: "Only members who seek mentoring.") var seeksMentoring = false
    @Option(help: "Text in handle, name or headline (ignoring case, width and accents).") var search: String?
    @Option(help: "Start after this handle (the cursor printed at the end of a page).") var after: String?
    @Option(parsing: .unconditional, help: "Members per page (1-200).") var limit = 50
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...200).contains(limit) else { throw CLIFailure("--limit must be 1 to 200, got \(limit)") }
        if let tag, !Profile.isValidTag(tag) {
            throw CLIFailure("--tag must be 1 to 32 characters of a-z, 0-9, '+', '#', '.', '_', '-'")
        }
        let replica = try await membership.connect().folder.loadDirectory()
        let page = replica.page(
            DirectoryFilter(
                search: search, tag: tag, offersMentoring: offersMentoring, seeksMentoring: seeksMentoring,
                after: after,
                limit: limit))
        if json { return try printJSON(page) }
        for member in page.members {
            let roles = [
                member.profile.offersMentoring ? "mentor" : nil, member.profile.seeksMentoring ? "mentee" : nil,
            ]
            .compactMap { $0 }.joined(separator: "/")
            print(
                [
                    member.handle, member.profile.displayName, roles, member.profile.tags.joined(separator: ","),
                    member.profile.headline,
                ].map(terminalSafe).joined(separator: "\t"))
        }
        if let next = page.nextCursor { print("more: --after \(terminalSafe(next))") }
    }
}

/// `--as mentor|mentee|peer`: what the member wants the other person as (`--as mentor`: "I want them as my
/// mentor"; `--as mentee`: "I want to mentor them"; `--as peer`: "let's be peers"). Parsed in `run()` rather than by
/// ArgumentParser so that a bad value is one line, like every other error.
func wantedRole(_ text: String) throws -> Role {
    guard let role = Role(rawValue: text) else {
        throw CLIFailure("--as must be mentor, mentee or peer, got '\(text)'")
    }
    return role
}

struct Interest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Privately mark, unmark and list the people you would like to connect with.",
        subcommands: [Add.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "\"I would like HANDLE as my mentor / mentee / peer\": derived here, sent as tokens only.")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "Handles to mark.") var handles: [String]
        @Option(
            name: .customLong("as"),
            help:
                "What you want them as: mentor (\"I want them as my mentor\"), mentee (\"I want to mentor them\") or peer."
        )
        var wants: String
        @Option(
            parsing: .unconditional,
            help:
                "Keep this many marks pending on the server, 0 up to the program's limit, topping up with dummies (remembered; default: the program's limit, so the server cannot count your interests)."
        )
        var padTo: Int?
        @Option(help: "A note (at most 510 bytes) that only they can read, and only if they reciprocate.")
        var note: String?
        @Option(help: "Read the note from this file instead.")
        var noteFile: String?

        func run() async throws {
            let role = try wantedRole(wants)
            var text = note
            if let noteFile {
                guard note == nil else { throw CLIFailure("give --note or --note-file, not both") }
                guard let contents = try? String(contentsOfFile: noteFile, encoding: .utf8) else {
                    throw CLIFailure("cannot read note file '\(noteFile)' as UTF-8 text")
                }
                text = contents
            }
            if let text, text.utf8.count > SealedNote.maxNoteBytes {
                throw CLIFailure(
                    "a note is at most \(SealedNote.maxNoteBytes) bytes of UTF-8, this one is \(text.utf8.count)")
            }
            var session = try await membership.connect()
            for result in try await session.addInterest(handles, wants: role, padTo: padTo, note: text) {
                let note = result.state == .matched ? "matched (run 'reciprocity matches' to verify)" : "pending"
                print("\(result.handle) as \(role.rawValue): \(note)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw a pending interest.")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "The handle whose pending mark to withdraw.") var handle: String
        @Option(
            name: .customLong("as"),
            help: "mentor, mentee or peer, as you marked them (mentor: you wanted them as your mentor).") var wants:
            String

        func run() async throws {
            let role = try wantedRole(wants)
            var session = try await membership.connect()
            try await session.removeInterest(handle, wants: role)
            print("withdrew your interest in \(handle) as \(role.rawValue)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who you marked, from this device's records.")
        @OptionGroup var membership: MembershipOptions
        @Flag(help: "Print JSON.") var json = false

        struct Entry: Encodable {
            var handle: String
            var wants: String
            var epoch: UInt32
            var state: String
        }

        func run() async throws {
            let session = try membership.open()
            let entries = session.interests.map {
                Entry(
                    handle: $0.handle ?? "", wants: $0.wants?.rawValue ?? "", epoch: $0.epoch,
                    state: $0.matchedAt != nil
                        ? "matched"
                        : session.keyChanged($0)
                            ? "pending, key changed: check it and run 'reciprocity key trust \($0.handle ?? "")'"
                            : "pending")
            }
            if json { return try printJSON(entries) }
            if entries.isEmpty {
                print("no interests yet; add one with 'reciprocity interest add HANDLE --as mentor|mentee|peer'")
            }
            for entry in entries { print("\(terminalSafe(entry.handle))\tas \(entry.wants)\t\(entry.state)") }
        }
    }
}

struct Matches: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch your matches and verify each one's confirmation tag locally.")
    @OptionGroup var membership: MembershipOptions
    @Flag(help: "Print JSON.") var json = false

    struct Entry: Encodable {
        var handle: String
        var wants: String?
        var matchedAt: Date
        var verified: Bool
        var problem: String?
        var note: String?
        var noteProblem: String?
    }

    func run() async throws {
        var session = try await membership.connect()
        let reports = try await session.matches()
        if json {
            return try printJSON(
                reports.map {
                    Entry(
                        handle: $0.handle, wants: $0.wants?.rawValue, matchedAt: $0.matchedAt, verified: $0.verified,
                        problem: $0.problem, note: $0.note, noteProblem: $0.noteProblem)
                })
        }
        // Handles, notes and problems quote the server or the counterpart: printed with terminalSafe, so no
        // escape sequence or bidi override reaches the terminal and a note cannot fake a line of its own.
        for report in reports where report.verified {
            print("match: \(terminalSafe(report.handle)) (you wanted them as \(report.wants?.rawValue ?? "?"))")
            if let note = report.note { print("  note from \(terminalSafe(report.handle)): \(terminalSafe(note))") }
            if let problem = report.noteProblem {
                FileHandle.standardError.write(Data("warning: \(terminalSafe(problem))\n".utf8))
            }
        }
        for report in reports where !report.verified {
            FileHandle.standardError.write(
                Data(
                    "warning: unverified match reported for \(terminalSafe(report.handle)): \(terminalSafe(report.problem ?? ""))\n"
                        .utf8))
        }
        if reports.filter(\.verified).isEmpty { print("no matches yet") }
    }
}

struct Key: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Key fingerprints, checks of the server's key log, and key backups for another device.",
        subcommands: [Fingerprint.self, Trust.self, Rotate.self, Monitor.self, Head.self, Export.self, Import.self])

    /// Reads a file of tree head lines (`reciprocity-sth/v1 ...`), one per line; blank lines are skipped, every
    /// other line must be a head exactly (the strict grammar of Specs/transparency.md).
    static func gossipLines(_ path: String?) throws -> [String] {
        guard let path else { return [] }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CLIFailure("cannot read gossip file '\(path)'")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    struct Fingerprint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Your fingerprint, or a member's (pinned on first use).")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "A member's handle (default: your own key).") var handle: String?

        func run() async throws {
            var session = try await membership.connect()
            print(try await session.fingerprint(of: handle))
        }
    }

    struct Trust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept the key the server now serves for HANDLE, after checking its fingerprint with them.")
        @OptionGroup var membership: MembershipOptions
        @Argument(help: "The member whose new key you checked with them.") var handle: String

        func run() async throws {
            var session = try await membership.connect()
            print("now trusting \(handle): \(try await session.trust(handle))")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Replace your key pair and then your credential; pending interests are derived again with the new key.",
            discussion:
                "Members who pinned your old key will be asked to check your new fingerprint. The old credential stops working."
        )
        @OptionGroup var membership: MembershipOptions

        func run() async throws {
            var session = try await membership.connect()
            print("your new key fingerprint: \(try await session.rotateKey())")
        }
    }

    struct Monitor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Replay the key log and check it holds exactly your keys under your handle, in the order you made them.",
            discussion: "Heads others saw (--gossip) must be consistent with the one served to you, and no larger.")
        @OptionGroup var membership: MembershipOptions
        @Option(help: "File of tree head lines (reciprocity-sth/v1 ...) seen by others.") var gossip: String?

        func run() async throws {
            let heads = try Key.gossipLines(gossip)
            var session = try await membership.connect()
            let report = try await session.monitor(gossip: heads)
            print(
                "verified \(report.entriesChecked) log entries; \(report.ownEntries) for your handle, all yours in order"
            )
            if !heads.isEmpty { print("gossiped heads consistent: \(heads.count)") }
            print(report.treeHead)
        }
    }

    struct Head: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the latest verified tree head as one line, to compare with others (gossip).")
        @OptionGroup var membership: MembershipOptions

        func run() async throws {
            var session = try await membership.connect()
            print(try await session.currentTreeHead())
        }
    }
}

struct Credential: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace this device's credential.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Get a new credential from the server; the old one stops working at once.",
            discussion:
                "Run it (and 'key rotate') when a device or a backup holding your membership may be in someone else's hands."
        )
        @OptionGroup var membership: MembershipOptions

        func run() async throws {
            var session = try await membership.connect()
            try await session.rotateCredential()
            print("credential replaced; the old one no longer works")
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit a program's key log (--server, --program), or the web app a server delivers (--web).",
        discussion: """
            Key log: replays the log from the last head verified (kept in --state), checks every signed head, the \
            consistency proof from the previous head, that the entries hash to the signed root and that no \
            handle ever has two live keys. Heads gossiped by others (--gossip, one line each) must be \
            consistent with it. Exits non-zero on any inconsistency. The server shows its log only to \
            members, so this uses this device's membership of the program to read it.

            Web app: give --web the exact link members were given (any path; the #fragment is never sent), or \
            the server URL (its pages / and /join). The audit first opens it as Chromium does: the page, then \
            each file the page loads, with Chromium's headers in Chromium's order (Accept-Encoding included: \
            gzip, deflate, br and zstd answers are decoded; one in a coding it cannot decode fails the audit). \
            Then it fetches /web-manifest.json and every other asset, and each file again with a plain request. \
            It hashes the bytes served and compares them with the SHA-256 of the assets this CLI release was \
            built from, and checks each answer's headers against the ones reciprocityd sends (docs/web-audit.md \
            lists them); prints each file added, missing, changed, undecodable or with other headers (and a \
            manifest that does not match what is served, or a file served differently to the plain request), \
            one per line, and exits 1 on any difference.

            It presents itself as Google Chrome's current stable release (the major version computed from the \
            date on Chrome's four-week cadence, from Chrome 132 on 2025-01-14) on this machine's system, in \
            English. For requests a server cannot tell from yours, copy your own browser's values from its \
            developer tools (Network, the page's request headers) into --user-agent, --sec-ch-ua, \
            --sec-ch-ua-platform, --sec-ch-ua-mobile and --accept-language. It checks what is served to this \
            client, now: see SECURITY.md for what a server can still tell apart.
            """)
    @Option(help: "Server URL, e.g. http://127.0.0.1:8080.") var server: String?
    @Option(help: "Program name.") var program: String?
    @Option(help: "Audit the web app served at this link (a join link or a server URL) instead of a key log.") var web:
        String?
    @Option(help: "With --web: the User-Agent to send (default: current stable Chrome on this system).") var userAgent:
        String?
    @Option(name: .customLong("sec-ch-ua"), help: "With --web: the sec-ch-ua client hint (your browser's brand list).")
    var secCHUA: String?
    @Option(
        name: .customLong("sec-ch-ua-platform"),
        help: "With --web: the sec-ch-ua-platform client hint, e.g. '\"Windows\"'.")
    var secCHUAPlatform: String?
    @Option(name: .customLong("sec-ch-ua-mobile"), help: "With --web: the sec-ch-ua-mobile client hint, ?0 or ?1.")
    var secCHUAMobile: String?
    @Option(help: "With --web: the Accept-Language to send (default: en-US,en;q=0.9).") var acceptLanguage: String?
    @Option(help: "JSON file with the last verified head; created or advanced on success.") var state: String?
    @Option(help: "File of tree head lines (reciprocity-sth/v1 ...) seen by others.") var gossip: String?
    @Option(help: "Expected log public key (base64url), as the operator published it.") var logKey: String?

    func run() async throws {
        let browserOptions = [userAgent, secCHUA, secCHUAPlatform, secCHUAMobile, acceptLanguage]
        if let web {
            guard server == nil, program == nil, state == nil, gossip == nil, logKey == nil else {
                throw CLIFailure(
                    "--web audits the web app only; give it alone, or --server and --program for a key log")
            }
            return try await Self.auditWeb(web, browser: try browser())
        }
        guard browserOptions.allSatisfy({ $0 == nil }) else {
            throw CLIFailure(
                "--user-agent, --sec-ch-ua, --sec-ch-ua-platform, --sec-ch-ua-mobile and --accept-language go with --web"
            )
        }
        guard let server, let program else {
            throw CLIFailure("give --server and --program to audit a key log, or --web URL to audit a web app")
        }
        let session: Membership
        do {
            session = try Membership.open(home: MembershipFolder.home(), server: server, program: program)
            try await session.refreshDirectoryIfStale()
        } catch let error as ClientError where error.code == .noMembership {
            throw CLIFailure(
                "the server shows its key log only to members, so audit needs this device to have joined \(program) "
                    + "there (--log-key then checks the key the operator published); \(error.message)")
        }
        let previous: AuditState?
        if let state, FileManager.default.fileExists(atPath: state) {
            guard let data = FileManager.default.contents(atPath: state),
                let decoded = try? JSONDecoder().decode(AuditState.self, from: data)
            else { throw CLIFailure("cannot read audit state '\(state)'") }
            previous = decoded
        } else {
            previous = nil
        }
        let heads = try Key.gossipLines(gossip)
        let report = try await session.audit(logKey: logKey, state: previous, gossip: heads)
        if let state {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try MembershipFolder.writeAtomically(try encoder.encode(report.state), to: URL(fileURLWithPath: state))
        }
        print("log key: \(report.state.logKey)")
        print("verified head: \(report.treeHead)")
        print("entries replayed: \(report.replayed) (from \(report.previousSize)); live handles: \(report.liveHandles)")
        print("gossiped heads consistent: \(report.gossipChecked)")
    }

    /// The browser the audit's requests copy: current stable Chrome, with each value the member gave instead.
    /// A header value is one line of visible ASCII: anything else would not be a browser's.
    func browser() throws -> BrowserIdentity {
        var browser = BrowserIdentity.currentChrome()
        for (option, value, field) in [
            ("--user-agent", userAgent, \BrowserIdentity.userAgent), ("--sec-ch-ua", secCHUA, \.brands),
            ("--sec-ch-ua-platform", secCHUAPlatform, \.platform), ("--sec-ch-ua-mobile", secCHUAMobile, \.mobile),
            ("--accept-language", acceptLanguage, \.acceptLanguage),
        ] {
            guard let value else { continue }
            guard !value.isEmpty, value.unicodeScalars.allSatisfy({ (0x20...0x7e).contains($0.value) }) else {
                throw CLIFailure(
                    "\(option) must be a header value as your browser sends it: printable ASCII on one line")
            }
            browser[keyPath: field] = value
        }
        return browser
    }

    /// Compares the served web app with the hashes the build embedded (`BuiltWebAssets`, generated by the
    /// WebAssetHashes plugin from the server's web folder): one line per difference and exit 1, or one line.
    static func auditWeb(_ url: String, browser: BrowserIdentity) async throws {
        let report = try await WebAudit.audit(link: url, expected: BuiltWebAssets.sha256, browser: browser)
        // An invite in the link's fragment is the member's secret: not repeated on the terminal.
        let url = String(url.prefix { $0 != "#" })
        guard report.identical else {
            for line in report.differences { print(terminalSafe(line)) }
            FileHandle.standardError.write(
                Data(
                    "Error: the web app at \(terminalSafe(url)) differs from this release's in \(report.differences.count) way(s)\n"
                        .utf8))
            throw ExitCode.failure
        }
        print(
            "web app at \(terminalSafe(url)) matches this release: \(BuiltWebAssets.sha256.count) assets and its pages, \(report.filesChecked) files fetched and hashed"
        )
    }
}
