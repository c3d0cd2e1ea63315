import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// The evidence that the health figures come from public facts only: worlds built from one seed, identical
/// except for marks, must give the same bytes (JSON and CSV) unless a mark was reciprocated; and a reciprocated
/// mark must change the match count and nothing else, which shows the comparison can see what it should.
extension ProgramHealthTests {
    enum Marks: CaseIterable {
        /// No mark beyond the one match both worlds share.
        case none
        /// Mallory marks carol, who does not answer.
        case one
        /// Several unreciprocated marks: aimed at carol in every role, between others, and a second program's.
        case several
        /// Mallory marks carol and carol marks mallory back: a new match.
        case reciprocated
    }

    @Test(arguments: Backend.enabled)
    func figuresDoNotDependOnUnreciprocatedMarks(_ backend: Backend) async throws {
        var random = SplitMix64(seed: 0x4EA1_7402)
        let keys = try Dictionary(
            uniqueKeysWithValues: ["carol", "mallory", "dana", "erin", "femi", "gus", "olga"].map {
                ($0, try PrivateKey(rawRepresentation: random.bytes(32)))
            })
        var answers: [Marks: (json: String, csv: String)] = [:]
        for marks in Marks.allCases {
            answers[marks] = try await Self.answers(try await Self.world(keys: keys, marks: marks, backend: backend))
        }
        let base = try #require(answers[.none])
        for marks in [Marks.one, .several] {
            #expect(answers[marks]?.json == base.json, "JSON with \(marks) unreciprocated marks")
            #expect(answers[marks]?.csv == base.csv, "CSV with \(marks) unreciprocated marks")
        }
        // A reciprocated mark is a match: the count moves by one, and nothing else does.
        let matched = try #require(answers[.reciprocated])
        #expect(matched.json != base.json && matched.csv != base.csv)
        let before = try APICoding.decoder().decode(ProgramHealthResponse.self, from: Data(base.json.utf8))
        var after = try APICoding.decoder().decode(ProgramHealthResponse.self, from: Data(matched.json.utf8))
        #expect(before.matchesByEpoch == [.init(epoch: 0, matches: 1)])
        #expect(after.matchesByEpoch == [.init(epoch: 0, matches: 2)])
        after.matchesByEpoch = before.matchesByEpoch
        #expect(after == before)
        #expect(matched.csv.replacingOccurrences(of: "\r\nmatches,0,2\r\n", with: "\r\nmatches,0,1\r\n") == base.csv)
    }

    /// The health answer as the operator downloads it: JSON and CSV, as text.
    static func answers(_ harness: Harness) async throws -> (json: String, csv: String) {
        try await harness.application().test(.router) { client in
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let json = try await client.send(.get, "/v1/admin/programs/acme/health", headers: admin)
            let csv = try await client.send(.get, "/v1/admin/programs/acme/health?format=csv", headers: admin)
            guard json.status == .ok, csv.status == .ok else {
                throw HarnessFailure("health: \(json.status) \(csv.status) \(String(buffer: json.body))")
            }
            return (String(buffer: json.body), String(buffer: csv.body))
        }
    }

    /// One database: members with fixed keys, profiles and join times over three days, one suspended, one
    /// match (dana and erin) in every world, and `marks`.
    static func world(keys: [String: PrivateKey], marks: Marks, backend: Backend) async throws -> Harness {
        let harness = try await Harness.make(backend)
        let store = harness.store
        let invite = BearerSecret(text: "rcpi_health")
        let otherInvite = BearerSecret(text: "rcpi_health-other")
        for (name, code) in [("acme", invite), ("other", otherInvite)] {
            _ = try await store.createProgram(name: ProgramID(name), maxMarks: 16, epoch: 0)
            _ = try await store.createInvite(
                program: ProgramID(name), codeDigest: code.digest, uses: 10, expiresAt: nil)
        }
        let profiles: [(String, Profile, Double)] = [
            ("carol", Profile(displayName: "Carol", headline: "New here", tags: ["swift"], seeksMentoring: true), 1),
            ("mallory", Profile(displayName: "Mallory", tags: ["swift", "sql"], seeksMentoring: true), 2),
            ("dana", Profile(displayName: "Dana", headline: "Lead", tags: ["swift"], offersMentoring: true), 25),
            ("erin", Profile(displayName: "Erin", headline: "DBA", tags: ["sql"], seeksMentoring: true), 26),
            ("femi", Profile(displayName: "Femi", headline: "Both", tags: ["vdi"], offersMentoring: true), 50),
            ("gus", Profile(displayName: "Gus", headline: "Away", tags: ["swift"], offersMentoring: true), 51),
        ]
        var members: [String: MemberRecord] = [:]
        for (handle, profile, hours) in profiles {
            members[handle] = try await store.join(
                program: ProgramID("acme"), inviteDigest: invite.digest, handle: Handle(handle),
                publicKey: keys[handle]!.publicKey, profile: profile,
                credentialDigest: BearerSecret.digest(of: "rcpm_\(handle)"), now: start.addingTimeInterval(hours * hour)
            ).0
        }
        _ = try await store.setStatus(program: ProgramID("acme"), handle: Handle("gus"), status: .suspended)
        let olga = try await store.join(
            program: ProgramID("other"), inviteDigest: otherInvite.digest, handle: Handle("olga"),
            publicKey: keys["olga"]!.publicKey, profile: Profile(displayName: "Olga"),
            credentialDigest: BearerSecret.digest(of: "rcpm_olga"), now: start
        ).0
        func mark(_ me: String, _ role: Role, _ other: String, program: String = "acme") async throws {
            let mark = try KeySchedule.derive(
                context: InterestContext(
                    program: ProgramID(program), relation: role == .peer ? .peer : .mentorship, epoch: 0),
                me: keys[me]!, handle: Handle(me), role: role,
                other: Party(handle: Handle(other), publicKey: keys[other]!.publicKey)
            ).mark
            let member = me == "olga" ? olga : members[me]!
            _ = try await store.submitMarks(
                memberID: member.id, programID: member.programID, epoch: 0, marks: [mark], now: start)
        }
        try await mark("dana", .mentor, "erin")
        try await mark("erin", .mentee, "dana")
        switch marks {
        case .none: break
        case .one: try await mark("mallory", .mentee, "carol")
        case .several:
            for role in [Role.mentor, .mentee, .peer] { try await mark("mallory", role, "carol") }
            try await mark("dana", .peer, "femi")
            try await mark("carol", .mentee, "dana")
            try await mark("olga", .peer, "carol", program: "other")
        case .reciprocated:
            try await mark("mallory", .mentee, "carol")
            try await mark("carol", .mentor, "mallory")
        }
        return harness
    }
}
