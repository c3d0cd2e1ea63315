import Foundation
import Testing

/// `reciprocity profile show` tells a CLI member when the current round closes, once an organizer scheduled it
/// (`nextRoundAt`, docs/operations.md "Scheduled rounds"), and says nothing of a round when none is scheduled.
@Suite(.serialized) struct RoundCloseCommandTests {
    @Test func profileShowPrintsTheScheduledCloseAndNothingWithoutOne() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        try alice.join(invite: invite)
        let before = try alice.ok(["profile", "show"])
        #expect(before.hasPrefix("alice in acme (epoch 0, up to 16 marks)\nname: "), "\(before)")
        #expect(!before.contains("round"), "\(before)")

        let whole = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 + 2 * 86_400
        let at = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: whole))
        _ = try server.admin(["program", "schedule-round", "acme", "--at", at])
        let shown = try alice.ok(["profile", "show"])
        let sentence =
            "this round closes at \(at); your interests are then sent again for the new round by your next command; "
            + "matches stay"
        #expect(shown.hasPrefix("alice in acme (epoch 0, up to 16 marks)\n\(sentence)\nname: "), "\(shown)")
        let json = try JSONSerialization.jsonObject(with: Data(try alice.ok(["profile", "show", "--json"]).utf8))
        #expect(((json as? [String: Any])?["program"] as? [String: Any])?["nextRoundAt"] as? String == at)

        _ = try server.admin(["program", "schedule-round", "acme", "--cancel"])
        #expect(try alice.ok(["profile", "show"]) == before)
    }
}
