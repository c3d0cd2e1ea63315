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

/// Organizer credentials (#27): scoped to their programs, with a program not theirs answered exactly as one that
/// does not exist, kept out of the operator's routes, and refused at once when revoked.
@Suite struct OrganizerAccessTests {
    /// One request to a route under `/v1/admin/programs/{program}`.
    struct ProgramRequest: CustomStringConvertible {
        let method: HTTPRequest.Method
        /// The router's pattern after `/v1/admin/programs/{program}`, to check the list covers every route.
        let route: String
        /// The path after the program's name (with a query, if any).
        let path: String
        let body: String?

        init(_ method: HTTPRequest.Method, _ route: String, _ path: String? = nil, body: String? = nil) {
            self.method = method
            self.route = route
            self.path = path ?? route
            self.body = body
        }

        var description: String { "\(method) \(path)" }
    }

    /// The invite of program bravo (in the world that has it): its id is known to both worlds' requests.
    static let bravoInvite = BearerSecret(text: "rcpi_bravo-invite")

    /// Every route under `/programs/{program}`, some twice (with a bad body, without a body, as CSV).
    static let programRequests: [ProgramRequest] = [
        ProgramRequest(.patch, "", body: #"{"maxMarks":3}"#),
        ProgramRequest(.patch, "", body: #"{"maxMarks":0}"#),
        ProgramRequest(.put, "/epoch", body: #"{"epoch":1}"#),
        ProgramRequest(.put, "/epoch", body: "{"),
        ProgramRequest(
            .put, "/next-round", body: #"{"at":"\#(Date(timeIntervalSinceNow: 86_400).formatted(.iso8601))"}"#),
        ProgramRequest(.put, "/next-round", body: #"{"at":"yesterday"}"#),
        ProgramRequest(.delete, "/next-round"),
        ProgramRequest(.get, "/about"),
        ProgramRequest(.patch, "/about", body: #"{"description":"taken over"}"#),
        ProgramRequest(.post, "/invites", body: "{}"),
        ProgramRequest(.post, "/invites", body: #"{"uses":0}"#),
        ProgramRequest(.get, "/invites"),
        ProgramRequest(.delete, "/invites/{invite}", "/invites/\(InviteID.of(codeDigest: bravoInvite.digest))"),
        ProgramRequest(.delete, "/invites/{invite}", "/invites/not-an-id"),
        ProgramRequest(.get, "/members"),
        ProgramRequest(.get, "/health"),
        ProgramRequest(.get, "/health", "/health?format=csv"),
        ProgramRequest(.post, "/members/{handle}/suspend", "/members/amy/suspend", body: #"{"reason":"spam"}"#),
        ProgramRequest(.post, "/members/{handle}/suspend", "/members/amy/suspend"),
        ProgramRequest(.post, "/members/{handle}/reinstate", "/members/amy/reinstate"),
        ProgramRequest(.get, "/audit"),
        ProgramRequest(.get, "/audit", "/audit?limit=0"),
        ProgramRequest(.get, "/reports"),
        ProgramRequest(.post, "/reminders", body: #"{"kind":"complete-profile"}"#),
        ProgramRequest(.post, "/reminders", body: #"{"kind":"birthday"}"#),
    ]

    /// A database with program alpha, organizer lead of alpha, and, when `withBravo`, program bravo with member
    /// amy, an invite and an audit entry. Returns the organizer's credential.
    static func world(_ backend: Backend, withBravo: Bool) async throws -> (Harness, String) {
        let harness = try await Harness.make(backend)
        let operations = AdminOperations(store: harness.store)
        _ = try await operations.createProgram(name: "alpha", maxMarks: nil, epoch: nil)
        if withBravo {
            _ = try await operations.createProgram(name: "bravo", maxMarks: nil, epoch: nil)
            _ = try await harness.store.createInvite(
                program: ProgramID("bravo"), codeDigest: bravoInvite.digest, uses: 5, expiresAt: nil)
            _ = try await harness.store.join(
                program: ProgramID("bravo"), inviteDigest: bravoInvite.digest, handle: Handle("amy"),
                publicKey: PrivateKey().publicKey, profile: Profile(displayName: "Amy"),
                credentialDigest: BearerSecret.generate(.memberCredential).digest, now: Date())
        }
        let organizer = try await operations.createOrganizer(name: "lead", programs: ["alpha"])
        return (harness, organizer.credential)
    }

    /// Status, headers and body of `request` on `program`, as one text to compare.
    static func answer(
        _ client: some TestClientProtocol, _ request: ProgramRequest, program: String, credential: String
    ) async throws -> String {
        let response = try await client.send(
            request.method, "/v1/admin/programs/\(program)\(request.path)",
            headers: [.authorization: "Bearer \(credential)"], raw: request.body)
        var headers = response.headers
        headers[.date] = nil
        let lines = headers.map { "\($0.name): \($0.value)" }.sorted()
        return "\(response.status.code)\n\(lines.joined(separator: "\n"))\n\n\(String(buffer: response.body))"
    }

    @Test(arguments: Backend.enabled)
    func aProgramNotTheirsAnswersExactlyAsOneThatDoesNotExist(_ backend: Backend) async throws {
        var answers: [Bool: [String]] = [:]
        var ownAnswers: [String] = []
        for withBravo in [true, false] {
            let (harness, credential) = try await Self.world(backend, withBravo: withBravo)
            let (texts, own) = try await harness.application().test(.router) { client in
                var texts: [String] = []
                for request in Self.programRequests {
                    texts.append(try await Self.answer(client, request, program: "bravo", credential: credential))
                }
                // The same requests on their own program reach the handlers: the comparison can fail.
                var own: [String] = []
                for request in Self.programRequests where withBravo {
                    own.append(try await Self.answer(client, request, program: "alpha", credential: credential))
                }
                return (texts, own)
            }
            answers[withBravo] = texts
            if withBravo { ownAnswers = own }
        }
        let exists = try #require(answers[true])
        let missing = try #require(answers[false])
        for (index, request) in Self.programRequests.enumerated() {
            #expect(exists[index] == missing[index], "\(request): bravo exists vs. does not exist")
            #expect(exists[index].hasPrefix("404\n") && exists[index].contains("program-not-found"), "\(request)")
            #expect(!ownAnswers[index].contains("program-not-found"), "\(request) on alpha: \(ownAnswers[index])")
        }
        // The list covers every route under /programs/{program}.
        let prefix = "/v1/admin/programs/{program}"
        let routed = Set(
            buildRouter(configuration: ServerConfiguration(), store: try StoreHarness().store).routes.compactMap {
                route -> String? in
                let path = route.path.description.replacing(/:(\w+)/) { "{\($0.output.1)}" }
                return path == prefix || path.hasPrefix(prefix + "/")
                    ? "\(route.method) \(path.dropFirst(prefix.count))" : nil
            })
        #expect(Set(Self.programRequests.map { "\($0.method) \($0.route)" }) == routed)
        #expect(routed.count >= 11)
    }

    @Test(arguments: Backend.enabled)
    func organizersSeeTheirProgramsAndNotTheOperatorsRoutes(_ backend: Backend) async throws {
        let (harness, credential) = try await Self.world(backend, withBravo: true)
        try await harness.application().test(.router) { client in
            let organizer: HTTPFields = [.authorization: "Bearer \(credential)"]
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let session = try await client.send(.get, "/v1/admin/session", headers: organizer)
            #expect(String(buffer: session.body) == #"{"name":"lead","programs":["alpha"],"role":"organizer"}"#)
            #expect(
                try await client.send(.get, "/v1/admin/session", headers: admin).decode(AdminSessionResponse.self)
                    == AdminSessionResponse(role: "operator", name: nil, programs: ["alpha", "bravo"]))
            #expect(
                String(buffer: try await client.send(.get, "/v1/admin/session", headers: admin).body).contains(
                    #""name":null"#))
            let programs = try await client.send(.get, "/v1/admin/programs", headers: organizer)
            #expect(try programs.decode([ProgramInfo].self).map(\.name) == ["alpha"])
            #expect(
                try await client.send(.get, "/v1/admin/programs", headers: admin).decode([ProgramInfo].self).map(\.name)
                    == ["alpha", "bravo"])
            for (method, uri, body) in [
                (HTTPRequest.Method.get, "/v1/admin/organizers", nil),
                (.post, "/v1/admin/organizers", #"{"name":"second","programs":["alpha"]}"#),
                (.delete, "/v1/admin/organizers/lead", nil),
                (.post, "/v1/admin/programs", #"{"name":"charlie"}"#),
            ] {
                let response = try await client.send(method, uri, headers: organizer, raw: body)
                #expect(response.status == .forbidden, "\(method) \(uri)")
                #expect(try response.problem().code == "operator-only", "\(method) \(uri)")
            }
            // Nothing of it happened.
            #expect(try await harness.store.organizers().map(\.name) == ["lead"])
            #expect(try await harness.store.program(named: ProgramID("charlie")) == nil)
            // /metrics takes its own credential only.
            let metrics = try await client.send(.get, "/metrics", headers: organizer)
            #expect(metrics.status == .unauthorized)
        }
    }

    @Test(arguments: Backend.enabled)
    func aRevokedOrganizerGetsTheAnswerOfAWrongCredential(_ backend: Backend) async throws {
        let (harness, credential) = try await Self.world(backend, withBravo: false)
        try await harness.application().test(.router) { client in
            let organizer: HTTPFields = [.authorization: "Bearer \(credential)"]
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            #expect(try await client.send(.get, "/v1/admin/programs/alpha/members", headers: organizer).status == .ok)
            let listed = try await client.send(.get, "/v1/admin/organizers", headers: admin)
                .decode(OrganizerListResponse.self)
            #expect(listed.organizers.map(\.name) == ["lead"] && listed.organizers[0].programs == ["alpha"])
            #expect(
                !String(buffer: try await client.send(.get, "/v1/admin/organizers", headers: admin).body).contains(
                    credential))
            #expect(try await client.send(.delete, "/v1/admin/organizers/lead", headers: admin).status == .noContent)
            let wrong = try await client.send(
                .get, "/v1/admin/programs/alpha/members",
                headers: [.authorization: "Bearer \(harness.adminCredential)x"])
            let revoked = try await client.send(.get, "/v1/admin/programs/alpha/members", headers: organizer)
            #expect(wrong.status == .unauthorized)
            #expect(revoked.status == wrong.status && revoked.headers == wrong.headers)
            #expect(String(buffer: revoked.body) == String(buffer: wrong.body))
            let again = try await client.send(.delete, "/v1/admin/organizers/lead", headers: admin)
            #expect(again.status == .notFound)
            #expect(try again.problem().code == "organizer-not-found")
        }
        // No log line carries the credential.
        #expect(!harness.logs.all.joined(separator: "\n").contains(credential))
    }

    @Test(arguments: Backend.enabled)
    func organizersManageInvitesAndEveryActionIsAudited(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        try await harness.application().test(.router) { client in
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            #expect(
                try await client.send(.post, "/v1/admin/programs", headers: admin, raw: #"{"name":"alpha"}"#).status
                    == .created)
            let created = try await client.send(
                .post, "/v1/admin/organizers", headers: admin, raw: #"{"name":"lead","programs":["alpha"]}"#)
            #expect(created.status == .created)
            let organizerInfo = try created.decode(OrganizerCreatedResponse.self)
            #expect(organizerInfo.credential.hasPrefix("rcpo_") && organizerInfo.programs == ["alpha"])
            let duplicate = try await client.send(
                .post, "/v1/admin/organizers", headers: admin, raw: #"{"name":"lead","programs":["alpha"]}"#)
            #expect(duplicate.status == .conflict)
            #expect(try duplicate.problem().code == "organizer-exists")
            let organizer: HTTPFields = [.authorization: "Bearer \(organizerInfo.credential)"]
            let base = "/v1/admin/programs/alpha"

            // Invites: created with an id, listed without a code, revoked; a join with it fails like a bad code.
            let invite = try await client.send(.post, "\(base)/invites", headers: organizer, raw: #"{"uses":2}"#)
                .decode(InviteInfo.self)
            let member = try await client.join("amy", program: ProgramID("alpha"), invite: invite.code)
            let listed = try await client.send(.get, "\(base)/invites", headers: organizer)
            #expect(!String(buffer: listed.body).contains(invite.code))
            #expect(String(buffer: listed.body).contains(#""revokedAt":null"#))
            let items = try listed.decode(InviteListResponse.self).invites
            #expect(items.map(\.id) == [invite.id] && items[0].usesLeft == 1)
            #expect(
                try await client.send(.delete, "\(base)/invites/\(invite.id)", headers: organizer).status == .noContent)
            let afterRevoke = try await client.send(.get, "\(base)/invites", headers: organizer)
                .decode(InviteListResponse.self).invites
            #expect(afterRevoke.count == 1 && afterRevoke.first?.revokedAt != nil)
            func joinAnswer(_ code: String) async throws -> (HTTPResponse.Status, String) {
                let response = try await client.send(
                    .post, "/v1/programs/alpha/members",
                    json: JoinRequest(
                        invite: code, handle: "bob", publicKey: try PrivateKey().publicKey.base64URL,
                        profile: Profile(displayName: "Bob")))
                return (response.status, String(buffer: response.body))
            }
            let revokedJoin = try await joinAnswer(invite.code)
            let unknownJoin = try await joinAnswer(try BearerSecret.generate(.invite).text)
            #expect(revokedJoin.0 == .forbidden && revokedJoin == unknownJoin)
            let unknown = try await client.send(
                .delete, "\(base)/invites/\(String(repeating: "A", count: 22))", headers: organizer)
            #expect(unknown.status == .notFound)
            #expect(try unknown.problem().code == "invite-not-found")

            // The organizer's other changes, and a reason too long.
            #expect(
                try await client.send(.put, "\(base)/epoch", headers: organizer, raw: #"{"epoch":2}"#).status == .ok)
            #expect(try await client.send(.patch, base, headers: organizer, raw: #"{"maxMarks":7}"#).status == .ok)
            #expect(
                try await client.send(.patch, "\(base)/about", headers: organizer, raw: #"{"conduct":"Be kind."}"#)
                    .status == .ok)
            let long = String(repeating: "x", count: 501)
            let tooLong = try await client.send(
                .post, "\(base)/members/amy/suspend", headers: organizer, raw: #"{"reason":"\#(long)"}"#)
            #expect(tooLong.status == .badRequest)
            #expect(try tooLong.problem().code == "invalid-argument")
            #expect(
                try await client.send(
                    .post, "\(base)/members/amy/suspend", headers: organizer, raw: #"{"reason":"spam, twice"}"#
                ).status == .ok)
            #expect(try await client.send(.get, "/v1/me", headers: member.auth).status == .forbidden)
            #expect(try await client.send(.post, "\(base)/members/amy/reinstate", headers: admin).status == .ok)
            #expect(try await client.send(.delete, "/v1/admin/organizers/lead", headers: admin).status == .noContent)

            // The log, newest first, in pages.
            let log = try await client.send(.get, "\(base)/audit?limit=100", headers: admin)
                .decode(AuditLogResponse.self)
            #expect(log.next == nil)
            let expected: [(String, String, String?, String?)] = [
                ("operator", "organizer-revoked", "lead", nil),
                ("operator", "member-reinstated", "amy", nil),
                ("organizer:lead", "member-suspended", "amy", "spam, twice"),
                ("organizer:lead", "program-described", nil, "code of conduct set"),
                ("organizer:lead", "quota-changed", nil, "max marks 7"),
                ("organizer:lead", "epoch-changed", nil, "epoch 2"),
                ("organizer:lead", "invite-revoked", invite.id, nil),
                ("organizer:lead", "invite-created", invite.id, "uses 2"),
                ("operator", "organizer-granted", "lead", nil),
                ("operator", "program-created", nil, "max marks 16, epoch 0"),
            ]
            try #require(log.entries.count == expected.count)
            for (entry, (actor, action, subject, detail)) in zip(log.entries, expected) {
                #expect(
                    entry.actor == actor && entry.action == action && entry.subject == subject
                        && entry.detail == detail, "\(entry)")
            }
            let first = try await client.send(.get, "\(base)/audit?limit=4", headers: admin)
                .decode(AuditLogResponse.self)
            #expect(first.entries == Array(log.entries.prefix(4)) && first.next == log.entries[3].id)
            let second = try await client.send(
                .get, "\(base)/audit?limit=100&before=\(first.next!)", headers: admin
            ).decode(AuditLogResponse.self)
            #expect(second.entries == Array(log.entries.dropFirst(4)))
            for query in ["limit=0", "limit=501", "limit=x", "before=0", "before=-3"] {
                let bad = try await client.send(.get, "\(base)/audit?\(query)", headers: admin)
                #expect(bad.status == .badRequest, "\(query)")
            }
        }
    }
}
