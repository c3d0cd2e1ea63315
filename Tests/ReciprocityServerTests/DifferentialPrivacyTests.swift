import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// The evidence for SECURITY.md's promise that no response depends on another member's unreciprocated mark.
///
/// Two worlds are built from one seed, identical (same keys, credentials, profiles, log signing key) except
/// that in world B other members hold unreciprocated marks: marks aimed at the caller (whose tokens the
/// caller can compute and submit), marks between other members, and, in a second program on the same server,
/// marks squatting exactly the tokens the caller would submit. A generated script of requests, covering
/// every member route and error path, is replayed in both worlds and every response must be the same bytes
/// after normalising times, signatures and fresh credentials. The one legitimate difference is a submission
/// that completes a match with a mark aimed at the caller: it may answer `matched` in B where A answers
/// `pending`, and from then on the worlds differ by design, so the comparison of that script stops there.
///
/// CI runs `RECIPROCITY_DIFFERENTIAL_SCRIPTS` scripts (default 40) from `RECIPROCITY_DIFFERENTIAL_SEED`
/// (default fixed); a longer run: `RECIPROCITY_DIFFERENTIAL_SCRIPTS=2000 swift test --filter Differential`.
@Suite struct DifferentialPrivacyTests {
    static let environment = ProcessInfo.processInfo.environment
    static let scripts = environment["RECIPROCITY_DIFFERENTIAL_SCRIPTS"].flatMap(Int.init) ?? 40
    static let seed = environment["RECIPROCITY_DIFFERENTIAL_SEED"].flatMap(UInt64.init) ?? 0x5EC0_2026

    @Test(arguments: Backend.enabled)
    func noMemberResponseDependsOnAnotherMembersUnreciprocatedMarks(_ backend: Backend) async throws {
        var compared = 0
        var legitimateMatches = 0
        var statuses: [Int: Int] = [:]
        var codes: Set<String> = []
        for script in 0..<Self.scripts {
            var random = SplitMix64(seed: Self.seed &+ UInt64(script))
            let outcome = try await Self.replay(script: script, random: &random, backend: backend)
            compared += outcome.compared
            if outcome.endedByMatch { legitimateMatches += 1 }
            statuses.merge(outcome.statuses, uniquingKeysWith: +)
            codes.formUnion(outcome.codes)
        }
        let expected = [
            "quota-exceeded", "wrong-epoch", "token-unavailable", "invalid-batch", "invalid-encoding", "invalid-body",
            "mark-not-found", "key-taken", "rotation-limited", "invalid-profile", "invalid-parameter", "unauthorized",
            "method-not-allowed", "conversation-not-found",
        ]
        for code in expected { #expect(codes.contains(ProblemDetails.typePrefix + code), "no script produced \(code)") }
        // The scripts must reach every kind of answer, or the comparison proves little.
        for status in [200, 204, 400, 401, 404, 405, 409, 429] {
            #expect(statuses[status, default: 0] > 0, "no script produced status \(status): \(statuses)")
        }
        #expect(compared > Self.scripts * 10)
        print(
            "differential (\(backend.rawValue)): \(Self.scripts) scripts, \(compared) request pairs identical, \(legitimateMatches) ended by a legitimate match, statuses \(statuses.sorted { $0.key < $1.key })"
        )
    }

    @Test(arguments: Backend.enabled)
    func anonymousResponsesDoNotDependOnMarks(_ backend: Backend) async throws {
        var random = SplitMix64(seed: Self.seed)
        let fixture = try Fixture(random: &random)
        let worldA = try await World(fixture: fixture, withOthersMarks: false, backend: backend)
        let worldB = try await World(fixture: fixture, withOthersMarks: true, backend: backend)
        let requests: [(HTTPRequest.Method, String, String?)] = [
            (.get, "/healthz", nil), (.get, "/readyz", nil), (.get, "/openapi.yaml", nil), (.get, "/metrics", nil),
            (.get, "/v1/me", nil), (.get, "/v1/marks", nil), (.get, "/v1/matches", nil),
            (.post, "/v1/marks", #"{"epoch":0,"marks":[]}"#),
            (.delete, "/v1/marks/\(fixture.othersToken.base64URL)", nil),
            (.get, "/v1/directory", nil), (.get, "/v1/profiles", nil), (.get, "/v1/log/head", nil),
            (.get, "/nope", nil),
            (
                .post, "/v1/programs/acme/members",
                #"{"invite":"rcpi_wrong","handle":"zed","publicKey":"x","profile":{"displayName":"Z"}}"#
            ),
            (
                .post, "/v1/programs/nope/members",
                #"{"invite":"rcpi_wrong","handle":"zed","publicKey":"x","profile":{"displayName":"Z"}}"#
            ),
            (.post, "/v1/programs/acme/members", "{"),
        ]
        try await worldA.app().test(.router) { a in
            try await worldB.app().test(.router) { b in
                for (method, path, body) in requests {
                    let left = try await a.send(method, path, raw: body)
                    let right = try await b.send(method, path, raw: body)
                    #expect(Normalised(left) == Normalised(right), "\(method) \(path)")
                }
            }
        }
    }

    /// The operator's `/metrics` shows others' marks only as the documented aggregate gauges (pending marks and
    /// database size, counted at most once a refresh interval); every other line, request and mark counters
    /// included, is the same in both worlds after the same requests.
    @Test(arguments: Backend.enabled)
    func operatorMetricsDifferOnlyInTheAggregateGauges(_ backend: Backend) async throws {
        var random = SplitMix64(seed: Self.seed &+ 1)
        let fixture = try Fixture(random: &random)
        let worldA = try await World(fixture: fixture, withOthersMarks: false, backend: backend)
        let worldB = try await World(fixture: fixture, withOthersMarks: true, backend: backend)
        var generated: [Step] = []
        for _ in 0..<30 { generated.append(Step.random(fixture: fixture, random: &random)) }
        let steps = generated
        func scrape(_ world: World) async throws -> (all: [String], compared: [String]) {
            try await world.app().test(.router) { client in
                for step in steps where !step.isOthersAct {
                    _ = try await step.send(client, credential: fixture.callerCredential)
                }
                let text = String(
                    buffer: try await client.send(
                        .get, "/metrics", headers: [.authorization: "Bearer \(world.harness.metricsCredential)"]
                    ).body)
                let lines = text.split(separator: "\n").map(String.init)
                // Durations are timing, not state; the two gauges are the documented aggregates.
                let compared = lines.filter { line in
                    !["http_request_duration_seconds", "reciprocity_pending_marks", "reciprocity_database_bytes"]
                        .contains { line.hasPrefix($0) || line.hasPrefix("# TYPE \($0)") }
                }
                return (lines, compared)
            }
        }
        let (a, b) = (try await scrape(worldA), try await scrape(worldB))
        #expect(a.compared.sorted() == b.compared.sorted())
        #expect(
            a.all.contains { $0.hasPrefix("reciprocity_pending_marks") }
                && a.compared.contains { $0.hasPrefix("http_requests_total") })
    }

    // MARK: Replaying one script in two worlds

    struct Outcome: Sendable {
        var compared = 0
        var endedByMatch = false
        var statuses: [Int: Int] = [:]
        var codes: Set<String> = []
    }

    static func replay(script: Int, random: inout SplitMix64, backend: Backend) async throws -> Outcome {
        let fixture = try Fixture(random: &random)
        let worldA = try await World(fixture: fixture, withOthersMarks: false, backend: backend)
        let worldB = try await World(fixture: fixture, withOthersMarks: true, backend: backend)
        var generated: [Step] = []
        for _ in 0..<(15 + Int(random.next() % 25)) { generated.append(Step.random(fixture: fixture, random: &random)) }
        let steps = generated
        return try await worldA.app().test(.router) { a in
            try await worldB.app().test(.router) { b in
                var outcome = Outcome()
                var credentialA = fixture.callerCredential
                var credentialB = fixture.callerCredential
                for (index, step) in steps.enumerated() {
                    if case .othersAct(let seed) = step { await worldB.othersAct(seed) }
                    let left = try await step.send(a, credential: credentialA)
                    let right = try await step.send(b, credential: credentialB)
                    outcome.statuses[Int(left.status.code), default: 0] += 1
                    if let problem = try? left.decode(ProblemDetails.self) { outcome.codes.insert(problem.type) }
                    if let fresh = step.newCredential(left) { credentialA = fresh }
                    if let fresh = step.newCredential(right) { credentialB = fresh }
                    if step.completesLegitimateMatch(left, right, fixture: fixture) {
                        outcome.endedByMatch = true
                        return outcome
                    }
                    let same = Normalised(left) == Normalised(right)
                    #expect(
                        same, "script \(script) step \(index): \(step)\nA: \(Normalised(left))\nB: \(Normalised(right))"
                    )
                    guard same else { return outcome }
                    outcome.compared += 1
                }
                return outcome
            }
        }
    }

    /// Everything both worlds share, drawn from the seed.
    struct Fixture: Sendable {
        static let program = "acme"
        let keys: [String: PrivateKey]
        let targets = ["dana", "erin", "femi"]
        let callerCredential = "rcpm_caller-credential-for-the-differential-test"
        /// Tokens the caller can derive: towards each target in each role, and towards mallory, who in world B
        /// marks the caller (so these complete matches there).
        let callerMarks: [Mark]
        let reciprocated: Set<InterestToken>
        /// A pending token between two other members (in world B), which the caller cannot derive.
        let othersToken: InterestToken
        /// The token of a match between two other members (in both worlds).
        let matchedToken: InterestToken
        let rotationKeys: [PrivateKey]
        let logKey: LogSigningKey

        init(random: inout SplitMix64) throws {
            var keys: [String: PrivateKey] = [:]
            for handle in ["carol", "mallory", "dana", "erin", "femi", "olga"] {
                keys[handle] = try PrivateKey(rawRepresentation: random.bytes(32))
            }
            self.keys = keys
            rotationKeys = try (0..<4).map { _ in try PrivateKey(rawRepresentation: random.bytes(32)) }
            logKey = try LogSigningKey(rawRepresentation: random.bytes(32))
            var marks: [Mark] = []
            var reciprocated: Set<InterestToken> = []
            for other in targets + ["mallory"] {
                for role in [Role.mentee, .mentor, .peer] {
                    let mark = try Self.derive(keys, "carol", role, other)
                    let note = random.next() % 3 == 0 ? try SealedNote(rawRepresentation: random.bytes(540)) : nil
                    marks.append(Mark(token: mark.token, tag: mark.tag, note: note))
                    if other == "mallory" { reciprocated.insert(mark.token) }
                }
            }
            callerMarks = marks
            self.reciprocated = reciprocated
            othersToken = try Self.derive(keys, "mallory", .mentee, "dana").token
            matchedToken = try Self.derive(keys, "dana", .mentor, "erin").token
        }

        static func derive(_ keys: [String: PrivateKey], _ me: String, _ role: Role, _ other: String) throws -> Mark {
            try KeySchedule.derive(
                context: InterestContext(
                    program: ProgramID(program), relation: role == .peer ? .peer : .mentorship, epoch: 0),
                me: keys[me]!, handle: Handle(me), role: role,
                other: Party(handle: Handle(other), publicKey: keys[other]!.publicKey)
            ).mark
        }
    }

    /// One server over one database (SQLite or PostgreSQL). World B adds the other members' unreciprocated marks.
    struct World: Sendable {
        let harness: Harness
        let logKey: LogSigningKey
        let withOthersMarks: Bool
        let programID: Int64
        let others: [(member: Int64, program: Int64)]

        func app() -> some ApplicationProtocol { harness.application(logSigningKey: logKey) }

        init(fixture: Fixture, withOthersMarks: Bool, backend: Backend) async throws {
            harness = try await Harness.make(backend)
            let store = harness.store
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let invite = BearerSecret(text: "rcpi_differential")
            let otherInvite = BearerSecret(text: "rcpi_differential-other")
            for (name, maxMarks, code) in [(Fixture.program, 6, invite), ("other", 16, otherInvite)] {
                _ = try await store.createProgram(name: ProgramID(name), maxMarks: maxMarks, epoch: 0)
                _ = try await store.createInvite(
                    program: ProgramID(name), codeDigest: code.digest, uses: 10, expiresAt: nil)
            }
            var members: [String: MemberRecord] = [:]
            for handle in ["carol", "mallory", "dana", "erin", "femi"] {
                let credential = handle == "carol" ? fixture.callerCredential : "rcpm_\(handle)-credential"
                members[handle] = try await store.join(
                    program: ProgramID(Fixture.program), inviteDigest: invite.digest, handle: Handle(handle),
                    publicKey: fixture.keys[handle]!.publicKey,
                    profile: Profile(
                        displayName: handle.capitalized, headline: "Works on \(handle)", tags: ["swift"],
                        offersMentoring: handle != "carol"),
                    credentialDigest: BearerSecret.digest(of: credential), now: now
                ).0
            }
            // Olga is a member of another program on the same server (a second membership of anyone's).
            let olga = try await store.join(
                program: ProgramID("other"), inviteDigest: otherInvite.digest, handle: Handle("olga"),
                publicKey: fixture.keys["olga"]!.publicKey, profile: Profile(displayName: "Olga"),
                credentialDigest: BearerSecret.digest(of: "rcpm_olga-credential"), now: now
            ).0
            let program = members["carol"]!.programID
            // In both worlds dana and erin have matched: a token the caller may send but nobody may reuse.
            _ = try await store.submitMarks(
                memberID: members["dana"]!.id, programID: program, epoch: 0,
                marks: [try Fixture.derive(fixture.keys, "dana", .mentor, "erin")], now: now)
            _ = try await store.submitMarks(
                memberID: members["erin"]!.id, programID: program, epoch: 0,
                marks: [try Fixture.derive(fixture.keys, "erin", .mentee, "dana")], now: now)
            if withOthersMarks {
                // Mallory marks the caller in every role (the caller can compute these tokens) and dana.
                let aimedAtCaller = try [Role.mentor, .mentee, .peer].map {
                    try Fixture.derive(fixture.keys, "mallory", $0, "carol")
                }
                let toDana = try Fixture.derive(fixture.keys, "mallory", .mentee, "dana")
                _ = try await store.submitMarks(
                    memberID: members["mallory"]!.id, programID: program, epoch: 0, marks: aimedAtCaller + [toDana],
                    now: now)
                // Dana marks femi, who does not answer.
                _ = try await store.submitMarks(
                    memberID: members["dana"]!.id, programID: program, epoch: 0,
                    marks: [try Fixture.derive(fixture.keys, "dana", .peer, "femi")], now: now)
                // Olga squats, in her own program, every token the caller could submit towards the targets.
                let squatted = fixture.callerMarks.filter { !fixture.reciprocated.contains($0.token) }
                _ = try await store.submitMarks(
                    memberID: olga.id, programID: olga.programID, epoch: 0, marks: Array(squatted.prefix(16)), now: now)
            }
            logKey = fixture.logKey
            self.withOthersMarks = withOthersMarks
            programID = program
            others = [(members["mallory"]!.id, program), (members["dana"]!.id, program), (olga.id, olga.programID)]
        }

        /// In world B only, another member acts between the caller's requests: marks someone (a token the
        /// caller cannot know) or withdraws a pending mark. Refusals (their quota) are ignored.
        func othersAct(_ seed: UInt64) async {
            guard withOthersMarks else { return }
            var random = SplitMix64(seed: seed)
            let (member, program) = others[Int(random.next() % UInt64(others.count))]
            if random.next() % 3 == 0, let held = try? await harness.store.pendingMarks(memberID: member).first {
                _ = try? await harness.store.withdraw(memberID: member, token: held.token)
            } else {
                let mark = Mark(
                    token: InterestToken(uncheckedBytes: random.bytes(32)),
                    tag: ConfirmationTag(uncheckedBytes: random.bytes(32)))
                _ = try? await harness.store.submitMarks(
                    memberID: member, programID: program, epoch: 0, marks: [mark], now: Date())
            }
        }
    }

    /// One request of a script.
    enum Step: Sendable, CustomStringConvertible {
        /// Not a request of the caller's: someone else acts, in world B only.
        case othersAct(UInt64)

        var isOthersAct: Bool { if case .othersAct = self { true } else { false } }
        case submit(epoch: UInt32, marks: [MarkItem], withdraw: [String]? = nil)
        case submitRaw(String)
        case withdraw(String)
        case get(String)
        case updateProfile(String)
        case rotateCredential
        case rotateKey(String)
        case wrongMethod(HTTPRequest.Method, String)
        case unauthenticated(HTTPRequest.Method, String)

        var description: String {
            switch self {
            case .othersAct: "(someone else acts in world B)"
            case .submit(let epoch, let marks, let withdraw):
                "POST /v1/marks epoch \(epoch), \(marks.count) marks, \(withdraw?.count ?? 0) withdrawals"
            case .submitRaw(let body): "POST /v1/marks raw \(body.prefix(60))"
            case .withdraw(let token): "DELETE /v1/marks/\(token.prefix(12))…"
            case .get(let path): "GET \(path)"
            case .updateProfile: "PUT /v1/me/profile"
            case .rotateCredential: "POST /v1/me/credential"
            case .rotateKey: "PUT /v1/me/key"
            case .wrongMethod(let method, let path): "\(method) \(path)"
            case .unauthenticated(let method, let path): "\(method) \(path) without credential"
            }
        }

        static func random(fixture: Fixture, random: inout SplitMix64) -> Step {
            func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
            let towardsTargets = fixture.callerMarks.filter { !fixture.reciprocated.contains($0.token) }
            let towardsMallory = fixture.callerMarks.filter { fixture.reciprocated.contains($0.token) }
            // Tokens waiting in world B are rare in batches that may succeed (a success with one completes a
            // legitimate match and ends the comparison), and common in batches that are always refused.
            func token(waiting: UInt64) -> InterestToken {
                let roll = random.next() % 100
                if roll < waiting { return roll % 4 == 0 ? fixture.othersToken : pick(towardsMallory).token }
                if roll >= 95 { return fixture.matchedToken }
                return roll < 60 ? pick(towardsTargets).token : InterestToken(uncheckedBytes: random.bytes(32))
            }
            func item(waiting: UInt64) -> MarkItem {
                switch random.next() % 12 {
                case 0: return MarkItem(token: "not-base64!", tag: Base64URL.encode(random.bytes(32)))
                case 1:
                    return MarkItem(token: Base64URL.encode(random.bytes(31)), tag: Base64URL.encode(random.bytes(32)))
                case 2:
                    return MarkItem(
                        token: token(waiting: waiting).base64URL, tag: Base64URL.encode(random.bytes(32)), note: "short"
                    )
                default:
                    let chosen = token(waiting: waiting)
                    let known = fixture.callerMarks.first { $0.token == chosen }
                    return MarkItem(
                        token: chosen.base64URL,
                        tag: (known?.tag ?? ConfirmationTag(uncheckedBytes: random.bytes(32))).base64URL,
                        note: known?.note?.base64URL)
                }
            }
            func fresh() -> MarkItem {
                MarkItem(token: Base64URL.encode(random.bytes(32)), tag: Base64URL.encode(random.bytes(32)))
            }
            if random.next() % 8 == 0 { return .othersAct(random.next()) }
            switch random.next() % 24 {
            case 0..<6:
                // Batches of 1-8 that may succeed: mostly the caller's own tokens, sometimes a bad item, a repeat.
                var items: [MarkItem] = []
                for _ in 0..<(1 + Int(random.next() % 8)) {
                    items.append(random.next() % 3 == 0 ? item(waiting: 12) : MarkItem(pick(towardsTargets)))
                }
                if random.next() % 3 == 0 { items.append(items[0]) }
                // Sometimes replacing marks in the same request: withdrawing tokens the caller holds, tokens
                // waiting in world B for someone else, and unknown ones.
                let withdraw =
                    random.next() % 3 == 0
                    ? (0..<(1 + Int(random.next() % 3))).map { _ in token(waiting: 40).base64URL } : nil
                return .submit(epoch: 0, marks: items, withdraw: withdraw)
            case 6, 7, 8:
                // Batches that are refused whatever the state (over the quota of 6 with fresh tokens alone, the
                // wrong epoch, or an invalid item), full of tokens waiting in world B: the old quota oracle.
                var items = (0..<(1 + Int(random.next() % 6))).map { _ in item(waiting: 70) }
                switch random.next() % 3 {
                case 0: items += (0..<7).map { _ in fresh() }
                case 1: return .submit(epoch: 1, marks: items)
                default: items.insert(MarkItem(token: "bad", tag: "bad"), at: Int(random.next() % UInt64(items.count)))
                }
                items.shuffle(using: &random)
                return .submit(epoch: 0, marks: items)
            case 9:
                return .submit(epoch: 0, marks: random.next() % 2 == 0 ? [] : (0..<257).map { _ in fresh() })
            case 10:
                return .submitRaw(
                    pick([
                        "{", #"{"epoch":-1,"marks":[]}"#, #"{"epoch":0}"#, "[]", #"{"epoch":0,"marks":[{"token":1}]}"#,
                    ]))
            case 11, 12, 13:
                return .withdraw(random.next() % 6 == 0 ? "garbage" : token(waiting: 40).base64URL)
            case 14, 15, 16:
                return .get(
                    pick([
                        "/v1/marks", "/v1/matches", "/v1/matches?limit=1", "/v1/matches?after=bad", "/v1/me",
                        "/v1/matches?after=\(token(waiting: 50).base64URL)", "/v1/directory", "/v1/directory?q=da",
                        "/v1/profiles", "/v1/profiles?limit=2", "/v1/profiles?since=AAAAAAAAAAAAAAAAAAAAAA.3",
                        "/v1/profiles?since=x",
                        "/v1/directory/dana", "/v1/directory/nobody", "/v1/log/head", "/v1/log/entries?start=0&limit=5",
                        "/v1/log/consistency?from=1&to=3", "/v1/directory?limit=0",
                        // Conversations: the caller's own list, and tokens of others' matches, of marks waiting in
                        // world B, and of nothing, answered alike.
                        "/v1/conversations", "/v1/conversations?after=\(token(waiting: 50).base64URL)",
                        "/v1/conversations/\(token(waiting: 50).base64URL)/messages",
                        "/v1/conversations/\(fixture.matchedToken.base64URL)/messages?after=1",
                    ]))
            case 17:
                return .updateProfile(
                    pick([
                        #"{"displayName":"Carol","headline":"New"}"#, #"{"displayName":""}"#,
                        #"{"displayName":"C\#(String(repeating: "\u{301}", count: 9))"}"#,
                    ]))
            case 18:
                return .rotateCredential
            case 19, 20:
                // Mostly new keys (the fourth rotation in a day is refused), sometimes a key the log holds.
                let reused = random.next() % 4 == 0
                let key =
                    reused
                    ? pick(fixture.rotationKeys + [fixture.keys["dana"]!])
                    : (try? PrivateKey(rawRepresentation: random.bytes(32)))
                return .rotateKey((key ?? fixture.rotationKeys[0]).publicKey.base64URL)
            case 21, 22:
                return .wrongMethod(pick([.put, .patch]), pick(["/v1/marks", "/v1/matches", "/v1/me"]))
            default:
                return .unauthenticated(pick([.get, .post]), pick(["/v1/marks", "/v1/matches"]))
            }
        }

        func send(_ client: any TestClientProtocol, credential: String) async throws -> TestResponse {
            let auth: HTTPFields = [.authorization: "Bearer \(credential)"]
            switch self {
            case .othersAct: return try await client.send(.get, "/v1/marks", headers: auth)
            case .submit(let epoch, let marks, let withdraw):
                return try await client.send(
                    .post, "/v1/marks", headers: auth,
                    json: SubmitMarksRequest(epoch: epoch, marks: marks, withdraw: withdraw))
            case .submitRaw(let body): return try await client.send(.post, "/v1/marks", headers: auth, raw: body)
            case .withdraw(let token): return try await client.send(.delete, "/v1/marks/\(token)", headers: auth)
            case .get(let path): return try await client.send(.get, path, headers: auth)
            case .updateProfile(let body):
                return try await client.send(.put, "/v1/me/profile", headers: auth, raw: body)
            case .rotateCredential: return try await client.send(.post, "/v1/me/credential", headers: auth)
            case .rotateKey(let key):
                return try await client.send(
                    .put, "/v1/me/key", headers: auth, json: KeyRotationRequest(publicKey: key))
            case .wrongMethod(let method, let path): return try await client.send(method, path, headers: auth)
            case .unauthenticated(let method, let path): return try await client.send(method, path)
            }
        }

        func newCredential(_ response: TestResponse) -> String? {
            guard case .rotateCredential = self, response.status == .ok else { return nil }
            return try? response.decode(CredentialResponse.self).credential
        }

        /// A submission that B answers like A except that tokens waiting in B are `matched`: those aimed at the
        /// caller, and the token between two others (the script may send it, though only the pair can know it).
        func completesLegitimateMatch(_ a: TestResponse, _ b: TestResponse, fixture: Fixture) -> Bool {
            guard case .submit = self, a.status == .ok, b.status == .ok,
                let left = try? a.decode(SubmitMarksResponse.self).results,
                let right = try? b.decode(SubmitMarksResponse.self).results, left.count == right.count, left != right
            else { return false }
            return zip(left, right).allSatisfy { l, r in
                if l == r { return true }
                guard l.token == r.token, l.status == .pending, r.status == .matched,
                    let token = try? InterestToken(base64URL: r.token)
                else { return false }
                return fixture.reciprocated.contains(token) || token == fixture.othersToken
            }
        }
    }
}

/// A response with what legitimately differs between two runs replaced: times (and Retry-After's seconds from
/// now), signatures (they sign a time), fresh credentials and request ids. Everything else, every header and every byte, is kept.
struct Normalised: Equatable, CustomStringConvertible {
    let status: Int
    let headers: [String]
    let body: String

    init(_ response: TestResponse) {
        status = Int(response.status.code)
        headers = response.headers.filter { !["date", "x-request-id"].contains($0.name.canonicalName) }
            // Retry-After counts seconds from now: a time, like `date` (a slow run crosses a second between worlds).
            .map { "\($0.name.canonicalName): \([.contentLength, .retryAfter].contains($0.name) ? "-" : $0.value)" }
            .sorted()
        var text = String(buffer: response.body)
        let patterns = [
            #""(createdAt|matchedAt|joinedAt|signedAt)":"[^"]*""#, #""(timestamp)":[0-9]+"#,
            #""(signature|credential)":"[^"]*""#, #"rcpm_[A-Za-z0-9_-]+"#,
            // A directory cursor's generation is random per database; its version is compared.
            #""(cursor)":"[A-Za-z0-9_-]{22}\."#,
        ]
        for pattern in patterns {
            text = text.replacingOccurrences(of: pattern, with: "<$1>", options: .regularExpression)
        }
        body = text
    }

    var description: String { "\(status) \(headers) \(body.prefix(600))" }
}
