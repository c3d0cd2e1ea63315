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

/// A program's description and code of conduct over HTTP: the operator sets and reads them, members get them
/// with the program (join answer, GET /v1/me), and nobody without a valid invite learns anything from them.
@Suite struct ProgramAboutAPITests {
    /// Both texts at their longest.
    static let longest = ProgramAbout(
        description: String(repeating: "d", count: ProgramAbout.maxDescription),
        conduct: String(repeating: "c", count: ProgramAbout.maxConduct))
    static let about = ProgramAbout(
        description: "Mentoring for the <b>caf\u{e9}</b> guild.", conduct: "1. Be kind.\n2. No spam.\t<script>")

    @Test(arguments: Backend.enabled) func theOperatorSetsAndMembersReadTheTexts(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let path = "/v1/admin/programs/\(program)/about"
            #expect(try await client.send(.get, path, headers: admin).decode(ProgramAbout.self) == ProgramAbout())
            // Each text alone; one left out keeps its value. Markup is text like any other.
            let described = try await client.send(
                .patch, path, headers: admin, json: SetProgramAboutRequest(description: Self.about.description))
            #expect(described.status == .ok)
            #expect(try described.decode(ProgramAbout.self) == ProgramAbout(description: Self.about.description))
            let both = try await client.send(
                .patch, path, headers: admin, raw: #"{"conduct":"1. Be kind.\r\n2. No spam.\t<script>  "}"#)
            #expect(try both.decode(ProgramAbout.self) == Self.about)
            #expect(try await client.send(.get, path, headers: admin).decode(ProgramAbout.self) == Self.about)
            let listed = try await client.send(.get, "/v1/admin/programs", headers: admin).decode([ProgramInfo].self)
            #expect(listed.map(\.about) == [Self.about])
            // A member gets them in the join answer and with the program GET /v1/me polls.
            let key = try PrivateKey()
            let joined = try await client.send(
                .post, "/v1/programs/\(program)/members",
                json: JoinRequest(
                    invite: invite, handle: "amy", publicKey: key.publicKey.base64URL,
                    profile: Profile(displayName: "Amy")))
            let answer = try joined.decode(JoinResponse.self)
            #expect(answer.program.about == Self.about)
            let me = try await client.send(.get, "/v1/me", headers: [.authorization: "Bearer \(answer.credential)"])
            #expect(try me.decode(SelfInfo.self).program.about == Self.about)
            #expect(String(buffer: me.body).contains(#""conduct":"1. Be kind.\n2. No spam.\t<script>""#))
            // A member cannot set them, with their credential or none.
            for headers: HTTPFields in [[.authorization: "Bearer \(answer.credential)"], [:]] {
                let refused = try await client.send(.patch, path, headers: headers, raw: #"{"description":"mine"}"#)
                #expect(refused.status == .unauthorized)
                #expect(try refused.problem().code == "unauthorized")
            }
            // Clearing.
            let cleared = try await client.send(.patch, path, headers: admin, raw: #"{"description":"","conduct":""}"#)
            #expect(try cleared.decode(ProgramAbout.self) == ProgramAbout())
        }
    }

    @Test(arguments: Backend.enabled) func badTextsAreProblemsAndChangeNothing(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, _) = try await harness.program()
        _ = try await harness.store.setAbout(program: program, about: Self.about)
        try await harness.application().test(.live) { client in
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let path = "/v1/admin/programs/\(program)/about"
            let longest = String(repeating: "\u{e9}", count: ProgramAbout.maxDescription)
            let cases: [(String, String)] = [
                (#"{"description":"\#(longest)e"}"#, "invalid-input"),
                (#"{"conduct":"\#(String(repeating: "a", count: ProgramAbout.maxConduct + 1))"}"#, "invalid-input"),
                (#"{"description":"bell \u0007"}"#, "invalid-input"),
                (#"{"conduct":"\u202Eevil"}"#, "invalid-input"),
                (#"{"description":null}"#, "invalid-body"),
                (#"{"description":7}"#, "invalid-body"),
                ("[]", "invalid-body"),
                ("not json", "invalid-body"),
            ]
            for (body, code) in cases {
                let response = try await client.send(.patch, path, headers: admin, raw: body)
                #expect(response.status == .badRequest, "\(body.prefix(40))")
                #expect(try response.problem().code == code, "\(body.prefix(40))")
            }
            let unknown = try await client.send(
                .patch, "/v1/admin/programs/nowhere/about", headers: admin, raw: #"{"description":"x"}"#)
            #expect(try unknown.problem().code == "program-not-found")
            #expect(
                try await client.send(.get, "/v1/admin/programs/nowhere/about", headers: admin).problem().code
                    == "program-not-found")
            #expect(try await client.send(.get, path, headers: admin).decode(ProgramAbout.self) == Self.about)
            // At the bound, it fits.
            let fits = try await client.send(.patch, path, headers: admin, raw: #"{"description":"\#(longest)"}"#)
            #expect(try fits.decode(ProgramAbout.self).description == longest)
        }
    }

    /// The texts go only to members: a join refused for a wrong invite answers the same bytes whether the
    /// program exists (with texts set, at their longest) or not, so the join route tells no one without a valid
    /// invite whether a program exists, let alone what it says about itself.
    @Test(arguments: Backend.enabled)
    func aRefusedJoinIsTheSameForAnUnknownProgramAndADescribedOne(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, _) = try await harness.program()
        _ = try await harness.store.setAbout(program: program, about: Self.longest)
        try await harness.application().test(.live) { client in
            let key = try PrivateKey().publicKey.base64URL
            func refuse(_ name: String) async throws -> (HTTPResponse.Status, [String], String) {
                let response = try await client.send(
                    .post, "/v1/programs/\(name)/members",
                    json: JoinRequest(
                        invite: "rcpi_wrong", handle: "zed", publicKey: key, profile: Profile(displayName: "Zed")))
                let headers = response.headers.filter { $0.name != .date }
                    .map { "\($0.name): \($0.value)" }
                return (response.status, headers, String(buffer: response.body))
            }
            let existing = try await refuse(program.rawValue)
            let missing = try await refuse("no-such-program")
            #expect(existing.0 == .forbidden)
            #expect(existing.0 == missing.0 && existing.1 == missing.1 && existing.2 == missing.2)
            #expect(!existing.2.contains("ddd") && !existing.2.contains("ccc"))
        }
    }
}
