import Foundation
import Testing

/// `reciprocityd admin organizer|invite list|invite revoke|program audit` and `--reason` (#27), on a real
/// database beside a running server: every change the command line makes is in the audit log as the operator's
/// at the command line, and every bad input is one sentence and a failure status.
@Suite struct AdminOrganizerCommandTests {
    struct AuditPage: Decodable {
        struct Entry: Decodable {
            let actor: String
            let action: String
            let subject: String?
            let detail: String?
        }
        let entries: [Entry]
        let next: Int?
    }

    struct InvitePage: Decodable {
        struct Invite: Decodable {
            let id: String
            let usesLeft: Int
            let revokedAt: String?
        }
        let invites: [Invite]
    }

    @Test func commandsManageOrganizersInvitesAndReasonsAndAuditEachChange() throws {
        let (server, invite) = try ServerProcess.withProgram(uses: 5)
        try CLIMember("ann", server: server).join(invite: invite)

        // Invites: listed by id, never by code; revoked; a join with it then fails.
        let listed = try JSONDecoder().decode(
            InvitePage.self, from: Data(try server.admin(["invite", "list", "acme", "--json"]).utf8))
        try #require(listed.invites.count == 1)
        #expect(listed.invites[0].usesLeft == 4 && listed.invites[0].revokedAt == nil)
        #expect(!(try server.admin(["invite", "list", "acme"])).contains(invite))
        let id = listed.invites[0].id
        #expect(try server.admin(["invite", "revoke", "acme", id]) == "invite \(id) of acme revoked")
        #expect(try server.admin(["invite", "list", "acme"]).contains("\trevoked "))
        let refused = try CLIMember("bob", server: server).cli(
            ["join", "--server", server.url, "--program", "acme", "--invite", invite, "--handle", "bob"])
        #expect(refused.status != 0 && refused.stderr.contains("invite"))

        // Members, with reasons; organizers; the quota.
        #expect(
            try server.admin(["member", "suspend", "--program", "acme", "ann", "--reason", "spam, twice"])
                == "ann is suspended")
        #expect(try server.admin(["member", "reinstate", "--program", "acme", "ann"]) == "ann is active")
        let credential = try server.admin(["organizer", "create", "lead", "--program", "acme"])
        #expect(credential.hasPrefix("rcpo_") && !credential.contains("\n"))
        #expect(try server.admin(["organizer", "list"]).hasPrefix("lead\tacme\tcreated "))
        #expect(!(try server.admin(["organizer", "list"])).contains(credential))
        #expect(try server.admin(["organizer", "revoke", "lead"]) == "organizer lead revoked")
        #expect(try server.admin(["organizer", "list"]).isEmpty)
        _ = try server.admin(["program", "set-max-marks", "acme", "8"])

        let page = try JSONDecoder().decode(
            AuditPage.self, from: Data(try server.admin(["program", "audit", "acme", "--json"]).utf8))
        try #require(
            page.entries.map(\.action) == [
                "quota-changed", "organizer-revoked", "organizer-granted", "member-reinstated", "member-suspended",
                "invite-revoked", "invite-created", "program-created",
            ])
        #expect(page.entries.allSatisfy { $0.actor == "operator (command line)" } && page.next == nil)
        #expect(page.entries[4].subject == "ann" && page.entries[4].detail == "spam, twice")
        #expect(page.entries[5].subject == id && page.entries[6].subject == id)
        let text = try server.admin(["program", "audit", "acme", "--limit", "2"])
        #expect(text.split(separator: "\n").count == 2)
        #expect(text.contains("\toperator (command line)\tquota-changed\t-\tmax marks 8"))

        // Bad input: one sentence, a failure status, nothing on stdout, never a crash.
        let long = String(repeating: "x", count: 501)
        for (arguments, sentence) in [
            (["organizer", "create", "lead"], "give at least one --program NAME"),
            (["organizer", "create", "lead", "--program", "nowhere"], "no program named 'nowhere'"),
            (["organizer", "create", "Not A Name", "--program", "acme"], "an organizer's name must be"),
            (["organizer", "revoke", "nobody"], "no organizer named 'nobody'"),
            (["invite", "revoke", "acme", "not-an-id"], "program 'acme' has no invite 'not-an-id'"),
            (["invite", "list", "nowhere"], "no program named 'nowhere'"),
            (["program", "audit", "nowhere"], "no program named 'nowhere'"),
            (["program", "audit", "acme", "--limit", "0"], "limit must be 1 to 500"),
            (["program", "set-max-marks", "acme", "0"], "max marks must be 1 to 10000"),
            (["member", "suspend", "--program", "acme", "ann", "--reason", long], "a reason is one line"),
            (["member", "suspend", "--program", "acme", "ann", "--reason", "bell\u{7}"], "a reason is one line"),
        ] {
            let result = try run("reciprocityd", ["admin"] + arguments + ["--database", server.database])
            #expect(result.status != 0 && !result.crashed, "\(arguments)")
            #expect(result.stderr.contains(sentence), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(arguments)")
        }
        // The refused suspensions changed nothing and logged nothing.
        let after = try JSONDecoder().decode(
            AuditPage.self, from: Data(try server.admin(["program", "audit", "acme", "--json"]).utf8))
        #expect(after.entries.count == page.entries.count)
    }
}
