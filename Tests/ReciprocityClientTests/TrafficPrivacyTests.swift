import Foundation
import GRDB
import ReciprocityAPI
import ReciprocityCore
import Synchronization
import Testing

@testable import ReciprocityClient

/// What the server (or a reverse proxy's access log) sees of a member's traffic must not say whom the member
/// marks, and must not tell real marks from dummies. Every request crosses a recording proxy in front of a
/// real server; the CLI and the client library are the real ones.
@Suite(.serialized) struct TrafficPrivacyTests {
    struct World {
        let server: ServerProcess
        let proxy: FaultProxy
        let members: [String: CLIMember]
        subscript(_ handle: String) -> CLIMember { members[handle]! }
    }

    /// A server with alice, bob, carol and dave joined through the proxy, in that order (so that two worlds
    /// have logs of the same size).
    func world(maxMarks: Int = 8) throws -> World {
        let (server, invite) = try ServerProcess.withProgram(maxMarks: maxMarks)
        let proxy = try FaultProxy(to: server.port)
        var members: [String: CLIMember] = [:]
        for handle in ["alice", "bob", "carol", "dave"] {
            let member = CLIMember(handle, server: server)
            try member.ok(["join", "--server", proxy.url, "--program", "acme", "--invite", invite, "--handle", handle])
            members[handle] = member
        }
        _ = proxy.takeRequests()
        return World(server: server, proxy: proxy, members: members)
    }

    /// A request with what may legitimately differ masked: the host's port, the credential, and base64url runs
    /// of 720 (sealed notes) and 43 characters (tokens, tags, keys). Lengths, order, paths, query parameters,
    /// headers and every other byte must stay.
    static func shape(_ request: FaultProxy.Recorded) -> String {
        func mask(_ text: String) -> String {
            text.replacing(/rcpm_[A-Za-z0-9_-]{43}/, with: "<credential>")
                .replacing(/[A-Za-z0-9_-]{720}/, with: "<720>")
                .replacing(/[A-Za-z0-9_-]{43}/, with: "<43>")
        }
        let headers = request.headers.filter { $0.key != "host" }.sorted { $0.key < $1.key }
            .map { "\($0.key): \(mask($0.value))" }
        return
            ([request.method + " " + mask(request.target)] + headers + [
                mask(String(decoding: request.body, as: UTF8.self))
            ])
            .joined(separator: "\n")
    }

    /// Runs one command in each world and requires the same requests, shape for shape.
    func expectSameTraffic(
        _ worlds: (World, World), _ first: [String], _ second: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    )
        throws -> [String]
    {
        try worlds.0["alice"].ok(first)
        try worlds.1["alice"].ok(second)
        let a = worlds.0.proxy.takeRequests()
        let b = worlds.1.proxy.takeRequests()
        #expect(!a.isEmpty, sourceLocation: sourceLocation)
        #expect(a.map(Self.shape) == b.map(Self.shape), "\(first) and \(second) differ", sourceLocation: sourceLocation)
        return a.map(Self.shape)
    }

    /// Nothing alice sends names the person she marks: not the handle, not the key, not the profile.
    func expectNoTrace(
        of handle: String, in world: World, _ requests: [FaultProxy.Recorded],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let key: Data = try world.server.rows("SELECT public_key FROM member WHERE handle = '\(handle)'")[0][
            "public_key"]
        let encodedKey = Base64URL.encode([UInt8](key))
        for request in requests {
            let raw = request.target + String(decoding: request.body, as: UTF8.self) + request.headers.values.joined()
            #expect(
                !raw.contains(handle) && !raw.contains(encodedKey), "\(request) names \(handle)",
                sourceLocation: sourceLocation)
        }
    }

    @Test func addRemoveAndTrustSendTheSameRequestsWhoeverIsMarked() throws {
        let worlds = (try world(), try world())
        // The first mark pads to the program's quota in one shuffled batch.
        let first = try expectSameTraffic(
            worlds, ["interest", "add", "bob", "--as", "mentor", "--note", "hello"],
            ["interest", "add", "carol", "--as", "mentor", "--note", "hello"])
        let lines = first.map { String($0.prefix(while: { $0 != "\n" })) }
        #expect(lines.first == "GET /v1/me" && lines.suffix(2) == ["GET /v1/marks", "POST /v1/marks"], "\(lines)")
        #expect(!lines.contains { $0.contains("/v1/directory") }, "\(lines)")
        // A second mark, a withdrawal, a trust with and without marks on the person, an unchanged re-add.
        let add = try expectSameTraffic(
            worlds, ["interest", "add", "carol", "--as", "peer"], ["interest", "add", "bob", "--as", "peer"])
        let remove = try expectSameTraffic(
            worlds, ["interest", "remove", "bob", "--as", "mentor"], ["interest", "remove", "carol", "--as", "mentor"])
        let trust = try expectSameTraffic(worlds, ["key", "trust", "carol"], ["key", "trust", "dave"])
        // Marking someone already marked (nothing to change) and someone new.
        let again = try expectSameTraffic(
            worlds, ["interest", "add", "carol", "--as", "peer"], ["interest", "add", "dave", "--as", "peer"])
        // And the server cannot tell these commands apart at all: each replaces one mark by another. A trust
        // sends the same requests, but replaces three marks, whatever it found (aTrustChangesThreeMarks...).
        #expect(add == remove && remove == again)
        #expect(trust.map { $0.prefix(while: { $0 != "\n" }) } == add.map { $0.prefix(while: { $0 != "\n" }) })
        #expect(try worlds.0.server.count("SELECT COUNT(*) FROM mark") == 8)
        #expect(try worlds.1.server.count("SELECT COUNT(*) FROM mark") == 8)

        // No request of a mark names its target, in the CLI's traffic or through key lookups.
        try worlds.0["alice"].ok(["interest", "add", "dave", "--as", "mentee"])
        try expectNoTrace(of: "dave", in: worlds.0, worlds.0.proxy.takeRequests())
        try worlds.0["alice"].ok(["key", "fingerprint", "dave"])
        try expectNoTrace(of: "dave", in: worlds.0, worlds.0.proxy.takeRequests())
    }

    /// The one key used for a handle is the one live in the log the client verified; whatever the directory
    /// serves (a substitute, or a retired key after a rotation) is never consulted.
    @Test func onlyTheLiveKeyInTheVerifiedLogIsEverUsed() throws {
        let world = try world()
        let (alice, bob, carol) = (world["alice"], world["bob"], world["carol"])
        // Carol marks bob, pinning his first key.
        try carol.ok(["interest", "add", "bob", "--as", "mentor"])
        let retired: Data = try world.server.rows("SELECT public_key FROM member WHERE handle = 'bob'")[0]["public_key"]
        try bob.ok(["key", "rotate"])
        // The server goes on serving bob's retired key in its directory, with its (valid) inclusion proof.
        try world.server.tamper("UPDATE member SET public_key = ? WHERE handle = 'bob'", [retired])
        #expect(
            try alice.ok(["key", "fingerprint", "bob"]).contains(
                bob.ok(["key", "fingerprint"]).trimmingCharacters(in: .newlines)))
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        try world.server.tamper(
            "UPDATE member SET public_key = (SELECT public_key FROM key_log WHERE handle = 'bob' ORDER BY idx DESC LIMIT 1) WHERE handle = 'bob'"
        )
        try bob.ok(["interest", "add", "alice", "--as", "mentee"])
        #expect(try alice.matches().contains { $0.handle == "bob" && $0.verified })
        // Carol pinned bob's old key: marking him again is refused until she checks and trusts the new one,
        // which derives her pending mark again with it.
        let refused = try carol.cli(["interest", "add", "bob", "--as", "peer"])
        #expect(
            refused.status == 1 && refused.stderr.contains("key changed") && refused.stderr.contains("key trust bob"))
        // A new epoch: carol's mark on bob cannot be derived again with a key she has not trusted, and never
        // with the retired one. It waits, unsent, and the padding fills its place.
        _ = try world.server.admin(["program", "set-epoch", "acme", "1"])
        try carol.ok(["matches"])
        #expect(try carol.ok(["interest", "list"]).contains("bob\tas mentor\tpending, key changed"))
        #expect(
            try world.server.count(
                "SELECT COUNT(*) FROM mark WHERE epoch = 1 AND member_id = (SELECT id FROM member WHERE handle = 'carol')"
            ) == 8)
        try carol.ok(["key", "trust", "bob"])
        #expect(try carol.ok(["interest", "list"]) == "bob\tas mentor\tpending\n")
        try bob.ok(["interest", "add", "carol", "--as", "mentee"])
        #expect(try carol.matches().contains { $0.handle == "bob" && $0.verified })
    }

    /// A trust replaces three marks by three whether the member marked the person 0, 1, 2 or 3 times (one mark
    /// per kind of interest): a trust follows a rotation anyone sees in the key log, so its size would say
    /// whether and how the member marked that person (the attacker review of 2026-12-07).
    @Test func aTrustChangesThreeMarksWhateverItConcerns() throws {
        let world = try world()
        let alice = world["alice"]
        try alice.ok(["matches"])  // pads to the quota
        try alice.ok(["key", "fingerprint", "dave"])  // pins dave's key without a mark
        var seen: [String] = []
        var sizes: [[Int]] = []
        for (handle, kinds) in [
            ("dave", [String]()), ("dave", ["mentor"]), ("carol", ["mentor", "mentee"]),
            ("bob", ["mentor", "mentee", "peer"]),
        ] {
            for kind in kinds { try alice.ok(["interest", "add", handle, "--as", kind]) }
            try world[handle].ok(["key", "rotate"])
            _ = world.proxy.takeRequests()
            try alice.ok(["key", "trust", handle])
            let requests = world.proxy.takeRequests()
            let sent = try Self.replacements(requests)
            seen.append(
                "\(handle), \(kinds.count) marks: \(sent.map { "withdraw \($0.withdraw.count), marks \($0.marks.count)" })"
            )
            #expect(sent.count == 1 && sent[0].withdraw.count == 3 && sent[0].marks.count == 3, "\(seen)")
            sizes.append(requests.filter { $0.method == "POST" }.map(\.body.count))
        }
        #expect(Set(sizes).count == 1, "POST sizes \(sizes)")
    }
}

extension TrafficPrivacyTests {
    /// The tokens of the replacement requests among `requests`: submitted and withdrawn.
    static func replacements(_ requests: [FaultProxy.Recorded]) throws -> [(marks: Set<String>, withdraw: Set<String>)]
    {
        try requests.filter { $0.method == "POST" && $0.target == "/v1/marks" }.map {
            let body = try APICoding.decoder().decode(SubmitMarksRequest.self, from: Data($0.body))
            return (Set(body.marks.map(\.token)), Set(body.withdraw ?? []))
        }
    }

    /// The attacker review's findings: a lost answer at an epoch change, an epoch that goes back, a quota
    /// that goes down. In each, the next request must not separate real marks from dummies.
    @Test func aServerCannotMakeTheClientSortItsOwnMarks() throws {
        let world = try world()
        let alice = world["alice"]
        try alice.ok(["interest", "add", "bob", "carol", "--as", "mentor"])
        _ = try world.server.admin(["program", "set-epoch", "acme", "1"])
        _ = world.proxy.takeRequests()
        // The epoch batch goes out and its answer is lost: the device keeps it, and the next command finds
        // it held (nothing to send) or sends the very same tokens; it never draws new dummies.
        world.proxy.arm(passing: 4, cut: .beforeResponse)  // me, log head, matches, marks; then the POST
        let cut = try alice.cli(["matches"])
        world.proxy.arm(passing: nil)
        #expect(cut.status == 1 && cut.stderr.contains("recorded on this device"), "\(cut.stderr)")
        let first = try Self.replacements(world.proxy.takeRequests())
        try alice.ok(["matches"])
        let second = try Self.replacements(world.proxy.takeRequests())
        #expect(first.count == 1 && first[0].marks.count == 8)
        #expect(second.allSatisfy { $0.withdraw.isEmpty && $0.marks.isSubset(of: first[0].marks) }, "\(second)")
        #expect(
            try world.server.count(
                "SELECT COUNT(*) FROM mark WHERE epoch = 1 AND member_id = (SELECT id FROM member WHERE handle = 'alice')"
            ) == 8)

        // The program goes back to epoch 0: refused, and nothing is sent.
        _ = try world.server.admin(["program", "set-epoch", "acme", "0"])
        let back = try alice.cli(["interest", "add", "dave", "--as", "peer"])
        #expect(back.status == 1 && back.stderr.contains("already saw epoch 1"), "\(back.stderr)")
        let refusedRequests = world.proxy.takeRequests()
        let refusedReplacements = try Self.replacements(refusedRequests)
        #expect(refusedReplacements.isEmpty && !refusedRequests.contains { $0.method == "DELETE" })
        _ = try world.server.admin(["program", "set-epoch", "acme", "1"])

        // The quota goes down: refused with what to do, no dummy withdrawn.
        try world.server.tamper("UPDATE program SET max_marks = 4")
        let lowered = try alice.cli(["matches"])
        #expect(lowered.status == 1 && lowered.stderr.contains("--pad-to 4"), "\(lowered.stderr)")
        let requests = world.proxy.takeRequests()
        let replaced = try Self.replacements(requests)
        #expect(!requests.contains { $0.method == "DELETE" } && replaced.isEmpty)
    }
}

/// A classifier that sees only what the server sees (its database and every request) must not tell real
/// marks from dummies better than chance, over many members doing random things: adding, withdrawing,
/// replacing a note, trusting, rotating their key, being cut off mid-command, and an epoch change.
@Suite(.serialized) struct DummyIndistinguishabilityTests {
    /// One token as the server saw it.
    struct Seen {
        var createdAt: Int64 = 0
        var batchPosition = 0.0
        var batchSize = 0
        var withdrawnAlongside = 0
        var request = 0
    }

    static let members = Int(ProcessInfo.processInfo.environment["RECIPROCITY_CLASSIFIER_MEMBERS"] ?? "") ?? 24

    /// The work a command does, in all and between `GET /v1/marks` and `POST /v1/marks`, does not depend on
    /// whom a trust concerns nor on whether an add changes anything: a replacement dummy is drawn before the
    /// GET whether it is used or not, and each submitted mark costs one derivation, real or dummy
    /// (Specs/client.md sections 3-4). Derivations are counted as the library makes them; the proxy reads the
    /// count as each of the two requests arrives.
    @Test func theWorkBetweenReadingAndReplacingMarksIsTheSameWhateverChanges() async throws {
        let (server, invite) = try ServerProcess.withProgram(maxMarks: 8)
        let proxy = try FaultProxy(to: server.port)
        let home = server.directory.appendingPathComponent("work")
        func join(_ handle: String) async throws -> Membership {
            try await Membership.join(
                home: home.appendingPathComponent(handle), server: proxy.url, program: "acme", invite: invite,
                handle: handle,
                profile: Profile(displayName: handle))
        }
        var alice = try await join("alice")
        var bob = try await join("bob")
        for handle in ["carol", "dave"] { _ = try await join(handle) }
        _ = try await alice.addInterest(["bob"], wants: .mentor)

        /// Alice's derivations during `command`: in all, and between the GET and the POST of /v1/marks.
        func work(_ command: (inout Membership) async throws -> Void) async throws -> [Int] {
            let counter = Membership.DerivationCount()
            let atArrival = Mutex<[String: Int]>([:])
            proxy.observer.withLock {
                $0 = { line in
                    guard line == "GET /v1/marks" || line == "POST /v1/marks" else { return }
                    atArrival.withLock { $0[line] = counter.value }
                }
            }
            defer { proxy.observer.withLock { $0 = nil } }
            try await Membership.$derivations.withValue(counter) { try await command(&alice) }
            let seen = atArrival.withLock { $0 }
            let between = try #require(seen["POST /v1/marks"]) - (try #require(seen["GET /v1/marks"]))
            return [counter.value, between]
        }

        let addNew = try await work { _ = try await $0.addInterest(["carol"], wants: .mentor) }
        let addUnchanged = try await work { _ = try await $0.addInterest(["bob"], wants: .mentor) }
        #expect(
            addNew == addUnchanged, "add new \(addNew), add unchanged \(addUnchanged) (in all, between GET and POST)")
        #expect(addNew.last == 1)
        // Bob's new key: alice's mark on him is derived again when she trusts it.
        _ = try await bob.rotateKey()
        let trustMarked = try await work { _ = try await $0.trust("bob") }
        let trustUnmarked = try await work { _ = try await $0.trust("dave") }
        #expect(
            trustMarked == trustUnmarked,
            "trust marked \(trustMarked), unmarked \(trustUnmarked) (in all, between GET and POST)")
        #expect(trustMarked.last == 3)
        #expect(alice.interests.first { $0.handle == "bob" }.map(alice.keyChanged) == false)
    }

    @Test func aClassifierOfTheServersViewDoesNoBetterThanChance() async throws {
        var random = SplitMix64(
            seed: UInt64(ProcessInfo.processInfo.environment["RECIPROCITY_CLASSIFIER_SEED"] ?? "") ?? 20_261_127)
        let maxMarks = 8
        let (server, invite) = try ServerProcess.withProgram(uses: Self.members + 20, maxMarks: maxMarks)
        let proxy = try FaultProxy(to: server.port)
        let home = server.directory.appendingPathComponent("classifier")
        func join(_ handle: String) async throws -> Membership {
            try await Membership.join(
                home: home.appendingPathComponent(handle), server: proxy.url, program: "acme", invite: invite,
                handle: handle,
                profile: Profile(displayName: handle))
        }
        let targets = (0..<10).map { "target\($0)" }
        for target in targets { _ = try await join(target) }
        var members: [Membership] = []
        var seen: [Int: [String: Seen]] = [:]
        var requestCount = 0

        /// What the proxy saw of one member's command: every submitted token's place in its batch.
        func record(_ member: Int) {
            for request in proxy.takeRequests() where request.method == "POST" && request.target == "/v1/marks" {
                requestCount += 1
                guard let body = try? APICoding.decoder().decode(SubmitMarksRequest.self, from: Data(request.body))
                else { continue }
                for (index, mark) in body.marks.enumerated() {
                    seen[member, default: [:]][mark.token] = Seen(
                        batchPosition: Double(index) / Double(body.marks.count), batchSize: body.marks.count,
                        withdrawnAlongside: body.withdraw?.count ?? 0, request: requestCount)
                }
            }
        }

        func randomStep(_ index: Int) async {
            var member = members[index]
            let real = member.interests.filter { $0.isPending }
            let roll = random.next() % 100
            do {
                switch roll {
                case 0..<35:
                    let target = targets[Int(random.next() % UInt64(targets.count))]
                    _ = try await member.addInterest(
                        [target], wants: [.mentor, .mentee, .peer][Int(random.next() % 3)])
                case 35..<70 where !real.isEmpty:
                    let mark = real[Int(random.next() % UInt64(real.count))]
                    try await member.removeInterest(mark.handle!, wants: mark.wants!)
                case 70..<80 where !real.isEmpty:
                    let mark = real[Int(random.next() % UInt64(real.count))]
                    _ = try await member.addInterest([mark.handle!], wants: mark.wants!, note: "note \(random.next())")
                case 80..<88:
                    _ = try await member.trust(targets[Int(random.next() % UInt64(targets.count))])
                case 88..<92:
                    _ = try await member.rotateKey()
                default:
                    // Cut off at a random request, perhaps after the server acted: the command fails and the next
                    // one puts things right.
                    proxy.arm(passing: 1 + Int(random.next() % 5), cut: .beforeResponse)
                    _ = try? await member.addInterest(
                        [targets[Int(random.next() % UInt64(targets.count))]], wants: .peer)
                    proxy.arm(passing: nil)
                }
            } catch let error as ClientError
                where ["quota-exceeded", "key-changed", "rotation-limited", "credential-not-rotated"].contains(
                    error.code.rawValue)
            {
                // Legitimate refusals: nothing changed.
            } catch {
                Issue.record("member \(index): \(error)")
            }
            members[index] = member
            record(index)
        }

        for index in 0..<Self.members {
            var member = try await join("member\(index)")
            let first = Array(targets.shuffled(using: &random).prefix(1 + Int(random.next() % 6)))
            _ = try await member.addInterest(first, wants: .mentor)
            members.append(member)
            record(index)
            for _ in 0..<4 { await randomStep(index) }
        }
        _ = try server.admin(["program", "set-epoch", "acme", "1"])
        for index in members.indices {
            _ = try await members[index].matches()
            record(index)
            for _ in 0..<2 { await randomStep(index) }
            // Any command brings the server to the device's state after an interruption.
            _ = try await members[index].matches()
            record(index)
        }

        // The server's view at the end: each member's pending marks with their stored times, plus where each
        // token sat in the requests. The classifiers rank by one feature and take as many as there are real marks.
        let features: [(String, (Seen) -> Double)] = [
            ("position in its batch", { $0.batchPosition }), ("created at", { Double($0.createdAt) }),
            ("batch size", { Double($0.batchSize) }),
            ("withdrawals in the same request", { Double($0.withdrawnAlongside) }),
            ("request order", { Double($0.request) }),
        ]
        var hits = [Double](repeating: 0, count: features.count * 2)
        var expected = 0.0
        var variance = 0.0
        var runs = 0
        for (index, member) in members.enumerated() {
            let rows = try server.rows(
                "SELECT token, created_at FROM mark WHERE epoch = 1 AND member_id = (SELECT id FROM member WHERE handle = 'member\(index)')"
            )
            var view: [String: Seen] = [:]
            for row in rows {
                let token = Base64URL.encode([UInt8](row["token"] as Data))
                var entry = seen[index]?[token] ?? Seen()
                entry.createdAt = row["created_at"]
                view[token] = entry
            }
            let real = Set(member.state.marks.filter { !$0.isDummy && $0.isPending && $0.epoch == 1 }.map(\.token))
            #expect(
                view.count == maxMarks
                    - member.state.marks.filter { !$0.isDummy && !$0.isPending && $0.epoch == 1 }.count,
                "member\(index) holds \(view.count) pending marks: the padding must hold through everything")
            let n = Double(view.count)
            let k = Double(real.count)
            guard k > 0, k < n else { continue }
            runs += 1
            expected += k * k / n
            variance += k * (k / n) * ((n - k) / n) * ((n - k) / (n - 1))
            for (f, feature) in features.enumerated() {
                for descending in [false, true] {
                    // Ties are broken at random, as a classifier without a preference would.
                    let ranked = view.map { ($0.key, feature.1($0.value), random.next()) }
                        .sorted { ($0.1, $0.2) < ($1.1, $1.2) }
                    let picked = (descending ? ranked.reversed() : ranked).prefix(real.count).map(\.0)
                    hits[f * 2 + (descending ? 1 : 0)] += Double(picked.filter(real.contains).count)
                }
            }
        }
        #expect(runs >= Self.members / 2, "too few members with both real and dummy marks to judge")
        for (f, feature) in features.enumerated() {
            for descending in [false, true] {
                let z = (hits[f * 2 + (descending ? 1 : 0)] - expected) / variance.squareRoot()
                print(
                    "classifier '\(feature.0)' \(descending ? "descending" : "ascending"): \(hits[f * 2 + (descending ? 1 : 0)]) hits, chance \(expected), z = \(z)"
                )
                #expect(z < 4, "the classifier by \(feature.0) tells real marks from dummies (z = \(z))")
            }
        }
    }
}
