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

/// Every route, every kind of caller, one table. A cell is the expected status; every non-2xx must be a
/// problem+json body.
@Suite struct AuthorizationMatrixTests {
    enum Caller: String, CaseIterable {
        case anonymous, wrongCredential, admin, suspended, otherMember, otherProgram, owner
    }

    struct Row {
        let method: HTTPRequest.Method
        /// The router's pattern, to check that the table covers every route.
        let route: String
        let uri: String
        let body: String?
        let expected: [Caller: HTTPResponse.Status]

        /// A member route: 401 for anonymous, wrong and admin credentials, 403 for suspended members.
        static func member(
            _ method: HTTPRequest.Method, _ route: String, _ uri: String, body: String? = nil,
            other: HTTPResponse.Status = .ok, otherProgram: HTTPResponse.Status = .ok, owner: HTTPResponse.Status = .ok
        ) -> Row {
            Row(
                method: method, route: route, uri: uri, body: body,
                expected: [
                    .anonymous: .unauthorized, .wrongCredential: .unauthorized, .admin: .unauthorized,
                    .suspended: .forbidden, .otherMember: other, .otherProgram: otherProgram, .owner: owner,
                ])
        }

        /// An admin route: only the admin credential gets in.
        static func admin(
            _ method: HTTPRequest.Method, _ route: String, _ uri: String, body: String? = nil,
            status: HTTPResponse.Status = .ok
        ) -> Row {
            var expected = Dictionary(
                uniqueKeysWithValues: Caller.allCases.map { ($0, HTTPResponse.Status.unauthorized) })
            expected[.admin] = status
            return Row(method: method, route: route, uri: uri, body: body, expected: expected)
        }

        /// A public route: the same answer for everyone.
        static func open(
            _ method: HTTPRequest.Method, _ route: String, _ uri: String, body: String? = nil,
            status: HTTPResponse.Status = .ok
        ) -> Row {
            Row(
                method: method, route: route, uri: uri, body: body,
                expected: Dictionary(uniqueKeysWithValues: Caller.allCases.map { ($0, status) }))
        }
    }

    @Test(arguments: Backend.enabled) func everyRouteAnswersEveryCallerAsSpecified(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        let operations = AdminOperations(store: harness.store)
        _ = try await operations.createProgram(name: "other-program", maxMarks: nil, epoch: nil)
        let otherInvite = try await operations.createInvite(program: "other-program", uses: 1, expiresIn: nil)
        try await harness.application().test(.live) { client in
            let owner = try await client.join("owner", program: program, invite: invite)
            let other = try await client.join("other", program: program, invite: invite)
            let suspended = try await client.join("suspended", program: program, invite: invite)
            let spare = try await client.join("spare", program: program, invite: invite)
            let outsider = try await client.join(
                "outsider", program: try ProgramID("other-program"), invite: otherInvite.code)
            _ = try await operations.setStatus(program: "acme", handle: "suspended", status: .suspended)
            let ownerMark = try Mark.dummy()
            _ = try await client.submit(owner, [ownerMark])
            // The owner's match with spare: its conversation is theirs alone.
            let matched = try Mark.dummy()
            _ = try await client.submit(owner, [matched])
            _ = try await client.submit(spare, [Mark(token: matched.token, tag: try .random())])
            let conversation = "/v1/conversations/\(matched.token.base64URL)"
            let envelope = #"{"envelope":"\#(ConversationAPITests.envelope())"}"#
            // $TOKEN and $TAG become fresh random values in every request.
            let mark = #"{"epoch":0,"marks":[{"token":"$TOKEN","tag":"$TAG"}]}"#
            let profile = #"{"displayName":"Renamed"}"#
            let badJoin =
                #"{"invite":"rcpi_invalid","handle":"newcomer","publicKey":"\#(try PrivateKey().publicKey.base64URL)","profile":{"displayName":"N"}}"#

            let rows: [Row] = [
                .open(.get, "/openapi.yaml", "/openapi.yaml"),
                .open(.get, "/", "/"),
                .open(.get, "/join", "/join"),
                .open(.get, "/console", "/console"),
                .open(.get, "/web/{asset}", "/web/reciprocity.js"),
                .open(.get, "/web-manifest.json", "/web-manifest.json"),
                .open(.get, "/healthz", "/healthz"),
                .open(.get, "/readyz", "/readyz"),
                // Only the metrics credential (MetricsAccessTests), not even the admin's.
                .open(.get, "/metrics", "/metrics", status: .unauthorized),
                .open(
                    .post, "/v1/programs/{program}/members", "/v1/programs/acme/members", body: badJoin,
                    status: .forbidden),
                .member(.get, "/v1/me", "/v1/me"),
                .member(.put, "/v1/me/profile", "/v1/me/profile", body: profile),
                .member(.put, "/v1/me/email", "/v1/me/email", body: #"{"email":"someone@example.test"}"#),
                .member(
                    .delete, "/v1/me/email", "/v1/me/email", other: .noContent, otherProgram: .noContent,
                    owner: .noContent),
                .member(.get, "/v1/directory", "/v1/directory"),
                .member(.get, "/v1/profiles", "/v1/profiles"),
                // Another program's member cannot see this program's members.
                .member(.get, "/v1/directory/{handle}", "/v1/directory/owner", otherProgram: .notFound),
                .member(.post, "/v1/marks", "/v1/marks", body: mark),
                .member(.get, "/v1/marks", "/v1/marks"),
                // Only the owner can withdraw the owner's mark; to anyone else it does not exist.
                .member(
                    .delete, "/v1/marks/{token}", "/v1/marks/\(ownerMark.token.base64URL)", other: .notFound,
                    otherProgram: .notFound, owner: .noContent),
                .member(.get, "/v1/matches", "/v1/matches"),
                // Only the match's two members reach its conversation; to anyone else it does not exist.
                .member(.get, "/v1/conversations", "/v1/conversations"),
                .member(
                    .get, "/v1/conversations/{token}/messages", "\(conversation)/messages", other: .notFound,
                    otherProgram: .notFound),
                .member(
                    .post, "/v1/conversations/{token}/messages", "\(conversation)/messages", body: envelope,
                    other: .notFound, otherProgram: .notFound, owner: .created),
                .member(
                    .post, "/v1/conversations/{token}/report", "\(conversation)/report", body: #"{"reason":"spam"}"#,
                    other: .notFound, otherProgram: .notFound, owner: .noContent),
                .member(
                    .post, "/v1/conversations/{token}/end", "\(conversation)/end", other: .notFound,
                    otherProgram: .notFound, owner: .noContent),
                // Each member reads its own program's key log.
                .member(.get, "/v1/log/head", "/v1/log/head"),
                .member(.get, "/v1/log/entries", "/v1/log/entries?start=0&limit=10"),
                .member(.get, "/v1/log/consistency", "/v1/log/consistency?from=1&to=1"),
                .admin(.get, "/v1/admin/session", "/v1/admin/session"),
                .admin(.get, "/v1/admin/organizers", "/v1/admin/organizers"),
                .admin(
                    .post, "/v1/admin/organizers", "/v1/admin/organizers",
                    body: #"{"name":"by-admin","programs":["acme"]}"#, status: .created),
                .admin(
                    .delete, "/v1/admin/organizers/{name}", "/v1/admin/organizers/by-admin", status: .noContent),
                .admin(.get, "/v1/admin/programs", "/v1/admin/programs"),
                .admin(
                    .post, "/v1/admin/programs", "/v1/admin/programs", body: #"{"name":"created-by-admin"}"#,
                    status: .created),
                .admin(
                    .put, "/v1/admin/programs/{program}/epoch", "/v1/admin/programs/acme/epoch", body: #"{"epoch":0}"#),
                .admin(
                    .put, "/v1/admin/programs/{program}/next-round", "/v1/admin/programs/acme/next-round",
                    body: #"{"at":"\#(Date(timeIntervalSinceNow: 86_400).formatted(.iso8601))"}"#),
                .admin(.delete, "/v1/admin/programs/{program}/next-round", "/v1/admin/programs/acme/next-round"),
                .admin(.get, "/v1/admin/programs/{program}/about", "/v1/admin/programs/acme/about"),
                .admin(
                    .patch, "/v1/admin/programs/{program}/about", "/v1/admin/programs/acme/about",
                    body: #"{"description":"set by the admin"}"#),
                .admin(
                    .post, "/v1/admin/programs/{program}/invites", "/v1/admin/programs/acme/invites", body: "{}",
                    status: .created),
                .admin(.get, "/v1/admin/programs/{program}/invites", "/v1/admin/programs/acme/invites"),
                .admin(.patch, "/v1/admin/programs/{program}", "/v1/admin/programs/acme", body: #"{"maxMarks":16}"#),
                .admin(
                    .delete, "/v1/admin/programs/{program}/invites/{invite}",
                    "/v1/admin/programs/acme/invites/\(InviteID.of(codeDigest: BearerSecret(text: invite).digest))",
                    status: .noContent),
                .admin(.get, "/v1/admin/programs/{program}/audit", "/v1/admin/programs/acme/audit"),
                .admin(.get, "/v1/admin/programs/{program}/members", "/v1/admin/programs/acme/members"),
                .admin(.get, "/v1/admin/programs/{program}/health", "/v1/admin/programs/acme/health"),
                .admin(.get, "/v1/admin/programs/{program}/reports", "/v1/admin/programs/acme/reports"),
                // This harness sets no SMTP relay: the reminder is refused as such, after the credential check.
                .admin(
                    .post, "/v1/admin/programs/{program}/reminders", "/v1/admin/programs/acme/reminders",
                    body: #"{"kind":"complete-profile"}"#, status: .conflict),
                .admin(
                    .post, "/v1/admin/programs/{program}/members/{handle}/suspend",
                    "/v1/admin/programs/acme/members/spare/suspend"),
                .admin(
                    .post, "/v1/admin/programs/{program}/members/{handle}/reinstate",
                    "/v1/admin/programs/acme/members/spare/reinstate"),
                // Each caller rotates to a fresh key of its own (the owner's pending mark goes with it).
                .member(.put, "/v1/me/key", "/v1/me/key", body: #"{"publicKey":"$KEY"}"#),
                // Last: rotating changes each caller's credential.
                .member(.post, "/v1/me/credential", "/v1/me/credential"),
            ]

            let credentials: [Caller: String?] = [
                .anonymous: nil, .wrongCredential: "rcpm_" + Base64URL.encode(try InterestToken.random().bytes),
                .admin: harness.adminCredential, .suspended: suspended.credential, .otherMember: other.credential,
                .otherProgram: outsider.credential, .owner: owner.credential,
            ]
            var cells = 0
            for row in rows {
                for caller in Caller.allCases {
                    var headers: HTTPFields = [:]
                    if let credential = credentials[caller] ?? nil { headers[.authorization] = "Bearer \(credential)" }
                    let body = try row.body.map {
                        $0.replacingOccurrences(of: "$TOKEN", with: try InterestToken.random().base64URL)
                            .replacingOccurrences(of: "$TAG", with: try ConfirmationTag.random().base64URL)
                            .replacingOccurrences(of: "$KEY", with: try PrivateKey().publicKey.base64URL)
                    }
                    let response = try await client.send(row.method, row.uri, headers: headers, raw: body)
                    let expected = try #require(row.expected[caller])
                    #expect(response.status == expected, "\(row.method) \(row.uri) as \(caller.rawValue)")
                    if response.status.code >= 400 {
                        #expect(response.headers[.contentType] == "application/problem+json")
                    }
                    cells += 1
                }
            }
            #expect(cells == rows.count * Caller.allCases.count)

            // The table covers every route the server has, but the event stream, whose answer never ends
            // (LiveEventsTests checks who may open it).
            let routed = Set(
                buildRouter(configuration: ServerConfiguration(), store: harness.store).routes.map { route in
                    "\(route.method) " + route.path.description.replacing(/:(\w+)/) { "{\($0.output.1)}" }
                })
            #expect(Set(rows.map { "\($0.method) \($0.route)" }) == routed.subtracting(["GET /v1/events"]))
        }
    }
}
