import Foundation
import GRDB
import ReciprocityAPI
import ReciprocityClient
import ReciprocityCore
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Members joined straight over HTTP (no CLI), for load and race tests.
func joinMembers(_ count: Int, server: ServerProcess, prefix: String) async throws -> [ServerAPI] {
    let invite = try server.admin(["invite", "create", "--program", "acme", "--uses", "\(count)"])
    var members: [ServerAPI] = []
    for index in 0..<count {
        let response = try await ServerAPI(baseURL: server.url).join(
            program: try ProgramID("acme"),
            request: JoinRequest(
                invite: invite, handle: "\(prefix)\(index)", publicKey: try PrivateKey().publicKey.base64URL,
                profile: Profile(displayName: "\(prefix) \(index)")))
        members.append(ServerAPI(baseURL: server.url, credential: response.credential))
    }
    return members
}

/// Tokens acknowledged with a 2xx, per member index.
final class Acknowledged: Sendable {
    private let tokens = Mutex<[Int: Set<String>]>([:])
    func add(_ member: Int, _ token: String) { _ = tokens.withLock { $0[member, default: []].insert(token) } }
    var all: [Int: Set<String>] { tokens.withLock { $0 } }
    var count: Int { tokens.withLock { $0.values.map(\.count).reduce(0, +) } }
}

/// Every batch a storm sent, answered or not, by member.
final class Attempted: Sendable {
    private let batches = Mutex<[Int: [[String]]]>([:])
    func add(_ member: Int, _ tokens: [String]) { batches.withLock { $0[member, default: []].append(tokens) } }
    var all: [Int: [[String]]] { batches.withLock { $0 } }
}

@Suite(.serialized) struct AdversarialTests {
    func server(maxMarks: Int = 10_000) throws -> ServerProcess {
        let server = try ServerProcess()
        _ = try server.admin(["program", "create", "acme", "--max-marks", "\(maxMarks)"])
        try server.start()
        return server
    }

    @Test func everyAcknowledgedMarkSurvivesSIGKILLDuringAWriteStorm() async throws {
        let server = try server()
        let members = try await joinMembers(8, server: server, prefix: "writer")
        let acknowledged = Acknowledged()
        let attempted = Attempted()
        let perRound = 50
        var kills = 0
        for _ in 0..<5 {
            // Writers keep writing until the round is over (the storm is cancelled); a failed request (the
            // server is gone, or busy) is not acknowledged, so nothing is expected of it.
            let storm = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (index, member) in members.enumerated() {
                        group.addTask {
                            // Three marks a request: a request cut by the kill must leave all or none.
                            while !Task.isCancelled, let batch = try? (0..<3).map({ _ in try Mark.dummy() }) {
                                let tokens = batch.map(\.token.base64URL)
                                attempted.add(index, tokens)
                                if (try? await member.submit(epoch: 0, marks: batch)) != nil {
                                    for token in tokens { acknowledged.add(index, token) }
                                } else {
                                    try? await Task.sleep(for: .milliseconds(20))
                                }
                            }
                        }
                    }
                }
            }
            // Kill once this round has written its share (however slow the machine), at a random moment in the
            // middle of the writes.
            let target = acknowledged.count + perRound
            let deadline = ContinuousClock.now + .seconds(120)
            while acknowledged.count < target, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0..<100)))
            server.kill()
            kills += 1
            storm.cancel()
            await storm.value
            try server.start()
        }
        // After the last restart, every mark that got a 2xx is there, and the file is sound.
        let expected = acknowledged.all
        #expect(acknowledged.count >= 5 * perRound, "the storm wrote too little to test anything")
        var unanswered = 0
        for (index, member) in members.enumerated() {
            let stored = Set(try await member.pendingMarks().map(\.token))
            #expect(expected[index, default: []].isSubset(of: stored), "writer\(index) lost acknowledged marks")
            for batch in attempted.all[index, default: []] {
                let kept = batch.filter(stored.contains).count
                #expect(kept == 0 || kept == batch.count, "writer\(index) has \(kept) of a batch of \(batch.count)")
                if !batch.allSatisfy(expected[index, default: []].contains) { unanswered += 1 }
            }
        }
        let check = try await DatabaseQueue(path: server.database).read {
            try String.fetchAll($0, sql: "PRAGMA integrity_check")
        }
        #expect(check == ["ok"])
        #expect(kills == 5)
        print(
            "crash safety: \(kills) SIGKILLs, \(acknowledged.count) acknowledged marks, none lost; \(unanswered) unanswered batches, none half-applied"
        )
    }

    @Test func reciprocalSubmissionsAtTheSameInstantMatchExactlyOncePerPair() async throws {
        let server = try server()
        let pairs = 40
        let members = try await joinMembers(pairs * 2, server: server, prefix: "racer")
        for round in 0..<3 {
            let tokens = try (0..<pairs).map { _ in try InterestToken.random() }
            let statuses = try await withThrowingTaskGroup(of: (Int, MarkState).self) { group in
                for pair in 0..<pairs {
                    for side in 0..<2 {
                        let member = members[pair * 2 + side]
                        let mark = Mark(token: tokens[pair], tag: try .random())
                        group.addTask { (pair, try await member.submit(epoch: 0, marks: [mark])[0].status) }
                    }
                }
                return try await group.reduce(into: [Int: [MarkState]]()) { $0[$1.0, default: []].append($1.1) }
            }
            for pair in 0..<pairs {
                #expect(Set(statuses[pair] ?? []) == [.pending, .matched], "round \(round) pair \(pair)")
            }
        }
        // Three rounds: every member holds exactly three matches, each with its pair partner.
        for (index, member) in members.enumerated() {
            let matches = try await member.matches()
            #expect(matches.count == 3)
            let partner = index % 2 == 0 ? index + 1 : index - 1
            #expect(Set(matches.map(\.handle)) == ["racer\(partner)"])
        }
    }

    @Test func racingBatchesOverHTTPCannotExceedTheQuota() async throws {
        let server = try server(maxMarks: 12)
        let member = try await joinMembers(1, server: server, prefix: "greedy")[0]
        let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<30 {
                let batch = try (0..<5).map { _ in try Mark.dummy() }
                group.addTask {
                    do {
                        _ = try await member.submit(epoch: 0, marks: batch)
                        return true
                    } catch let error as ClientError where error.code.rawValue == "quota-exceeded" {
                        return false
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(accepted == 2)
        #expect(try await member.pendingMarks().count == 10)
    }

    @Test func logsAndMetricsNeverNameTheTargetOfAnUnreciprocatedMark() async throws {
        let server = try ServerProcess()
        _ = try server.admin(["program", "create", "acme"])
        let invite = try server.admin(["invite", "create", "--program", "acme", "--uses", "10"])
        try server.start(logLevel: "trace")
        let alice = CLIMember("alice", server: server)
        let target = CLIMember("zeta-target", server: server)
        let carol = CLIMember("carol", server: server)
        let dave = CLIMember("dave", server: server)
        for member in [alice, target, carol, dave] { try member.join(invite: invite) }
        // alice marks the target, who never reciprocates; carol and dave match.
        try alice.ok(["interest", "add", "zeta-target", "--as", "mentor", "--pad-to", "4"])
        try alice.ok(["matches"])
        try carol.ok(["interest", "add", "dave", "--as", "peer"])
        try dave.ok(["interest", "add", "carol", "--as", "peer"])
        try target.ok(["matches"])
        try target.ok(["directory"])
        let state = try JSONDecoder.withDates.decode(
            StateFile.self,
            from: Data(contentsOf: alice.home.appendingPathComponent("127.0.0.1_\(server.port)/acme/state.json")))
        let mark = try #require(state.marks.first { $0.handle == "zeta-target" })
        let targetState = try JSONDecoder.withDates.decode(
            StateFile.self,
            from: Data(contentsOf: target.home.appendingPathComponent("127.0.0.1_\(server.port)/acme/state.json")))
        let metrics = try await metricsText(server)
        server.stop()
        #expect(server.lastExitStatus == 0)
        let log = try String(contentsOf: server.logURL, encoding: .utf8)
        #expect(log.split(separator: "\n").count > 20)
        let secrets =
            [
                mark.token, mark.ownTag, mark.counterpartTag ?? "", state.credential, targetState.credential,
                "zeta-target",
            ] + (state.pinnedKeys.values.map { $0 })
        for secret in secrets where !secret.isEmpty {
            #expect(!log.contains(secret), "the server log contains a secret or the target's handle")
            #expect(!metrics.contains(secret), "the metrics contain a secret or the target's handle")
        }
    }

    func metricsText(_ server: ServerProcess) async throws -> String {
        var request = URLRequest(url: URL(string: server.url + "/metrics")!)
        request.setValue("Bearer \(ServerProcess.metricsCredential)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The parts of the CLI's state.json these tests read.
struct StateFile: Decodable {
    struct Mark: Decodable {
        var handle: String?
        var token: String
        var ownTag: String
        var counterpartTag: String?
    }
    var credential: String
    var pinnedKeys: [String: String]
    var marks: [Mark]
}

extension JSONDecoder {
    static var withDates: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
