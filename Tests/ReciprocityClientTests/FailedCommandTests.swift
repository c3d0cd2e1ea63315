import Foundation
import ReciprocityClient
import Testing

/// A failed command leaves the local state as it was: every state-changing command is failed at each of its
/// requests in turn, by a proxy that cuts the network before the request reaches the server or after the server
/// acted but before its answer arrives, and the member's files are compared byte for byte before and after.
@Suite(.serialized) struct FailedCommandTests {
    /// Runs `arguments` for `member`, failing it at request 1, 2, ... in each way until it goes through (at most
    /// 40). Every failed run must be one line on standard error. A run cut before its replacement request went
    /// out must leave the files byte for byte as they were; once that request went out (whether or not it
    /// arrived), the device keeps the change it sent, says so, and the next command (`matches` here) completes
    /// it: drawing new dummies for a retry would show the server which tokens are real. Returns the last
    /// successful run's output and how many runs failed.
    @discardableResult
    func failAtEveryStep(
        _ member: CLIMember, _ proxy: FaultProxy, _ arguments: [String],
        cuts: [FaultProxy.Cut] = FaultProxy.Cut.allCases
    ) throws -> (output: String, failures: Int) {
        var failures = 0
        var output = ""
        for cut in cuts {
            for passing in 0..<40 {
                proxy.arm(passing: passing, cut: cut)
                let before = try member.snapshot()
                let result = try member.cli(arguments)
                if result.status == 0 {
                    #expect(
                        !proxy.didCut, "\(arguments) succeeded although the network was cut at request \(passing + 1)")
                    output = result.stdout
                    break
                }
                failures += 1
                #expect(proxy.didCut, "\(arguments) failed without a cut: \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
                guard try member.snapshot() != before else { continue }
                #expect(
                    result.stderr.contains("recorded on this device"),
                    "\(arguments) cut \(cut) after \(passing) requests changed the local state: \(result.stderr)")
                proxy.arm(passing: nil)
                try member.ok(["matches"])
                break
            }
        }
        proxy.arm(passing: nil)
        return (output, failures)
    }

    @Test func everyStateChangingCommandFailedAtEachRequestLeavesTheStateAsItWas() throws {
        let (server, invite) = try ServerProcess.withProgram(maxMarks: 6)
        let proxy = try FaultProxy(to: server.port)
        let members = ["alice", "bob", "dave", "erin", "frank"].map { CLIMember($0, server: server) }
        let (alice, bob, dave) = (members[0], members[1], members[2])
        for member in members {
            try member.ok([
                "join", "--server", proxy.url, "--program", "acme", "--invite", invite, "--handle", member.handle,
            ])
        }
        func marks() throws -> Int { try server.count("SELECT COUNT(*) FROM mark") }
        // Cut before the join request arrives, nothing is stored. (After it, the server has used the invite and
        // the handle, and the device keeps the credential: a failed key-log check must not lose the membership.)
        let carol = CLIMember("carol", server: server)
        let join = ["join", "--server", proxy.url, "--program", "acme", "--invite", invite, "--handle", "carol"]
        proxy.arm(passing: 0)
        let cutJoin = try carol.cli(join)
        #expect(cutJoin.status == 1 && cutJoin.stderr.contains("cannot reach the server"))
        #expect(try carol.snapshot().isEmpty)
        proxy.arm(passing: nil)
        try carol.ok(join)

        // Each command is cut at every request, both before the server acts and after; the pending count on
        // the server is the padding after every successful run.
        let added = try failAtEveryStep(
            alice, proxy, ["interest", "add", "bob", "--as", "mentor", "--pad-to", "4", "--note", "hi"])
        #expect(try added.failures >= 6 && alice.ok(["interest", "list"]) == "bob\tas mentor\tpending\n")
        #expect(try marks() == 4, "one real mark and three dummies")
        // Further real marks each replace a dummy in the same request.
        try failAtEveryStep(alice, proxy, ["interest", "add", "carol", "--as", "peer"])
        try failAtEveryStep(alice, proxy, ["interest", "add", "dave", "--as", "peer"])
        #expect(try marks() == 4, "three real marks and one dummy")
        // A withdrawal succeeds once: each way of cutting gets a run of its own.
        for cut in FaultProxy.Cut.allCases {
            let removed = try failAtEveryStep(
                alice, proxy, ["interest", "remove", "dave", "--as", "peer"], cuts: [cut])
            #expect(try removed.failures >= 2 && !alice.ok(["interest", "list"]).contains("dave"))
            #expect(try marks() == 4, "two real marks and two dummies")
            try failAtEveryStep(alice, proxy, ["interest", "add", "dave", "--as", "peer"], cuts: [cut])
        }
        #expect(
            try alice.ok(["interest", "list"])
                == "bob\tas mentor\tpending\ncarol\tas peer\tpending\ndave\tas peer\tpending\n")
        #expect(try marks() == 4, "three real marks and one dummy, after removing and adding dave")

        try bob.ok(["interest", "add", "alice", "--as", "mentee"])
        let matched = try failAtEveryStep(alice, proxy, ["matches"])
        #expect(matched.output.contains("match: bob"))
        #expect(try bob.ok(["matches"]).contains("note from alice: hi"))

        try failAtEveryStep(alice, proxy, ["key", "fingerprint", "erin"], cuts: [.beforeRequest])
        try failAtEveryStep(alice, proxy, ["key", "fingerprint", "frank"], cuts: [.beforeResponse])
        try dave.ok(["interest", "add", "bob", "--as", "peer"])
        try bob.ok(["key", "rotate"])
        try failAtEveryStep(dave, proxy, ["key", "trust", "bob"])
        #expect(try dave.ok(["key", "fingerprint", "bob"]) == bob.ok(["key", "fingerprint"]))
    }

    @Test func overQuotaOrOutOfRangeTheStateIsUnchangedAndTheMessageSaysWhatToDo() throws {
        let (server, invite) = try ServerProcess.withProgram(maxMarks: 2)
        let members = ["alice", "bob", "tom", "zoe"].map { CLIMember($0, server: server) }
        for member in members { try member.join(invite: invite) }
        let alice = members[0]
        try alice.ok(["interest", "add", "bob", "tom", "--as", "peer"])

        func refused(_ arguments: [String], _ fragments: String...) throws {
            let before = try alice.memberFacts()
            let result = try alice.cli(arguments)
            #expect(
                result.status == 1 && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            for fragment in fragments { #expect(result.stderr.contains(fragment), "\(arguments): \(result.stderr)") }
            #expect(try alice.memberFacts() == before, "\(arguments) changed the local state")
        }
        try refused(
            ["interest", "add", "zoe", "--as", "peer"], "allows 2 interests per epoch",
            "you have made 2 interests this epoch",
            "would add 1", "reciprocity interest remove")
        try refused(["interest", "add", "zoe", "--as", "peer", "--pad-to", "5"], "--pad-to must be at most 2")
        try refused(["interest", "add", "zoe", "--as", "peer", "--pad-to", "-1"], "--pad-to must be 0 or more")
        try alice.ok(["interest", "remove", "tom", "--as", "peer"])
        #expect(try alice.ok(["interest", "add", "zoe", "--as", "peer"]).contains("zoe as peer: pending"))
    }
}
