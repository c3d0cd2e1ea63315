import Foundation
import ReciprocityAPI
import ReciprocityCore
import Testing

@testable import ReciprocityClient

/// The directory replica (Specs/client.md, 1a): searching the directory sends nothing that says what or whom the
/// member looks for. A real server behind a recording proxy, the real CLI.
@Suite(.serialized) struct DirectoryReplicaTests {
    struct World {
        let server: ServerProcess
        let proxy: FaultProxy
        let members: [String: CLIMember]
        subscript(_ handle: String) -> CLIMember { members[handle]! }
    }

    func world() throws -> World {
        let (server, invite) = try ServerProcess.withProgram()
        let proxy = try FaultProxy(to: server.port)
        var members: [String: CLIMember] = [:]
        let profiles: [String: [String]] = [
            "alice": ["--display-name", "Alice"],
            "bob": ["--display-name", "Bob", "--headline", "VDI rollouts", "--tag", "vdi", "--offers-mentoring"],
            "carol": ["--display-name", "Carol Zoë", "--tag", "swift", "--seeks-mentoring"],
            "dave": ["--display-name", "Dave", "--tag", "swift", "--offers-mentoring"],
        ]
        for handle in ["alice", "bob", "carol", "dave"] {
            let member = CLIMember(handle, server: server)
            try member.ok(
                ["join", "--server", proxy.url, "--program", "acme", "--invite", invite, "--handle", handle] + profiles[
                    handle]!)
            members[handle] = member
        }
        _ = proxy.takeRequests()
        return World(server: server, proxy: proxy, members: members)
    }

    /// The replica file of a member's only membership.
    static func replicaURL(_ member: CLIMember) throws -> URL {
        let found =
            FileManager.default.enumerator(atPath: member.home.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix("/directory.json") } ?? []
        return member.home.appendingPathComponent(try #require(found.first))
    }

    /// Rewrites a member's replica as `change` says, keeping its mode (the test stands in for time passing,
    /// or for a server that went back).
    static func editReplica(_ member: CLIMember, _ change: (inout DirectoryReplica) -> Void) throws {
        let url = try replicaURL(member)
        var replica = try MembershipFolder(url: url.deletingLastPathComponent()).loadDirectory()
        change(&replica)
        try MembershipFolder(url: url.deletingLastPathComponent()).saveDirectory(replica)
    }

    /// The replica as if its last sync was `minutes` ago (the file's modification time is its sync time).
    static func age(_ member: CLIMember, minutes: Double = 6) throws {
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-minutes * 60)], ofItemAtPath: replicaURL(member).path)
    }

    static func handles(_ output: String) -> [String] {
        output.split(separator: "\n").filter { !$0.hasPrefix("more:") }.map { String($0.prefix(while: { $0 != "\t" })) }
    }

    /// A request line and headers, without the host (the proxy's port).
    static func shape(_ request: FaultProxy.Recorded) -> String {
        ([request.method + " " + request.target]
            + request.headers.filter { $0.key != "host" }.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })
            .joined(separator: "\n")
    }

    @Test func searchingSendsNoTermNoTargetAndTheSameRequestsWhateverIsSearched() throws {
        let world = try world()
        let alice = world["alice"]
        // Alice's replica, synced when she joined (first), catches up with the later joins on its next sync.
        try Self.age(alice)
        try alice.ok(["directory"])
        _ = world.proxy.takeRequests()
        // A fresh replica: searches, filters and pages send nothing at all.
        for (arguments, expected) in [
            (["--search", "bob"], ["bob"]), (["--search", "ZOE"], ["carol"]), (["--search", "vdi roll"], ["bob"]),
            (["--tag", "swift"], ["carol", "dave"]), (["--offers-mentoring"], ["bob", "dave"]),
            (["--seeks-mentoring", "--tag", "swift"], ["carol"]), (["--limit", "2"], ["alice", "bob"]),
            (["--after", "bob", "--limit", "1"], ["carol"]), (["--search", "nobody"], []),
        ] {
            let result = try alice.cli(["directory"] + arguments)
            #expect(world.proxy.takeRequests().isEmpty, "\(arguments)")
            #expect(
                result.status == 0 && Self.handles(result.stdout) == expected,
                "\(arguments): \(result.stdout) \(result.stderr)")
        }

        // A stale replica: the command first syncs it, exactly as any other command would begin, and then
        // searches locally. Two searches for two people send the same requests, naming neither.
        var sequences: [[String]] = []
        for (term, target) in [("bob", "bob"), ("carol", "carol"), ("Zoë", "carol")] {
            try Self.age(alice)
            let cursor = try #require(
                try MembershipFolder(url: Self.replicaURL(alice).deletingLastPathComponent()).loadDirectory().cursor)
            let result = try alice.cli(["directory", "--search", term])
            let requests = world.proxy.takeRequests()
            // One request whose only parameter is the cursor the server gave last time; nothing else in it
            // (headers but the member's own credential, body) holds the term or the person's handle.
            #expect(requests.map(\.target) == ["/v1/profiles?since=\(cursor)"], "\(requests)")
            for request in requests {
                let raw =
                    String(decoding: request.body, as: UTF8.self)
                    + request.headers.filter { $0.key != "authorization" }.map { $0.key + $0.value }.joined()
                #expect(
                    !raw.localizedCaseInsensitiveContains(term) && !raw.contains(target), "\(request) carries '\(term)'"
                )
            }
            #expect(
                result.status == 0 && Self.handles(result.stdout) == [target],
                "\(term): \(result.stdout) \(result.stderr)")
            sequences.append(requests.map(Self.shape))
        }
        #expect(sequences[0].first?.hasPrefix("GET /v1/profiles?since=") == true, "\(sequences[0])")
        #expect(sequences[0] == sequences[1] && sequences[1] == sequences[2], "\(sequences)")
        // The same start as a command that has nothing to do with the directory.
        try Self.age(alice)
        try alice.ok(["profile", "show"])
        let profileShow = world.proxy.takeRequests().map(Self.shape)
        #expect(Array(profileShow.prefix(sequences[0].count)) == sequences[0], "\(profileShow)")
        #expect(profileShow.dropFirst(sequences[0].count).first?.hasPrefix("GET /v1/me") == true, "\(profileShow)")
        // A command that contacts the server while the replica is fresh does not sync it.
        try alice.ok(["profile", "show"])
        #expect(!world.proxy.takeRequests().contains { $0.target.hasPrefix("/v1/profiles") })
    }

    @Test func theReplicaFollowsUpdatesSuspensionsAndStartsOverAfterACursorFromTheFuture() throws {
        let world = try world()
        let alice = world["alice"]
        func listing() throws -> DirectoryListing {
            try Self.age(alice)
            let output = try alice.ok(["directory", "--json"])
            return try APICoding.decoder().decode(DirectoryListing.self, from: Data(output.utf8))
        }
        #expect(try listing().members.map(\.handle) == ["alice", "bob", "carol", "dave"])
        _ = world.proxy.takeRequests()

        // A profile update and a suspension arrive in one incremental page.
        try world["bob"].ok(["profile", "set", "--headline", "Citrix and VDI"])
        _ = world.proxy.takeRequests()
        _ = try world.server.admin(["member", "suspend", "--program", "acme", "carol"])
        let updated = try listing()
        let sync = world.proxy.takeRequests().map(\.target)
        #expect(sync.count == 1 && sync[0].hasPrefix("/v1/profiles?since="), "\(sync)")
        #expect(updated.members.map(\.handle) == ["alice", "bob", "dave"])
        #expect(updated.members[1].profile.headline == "Citrix and VDI")
        _ = try world.server.admin(["member", "reinstate", "--program", "acme", "carol"])
        #expect(try listing().members.map(\.handle) == ["alice", "bob", "carol", "dave"])
        _ = world.proxy.takeRequests()

        // A cursor the server cannot continue from (here one from the future, as after a restore): the server
        // lists everything again and the client replaces its replica, dropping what the server no longer has.
        try Self.editReplica(alice) { replica in
            let cursor = replica.cursor!
            let parts = cursor.split(separator: ".")
            replica.cursor = "\(parts[0]).\(Int(parts[1])! + 100)"
            replica.members["ghost"] = .init(profile: Profile(displayName: "Ghost"), joinedAt: Date())
        }
        #expect(try listing().members.map(\.handle) == ["alice", "bob", "carol", "dave"])
        #expect(world.proxy.takeRequests().count == 1)
    }

    @Test func theReplicaIsOwnerOnlyAndOneOthersCanReadIsRefused() throws {
        let world = try world()
        let alice = world["alice"]
        let url = try Self.replicaURL(alice)
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try Self.age(alice)
        try alice.ok(["directory"])
        #expect(try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int == 0o600)
        // No temporary file is left beside it.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path).sorted()
                == ["directory.json", "private.key", "state.json", "state.lock"])
        chmod(url.path, 0o644)
        let refused = try alice.cli(["directory"])
        #expect(
            refused.status == 1 && refused.stderr.contains("chmod 600")
                && refused.stderr.split(separator: "\n").count == 1,
            "\(refused.stderr)")
    }
}
