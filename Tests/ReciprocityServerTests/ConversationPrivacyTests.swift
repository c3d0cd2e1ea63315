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

/// The evidence that a conversation's routes tell no one but its two members anything (SECURITY.md): a third
/// member of the program, a member of another program, and the holder of a one-sided mark get, for the token
/// of two others' match (with messages, or ended), the same bytes as for the token of a pending mark and for a
/// token of nothing, on every route, and their requests change nothing. A member probing whether two others
/// matched learns nothing from any answer or its timing.
@Suite struct ConversationPrivacyTests {
    /// The server's state: dana and erin matched and wrote to each other; dana and femi matched and ended their
    /// conversation; mallory holds a one-sided mark on dana; carol is a member who holds nothing; olga is a
    /// member of another program, matched there with pia.
    struct World {
        let harness: Harness
        let members: [String: TestMember]
        /// Tokens whose answers must all be the same for anyone outside them.
        let tokens: [String: InterestToken]

        init(_ backend: Backend) async throws {
            harness = try await Harness.make(backend)
            let store = harness.store
            var members: [String: TestMember] = [:]
            var records: [String: MemberRecord] = [:]
            for (programName, handles) in [
                ("acme", ["carol", "dana", "erin", "femi", "mallory"]), ("other", ["olga", "pia"]),
            ] {
                let program = try await store.createProgram(name: ProgramID(programName), maxMarks: 16, epoch: 0)
                let invite = BearerSecret(text: "rcpi_conversation-privacy-\(programName)")
                _ = try await store.createInvite(
                    program: program.name, codeDigest: invite.digest, uses: 10, expiresAt: nil)
                for handle in handles {
                    let key = try PrivateKey()
                    let credential = "rcpm_\(handle)-conversation-privacy"
                    records[handle] = try await store.join(
                        program: program.name, inviteDigest: invite.digest, handle: Handle(handle),
                        publicKey: key.publicKey, profile: Profile(displayName: handle.capitalized),
                        credentialDigest: BearerSecret.digest(of: credential), now: Date()
                    ).0
                    members[handle] = TestMember(
                        handle: try Handle(handle), key: key, credential: credential, program: program.name)
                }
            }
            func match(_ a: String, _ b: String) async throws -> InterestToken {
                let mark = try Mark.dummy()
                for handle in [a, b] {
                    _ = try await store.submitMarks(
                        memberID: records[handle]!.id, programID: records[handle]!.programID, epoch: 0, marks: [mark],
                        now: Date())
                }
                return mark.token
            }
            let talking = try await match("dana", "erin")
            for handle in ["dana", "erin", "dana"] {
                _ = try await store.postMessage(
                    memberID: records[handle]!.id, programID: records[handle]!.programID, token: talking,
                    envelope: Data(
                        [MessageEnvelope.version] + [UInt8](repeating: 7, count: MessageEnvelope.lengths[0] - 1)),
                    limits: ConversationLimits(), now: Date())
            }
            let ended = try await match("dana", "femi")
            try await store.endConversation(
                memberID: records["femi"]!.id, programID: records["femi"]!.programID, token: ended, now: Date())
            let oneSided = try Mark.dummy()
            _ = try await store.submitMarks(
                memberID: records["mallory"]!.id, programID: records["mallory"]!.programID, epoch: 0, marks: [oneSided],
                now: Date())
            let elsewhere = try await match("olga", "pia")
            self.members = members
            tokens = [
                "two others' match with messages": talking, "two others' ended match": ended,
                "a one-sided mark": oneSided.token, "another program's match": elsewhere,
                "nothing": try InterestToken.random(),
            ]
        }
    }

    /// Every conversation route with a token, as a request of `member`'s.
    static func requests(_ token: String) -> [(HTTPRequest.Method, String, String?)] {
        let envelope = Base64URL.encode(
            [MessageEnvelope.version] + [UInt8](repeating: 1, count: MessageEnvelope.lengths[1] - 1))
        return [
            (.get, "/v1/conversations/\(token)/messages", nil),
            (.get, "/v1/conversations/\(token)/messages?after=1&limit=5", nil),
            (.post, "/v1/conversations/\(token)/messages", #"{"envelope":"\#(envelope)"}"#),
            (.post, "/v1/conversations/\(token)/messages", #"{"envelope":"AQ"}"#),
            (
                .post, "/v1/conversations/\(token)/report",
                #"{"reason":"probe","messages":[{"seq":1,"fromMe":false,"text":"x"}]}"#
            ),
            (.post, "/v1/conversations/\(token)/report", #"{"reason":""}"#),
            (.post, "/v1/conversations/\(token)/end", nil),
            (.get, "/v1/conversations?after=\(token)", nil),
        ]
    }

    @Test(arguments: Backend.enabled)
    func anyoneButTheTwoMembersGetsTheAnswerOfATokenOfNothing(_ backend: Backend) async throws {
        let world = try await World(backend)
        let nothing = world.tokens["nothing"]!.base64URL
        try await world.harness.application().test(.router) { client in
            func snapshot(_ handle: String) async throws -> [String] {
                let member = world.members[handle]!
                var seen = [String(buffer: try await client.send(.get, "/v1/conversations", headers: member.auth).body)]
                for token in world.tokens.values {
                    let response = try await client.send(
                        .get, "/v1/conversations/\(token.base64URL)/messages", headers: member.auth)
                    seen.append(String(buffer: response.body))
                }
                return seen
            }
            let before = try await ["dana", "erin", "femi", "olga", "pia"].asyncMap(snapshot)
            var compared = 0
            var statuses: Set<Int> = []
            for caller in ["carol", "mallory", "olga", "femi"] {
                let auth = world.members[caller]!.auth
                for (what, token) in world.tokens.sorted(by: { $0.key < $1.key }) {
                    // Femi's own (ended) match is his: his answers for it are a member's.
                    if caller == "femi" && what == "two others' ended match" { continue }
                    if caller == "olga" && what == "another program's match" { continue }
                    for ((method, path, body), (_, reference, _)) in zip(
                        Self.requests(token.base64URL), Self.requests(nothing))
                    {
                        let probe = try await client.send(method, path, headers: auth, raw: body)
                        let baseline = try await client.send(method, reference, headers: auth, raw: body)
                        #expect(
                            Normalised(probe) == Normalised(baseline),
                            "\(caller), \(what): \(method) \(path.prefix(30))…\n\(Normalised(probe))\n\(Normalised(baseline))"
                        )
                        statuses.insert(Int(probe.status.code))
                        compared += 1
                    }
                }
            }
            // The refusals reached are not-found (the token) and invalid-envelope (the body, checked first).
            #expect(statuses == [400, 404], "\(statuses)")
            #expect(compared == 4 * 5 * 8 - 2 * 8)
            // Nobody's request changed anything anyone sees, and the operator has no report.
            #expect(try await ["dana", "erin", "femi", "olga", "pia"].asyncMap(snapshot) == before)
            for program in ["acme", "other"] {
                #expect(
                    try await world.harness.store.reports(
                        programID: world.harness.store.program(named: ProgramID(program))!.id
                    ).isEmpty)
            }
        }
    }

    /// The look-up reads the caller's own match rows only: a third member's request for two others' match
    /// takes the time of a request for a token of nothing (interleaved samples straight on the store, compared
    /// as the other timing tests compare them).
    @Test(arguments: Backend.enabled)
    func conversationRefusalsTakeTheSameTimeWhateverTheToken(_ backend: Backend) async throws {
        let world = try await World(backend)
        let store = world.harness.store
        let carol = try #require(
            try await store.authenticate(
                credentialDigest: BearerSecret.digest(of: world.members["carol"]!.credential)))
        func refuse(_ token: InterestToken) async throws {
            do {
                _ = try await store.messages(
                    memberID: carol.0.id, programID: carol.1.id, token: token, after: 0, limit: 10)
                Issue.record("a third member read a conversation")
            } catch let error as StoreError where error.code == .conversationNotFound {}
        }
        let talking = world.tokens["two others' match with messages"]!
        let nothing = world.tokens["nothing"]!
        try await DifferentialPrivacyTests.expectSameTiming("third member's read: others' match vs nothing") {
            try await refuse(talking)
        } versus: {
            try await refuse(nothing)
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
