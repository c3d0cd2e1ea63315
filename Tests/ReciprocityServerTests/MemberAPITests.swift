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

@Suite struct MemberAPITests {
    @Test(arguments: Backend.enabled) func joinValidatesEveryFieldAndShowsTheCredentialOnce(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (_, invite) = try await harness.program(uses: 2)
        try await harness.application().test(.live) { client in
            let key = try PrivateKey()
            func join(
                _ handle: String, _ publicKey: String, _ profile: Profile = Profile(displayName: "X"),
                invite code: String? = nil, program name: String = "acme"
            ) async throws -> TestResponse {
                try await client.send(
                    .post, "/v1/programs/\(name)/members",
                    json: JoinRequest(invite: code ?? invite, handle: handle, publicKey: publicKey, profile: profile))
            }
            let lowOrder = Base64URL.encode([UInt8](repeating: 0, count: 32))
            let cases: [(TestResponse, HTTPResponse.Status, String)] = [
                (try await join("Alice", key.publicKey.base64URL), .badRequest, "invalid-handle"),
                (try await join("alice", "not-a-key"), .badRequest, "invalid-encoding"),
                (try await join("alice", lowOrder), .badRequest, "invalid-public-key"),
                (
                    try await join("alice", key.publicKey.base64URL, Profile(displayName: " ")), .badRequest,
                    "invalid-profile"
                ),
                (
                    try await join("alice", key.publicKey.base64URL, Profile(displayName: "A", tags: ["Bad Tag"])),
                    .badRequest,
                    "invalid-profile"
                ),
                (try await join("alice", key.publicKey.base64URL, invite: "rcpi_wrong"), .forbidden, "invite-invalid"),
                (try await join("alice", key.publicKey.base64URL, program: "other"), .forbidden, "invite-invalid"),
                (try await join("alice", key.publicKey.base64URL, program: "BAD"), .badRequest, "invalid-program"),
            ]
            for (response, status, code) in cases {
                #expect(response.status == status, "\(code)")
                #expect(try response.problem().code == code)
            }
            // None of the rejected joins used the invite: two uses are still left.
            let joined = try await join("alice", key.publicKey.base64URL)
            #expect(joined.status == .created)
            let body = try joined.decode(JoinResponse.self)
            #expect(body.credential.hasPrefix("rcpm_"))
            #expect(body.program == ProgramInfo(name: "acme", epoch: 0, maxMarks: 16))
            #expect(try await join("alice", try PrivateKey().publicKey.base64URL).problem().code == "handle-taken")
            #expect(try await join("alice2", key.publicKey.base64URL).problem().code == "key-taken")
            #expect(try await join("bob", try PrivateKey().publicKey.base64URL).status == .created)
            #expect(try await join("carol", try PrivateKey().publicKey.base64URL).problem().code == "invite-invalid")
            // The credential is in no later response.
            let me = try await client.send(.get, "/v1/me", headers: [.authorization: "Bearer \(body.credential)"])
            #expect(me.status == .ok)
            #expect(!String(buffer: me.body).contains(body.credential))
            #expect(try me.decode(SelfInfo.self).member.handle == "alice")
        }
    }

    @Test(arguments: Backend.enabled) func expiredInviteIsRefused(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        _ = try await harness.program()
        let operations = AdminOperations(store: harness.store)
        let invite = try await operations.createInvite(
            program: "acme", uses: 5, expiresIn: 60, now: Date().addingTimeInterval(-120))
        try await harness.application().test(.live) { client in
            let response = try await client.send(
                .post, "/v1/programs/acme/members",
                json: JoinRequest(
                    invite: invite.code, handle: "late", publicKey: try PrivateKey().publicKey.base64URL,
                    profile: Profile(displayName: "Late")))
            #expect(try response.problem().code == "invite-invalid")
        }
    }

    @Test(arguments: Backend.enabled) func authenticationFailuresAllLookTheSame(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            var bodies: Set<String> = []
            for header in [
                nil, "Bearer", "Bearer rcpm_unknown", "Basic \(alice.credential)", "Bearer \(alice.credential) x",
                "Bearer " + String(repeating: "a", count: 500),
            ] {
                let headers: HTTPFields = header.map { [.authorization: $0] } ?? [:]
                let response = try await client.send(.get, "/v1/me", headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                bodies.insert(String(buffer: response.body))
            }
            #expect(bodies.count == 1)
        }
    }

    @Test(arguments: Backend.enabled) func credentialRotationRetiresTheOldCredential(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            var alice = try await client.join("alice", program: program, invite: invite)
            let rotated = try await client.send(.post, "/v1/me/credential", headers: alice.auth)
            let fresh = try rotated.decode(CredentialResponse.self).credential
            #expect(fresh != alice.credential)
            #expect(try await client.send(.get, "/v1/me", headers: alice.auth).status == .unauthorized)
            alice.credential = fresh
            #expect(try await client.send(.get, "/v1/me", headers: alice.auth).status == .ok)
        }
    }

    @Test(arguments: Backend.enabled) func directoryPagesAndRefusesTheRemovedSearchParameters(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let viewer = try await client.join("viewer", program: program, invite: invite)
            for index in 0..<7 {
                _ = try await client.join(
                    "mentor\(index)", program: program, invite: invite,
                    profile: Profile(
                        displayName: "Mentor \(index)", headline: index == 3 ? "VDI rollouts" : "",
                        tags: index % 2 == 0 ? ["swift", "vdi"] : ["rust"], offersMentoring: true))
            }
            _ = try await client.join(
                "learner", program: program, invite: invite,
                profile: Profile(displayName: "Learner", seeksMentoring: true))
            func page(_ query: String) async throws -> DirectoryPage {
                try await client.send(.get, "/v1/directory?\(query)", headers: viewer.auth).decode(DirectoryPage.self)
            }
            // Paging through everything visits each member once, in handle order.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let next = try await page("limit=3" + (cursor.map { "&after=\($0)" } ?? ""))
                seen += next.members.map(\.handle)
                cursor = next.nextCursor
            } while cursor != nil
            #expect(seen == seen.sorted() && seen.count == 9)
            let bad = try await client.send(.get, "/v1/directory?limit=0", headers: viewer.auth)
            #expect(try bad.problem().code == "invalid-parameter")
            // The server no longer searches or filters: an old client's search is refused, naming the
            // parameter, rather than answered with an unfiltered page it would show as results.
            for query in [
                "q=vdi", "tag=swift", "offersMentoring=true", "seeksMentoring=false", "limit=3&q=", "after=a&tag=x",
            ] {
                let refused = try await client.send(.get, "/v1/directory?\(query)", headers: viewer.auth)
                #expect(refused.status == .badRequest, "\(query)")
                let problem = try refused.problem()
                let name = query.split(separator: "&").last!.split(separator: "=")[0]
                #expect(
                    problem.code == "invalid-parameter"
                        && problem.detail?.hasPrefix("'\(name)' is no longer supported") == true,
                    "\(query): \(problem)")
            }
            let entry = try await client.send(.get, "/v1/directory/mentor3", headers: viewer.auth).decode(
                MemberInfo.self)
            #expect(entry.profile.headline == "VDI rollouts")
            #expect(
                try await client.send(.get, "/v1/directory/nobody", headers: viewer.auth).problem().code
                    == "member-not-found")
        }
    }

    @Test(arguments: Backend.enabled) func suspendedMembersAreLockedOutAndHiddenUntilReinstated(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            #expect(
                try await client.send(.post, "/v1/admin/programs/acme/members/bob/suspend", headers: admin).status
                    == .ok)
            #expect(try await client.send(.get, "/v1/me", headers: bob.auth).problem().code == "member-suspended")
            let directory = try await client.send(.get, "/v1/directory", headers: alice.auth).decode(DirectoryPage.self)
            #expect(directory.members.map(\.handle) == ["alice"])
            #expect(
                try await client.send(.post, "/v1/admin/programs/acme/members/bob/reinstate", headers: admin).status
                    == .ok)
            #expect(try await client.send(.get, "/v1/me", headers: bob.auth).status == .ok)
        }
    }
}
