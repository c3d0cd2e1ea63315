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

/// The organizer's health figures: the one rule (`ProgramHealth`) on its own, without a database, and the admin
/// route in JSON and CSV on every backend. `ProgramHealthTests+Differential.swift` holds the privacy evidence.
@Suite struct ProgramHealthTests {
    /// 2027-01-15T00:00:00Z.
    static let start = Date(timeIntervalSince1970: 1_799_971_200)
    static let hour: TimeInterval = 3600

    static func member(
        _ handle: String, _ status: MemberStatus = .active, joined hours: Double, headline: String = "",
        tags: [String] = [], offers: Bool = false, seeks: Bool = false
    ) throws -> MemberRecord {
        MemberRecord(
            id: 1, programID: 1, handle: try Handle(handle), publicKey: try PrivateKey().publicKey,
            profile: Profile(
                displayName: handle.capitalized, headline: headline, tags: tags, offersMentoring: offers,
                seeksMentoring: seeks),
            status: status, joinedAt: start.addingTimeInterval(hours * hour))
    }

    static func sample() throws -> [MemberRecord] {
        [
            try member("ann", joined: 1, headline: "Swift developer", tags: ["swift", "vdi"], offers: true),
            // Incomplete: no headline.
            try member("bob", joined: 23.99, tags: ["swift", "c++"], seeks: true),
            try member("cat", joined: 24, headline: "Both ways", tags: ["swift"], offers: true, seeks: true),
            // Suspended: counts as a join only.
            try member("dan", .suspended, joined: 48, headline: "Gone", tags: ["rust"], seeks: true),
            // Neither offers nor seeks: incomplete, and the tag is in no supply or demand.
            try member("eve", joined: 71, headline: "Just looking", tags: ["go"]),
        ]
    }

    @Test func figuresFollowTheDocumentedRules() throws {
        let health = ProgramHealth.figures(program: "acme", members: try Self.sample(), matchesByEpoch: [3: 1, 0: 2])
        #expect(health.activeMembers == 4)
        #expect(health.suspendedMembers == 1)
        #expect(
            health.joinsByDay == [
                .init(day: "2027-01-15", joins: 2), .init(day: "2027-01-16", joins: 1),
                .init(day: "2027-01-17", joins: 2),
            ])
        #expect(health.profilesComplete == 2)
        #expect(health.offeringMentoring == 2)
        #expect(health.seekingMentor == 2)
        #expect(health.matchesByEpoch == [.init(epoch: 0, matches: 2), .init(epoch: 3, matches: 1)])
        // Most needed mentors first: c++ is sought and offered by nobody, vdi offered and sought by nobody.
        #expect(
            health.tags == [
                .init(tag: "c++", seeking: 1, offering: 0), .init(tag: "swift", seeking: 2, offering: 2),
                .init(tag: "vdi", seeking: 0, offering: 1),
            ])
        let empty = ProgramHealth.figures(program: "acme", members: [], matchesByEpoch: [:])
        #expect(empty.activeMembers == 0 && empty.joinsByDay.isEmpty && empty.tags.isEmpty)
        #expect(empty.matchesByEpoch.isEmpty)
    }

    @Test func completenessNeedsEveryPart() {
        let complete = Profile(displayName: "A", headline: "h", tags: ["x"], offersMentoring: true)
        #expect(ProgramHealth.isComplete(complete))
        #expect(ProgramHealth.isComplete(Profile(displayName: "A", headline: "h", tags: ["x"], seeksMentoring: true)))
        for incomplete in [
            Profile(displayName: "A", headline: "", tags: ["x"], offersMentoring: true),
            Profile(displayName: "A", headline: "   ", tags: ["x"], offersMentoring: true),
            Profile(displayName: "A", headline: "h", tags: [], offersMentoring: true),
            Profile(displayName: "A", headline: "h", tags: ["x"]),
            Profile(displayName: "", headline: "h", tags: ["x"], offersMentoring: true),
        ] {
            #expect(!ProgramHealth.isComplete(incomplete))
        }
    }

    @Test func csvIsOneLongTableInTheJSONOrder() throws {
        let health = ProgramHealth.figures(program: "acme", members: try Self.sample(), matchesByEpoch: [3: 1, 0: 2])
        let expected = [
            "figure,key,value", "members,active,4", "members,suspended,1", "joins,2027-01-15,2", "joins,2027-01-16,1",
            "joins,2027-01-17,2", "profiles,complete,2", "mentoring,offering,2", "mentoring,seeking,2", "matches,0,2",
            "matches,3,1", "tag-seeking,c++,1", "tag-offering,c++,0", "tag-seeking,swift,2", "tag-offering,swift,2",
            "tag-seeking,vdi,0", "tag-offering,vdi,1",
        ]
        #expect(ProgramHealth.csv(health) == expected.map { $0 + "\r\n" }.joined())
        #expect(ProgramHealth.csvField("c#") == "c#")
        #expect(ProgramHealth.csvField("a,b") == "\"a,b\"")
        #expect(ProgramHealth.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(ProgramHealth.csvField("two\r\nlines") == "\"two\r\nlines\"")
    }

    @Test(arguments: Backend.enabled)
    func adminRouteAnswersJSONAndCSV(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.router) { client in
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let path = "/v1/admin/programs/\(program)/health"
            _ = try await client.join(
                "ann", program: program, invite: invite,
                profile: Profile(displayName: "Ann", headline: "Hi", tags: ["swift"], offersMentoring: true))
            _ = try await client.join(
                "bob", program: program, invite: invite,
                profile: Profile(displayName: "Bob", tags: ["swift", "sql"], seeksMentoring: true))
            let json = try await client.send(.get, path, headers: admin)
            #expect(json.status == .ok)
            #expect(json.headers[.contentType] == "application/json")
            let health = try json.decode(ProgramHealthResponse.self)
            #expect(health.program == "acme" && health.activeMembers == 2 && health.profilesComplete == 1)
            #expect(health.joinsByDay.map(\.joins) == [2])
            #expect(
                health.tags == [
                    .init(tag: "sql", seeking: 1, offering: 0), .init(tag: "swift", seeking: 1, offering: 1),
                ])
            let csv = try await client.send(.get, path + "?format=csv", headers: admin)
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8; header=present")
            #expect(csv.headers[.contentDisposition] == #"attachment; filename="acme-health.csv""#)
            #expect(String(buffer: csv.body) == ProgramHealth.csv(health))
            #expect(
                String(buffer: try await client.send(.get, path + "?format=json", headers: admin).body)
                    == String(buffer: json.body))
            // Bad input: a clear problem each.
            let badFormat = try await client.send(.get, path + "?format=xml", headers: admin)
            #expect(badFormat.status == .badRequest)
            #expect(try badFormat.problem().code == "invalid-parameter")
            let unknown = try await client.send(.get, "/v1/admin/programs/nowhere/health", headers: admin)
            #expect(unknown.status == .notFound)
            #expect(try unknown.problem().code == "program-not-found")
            let invalid = try await client.send(.get, "/v1/admin/programs/NO!/health", headers: admin)
            #expect(invalid.status == .badRequest)
            let anonymous = try await client.send(.get, path)
            #expect(anonymous.status == .unauthorized)
            let member = try await client.send(.get, path, headers: [.authorization: "Bearer rcpm_not-an-admin"])
            #expect(member.status == .unauthorized)
        }
    }
}
