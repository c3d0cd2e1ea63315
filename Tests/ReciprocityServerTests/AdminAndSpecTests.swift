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

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite struct AdminAndSpecTests {
    @Test(arguments: Backend.enabled) func adminAPIIsOffWithoutACredential(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        try await harness.application(admin: false).test(.live) { client in
            let response = try await client.send(
                .get, "/v1/admin/programs", headers: [.authorization: "Bearer \(harness.adminCredential)"])
            #expect(response.status == .notFound)
            #expect(try response.problem().code == "admin-disabled")
        }
    }

    @Test(arguments: Backend.enabled) func adminAPIManagesProgramsAndInvites(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        try await harness.application().test(.live) { client in
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let wrong: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)x"]
            #expect(try await client.send(.get, "/v1/admin/programs", headers: wrong).status == .unauthorized)
            let created = try await client.send(
                .post, "/v1/admin/programs", headers: admin, json: CreateProgramRequest(name: "guild", maxMarks: 5))
            #expect(created.status == .created)
            #expect(try created.decode(ProgramInfo.self) == ProgramInfo(name: "guild", epoch: 0, maxMarks: 5))
            let again = try await client.send(
                .post, "/v1/admin/programs", headers: admin, json: CreateProgramRequest(name: "guild"))
            #expect(try again.problem().code == "program-exists")
            let invite = try await client.send(
                .post, "/v1/admin/programs/guild/invites", headers: admin, json: CreateInviteRequest(uses: 2)
            )
            .decode(InviteInfo.self)
            let member = try await client.join("newbie", program: try ProgramID("guild"), invite: invite.code)
            let listed = try await client.send(.get, "/v1/admin/programs/guild/members", headers: admin)
                .decode(MemberListResponse.self)
            #expect(listed.members.map(\.handle) == ["newbie"])
            // A new epoch purges marks of the old one.
            _ = try await client.submit(member, [try Mark.dummy()])
            let epoch = try await client.send(
                .put, "/v1/admin/programs/guild/epoch", headers: admin, raw: #"{"epoch":1}"#)
            #expect(try epoch.decode(ProgramInfo.self).epoch == 1)
            let pending = try await client.send(.get, "/v1/marks", headers: member.auth).decode(
                PendingMarksResponse.self)
            #expect(pending.marks.isEmpty)
            #expect(
                try await client.send(.post, "/v1/admin/programs/nope/invites", headers: admin, raw: "{}")
                    .problem().code == "program-not-found")
        }
    }

    @Test func servedDocumentIsTheSpecAndCoversEveryRoute() async throws {
        let spec = try String(contentsOf: repositoryRoot.appendingPathComponent("Specs/openapi.yaml"), encoding: .utf8)
        let harness = try Harness()
        try await harness.application().test(.live) { client in
            let served = try await client.send(.get, "/openapi.yaml")
            #expect(served.status == .ok)
            #expect(String(buffer: served.body) == spec)
        }
        // Every (method, path) in the document is routed, and every route is in the document.
        var documented: Set<String> = []
        var path: String?
        for line in spec.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("components:") { break }
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            let methods = ["get", "post", "put", "delete", "patch"]
            if let path, line.hasPrefix("    "), !line.hasPrefix("     "),
                let method = methods.first(where: { line == "    \($0):" })
            {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let router = buildRouter(configuration: ServerConfiguration(), store: harness.store)
        let routed = Set(
            router.routes.map { route in
                "\(route.method) " + route.path.description.replacing(/:(\w+)/) { "{\($0.output.1)}" }
            })
        #expect(documented == routed)
        #expect(routed.count >= 15)
    }

    @Test(arguments: Backend.enabled) func unknownRoutesAndMethodsAreProblems(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        try await harness.application().test(.live) { client in
            for (method, uri) in [
                (HTTPRequest.Method.get, "/v2/marks"), (.get, "/index.html"), (.get, "/v1/marks/a/b"),
            ] {
                let response = try await client.send(method, uri)
                #expect(response.status == .notFound)
                #expect(try response.problem().code == "not-found")
            }
            // A known path with a method it does not have: 405 and the methods it does have.
            for (method, uri, allowed) in [
                (HTTPRequest.Method.patch, "/v1/marks", "GET, POST"), (.trace, "/healthz", "GET"),
                (.get, "/v1/marks/\(try InterestToken.random().base64URL)", "DELETE"),
            ] {
                let response = try await client.send(method, uri)
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == allowed)
                #expect(try response.problem().code == "method-not-allowed")
            }
        }
    }
}
