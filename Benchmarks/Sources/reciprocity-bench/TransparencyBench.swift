import ArgumentParser
import Foundation
import GRDB
import ReciprocityClient
import ReciprocityCore

/// `reciprocity-bench transparency`: inclusion-proof verification, and a full audit of a log of N entries
/// served by a real server process.
struct TransparencyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transparency",
        abstract: "Verify inclusion proofs in a log of N entries, and audit such a log over HTTP.")

    @OptionGroup var options: ServerBenchOptions
    @Option(help: "Entries in the key log.") var entries = 100_000

    func run() async throws {
        let program = try ProgramID("bench")
        let clock = ContinuousClock()
        // Distinct handles and keys, so that the log replays cleanly.
        let log = try (0..<entries).map { index in
            KeyLogEntry(
                program: program, event: .join, handle: try Handle("m\(index)x"), publicKey: try PrivateKey().publicKey)
        }

        // In memory: build the tree, then verify proofs of random leaves against its signed head.
        var start = clock.now
        let tree = MerkleLog(leafHashes: log.map(\.leafHash))
        let buildSeconds = elapsedSeconds(start.duration(to: clock.now))
        let signingKey = try LogSigningKey()
        let head = try signingKey.sign(
            program: program, size: UInt64(entries), root: tree.root(size: entries), timestamp: 1_795_000_000_000)
        let samples = (0..<1000).map { _ in Int.random(in: 0..<entries) }
        let proofs = samples.map { tree.inclusionProof(index: $0, size: entries) }
        let leafHashes = samples.map { log[$0].leafHash }
        var next = 0
        let verifyRate = measureRate(seconds: 2, batch: 100) {
            let i = next % samples.count
            next += 1
            precondition(
                MerkleTree.verifyInclusion(
                    index: samples[i], treeSize: entries, leafHash: leafHashes[i], proof: proofs[i], root: head.root))
        }
        let headRate = measureRate(seconds: 1, batch: 100) { precondition(head.verify(with: signingKey.publicKey)) }
        start = clock.now
        for index in samples { _ = tree.inclusionProof(index: index, size: entries) }
        let proofMicros = elapsedSeconds(start.duration(to: clock.now)) / Double(samples.count) * 1e6

        // Over HTTP: a server whose log holds the entries, and a member auditing it from scratch.
        let fixture = try await ServerFixture(members: 0, port: options.port)
        try fixture.preloadKeyLog(log)
        let client = makeClient(connections: 1)
        try await fixture.start(binary: options.serverBinary, client: client)
        try await client.shutdown()
        start = clock.now
        let auditor = try await Membership.join(
            home: fixture.directory.appendingPathComponent("home"), server: fixture.url(""), program: "bench",
            invite: try await fixture.invite(), handle: "auditor", profile: Profile(displayName: "Auditor"))
        let coldJoin = elapsedSeconds(start.duration(to: clock.now))
        start = clock.now
        let audit = try await auditor.audit(logKey: nil, state: nil, gossip: [])
        let auditSeconds = elapsedSeconds(start.duration(to: clock.now))
        start = clock.now
        let again = try await auditor.audit(logKey: nil, state: audit.state, gossip: [audit.treeHead])
        let incrementalSeconds = elapsedSeconds(start.duration(to: clock.now))
        guard audit.replayed == entries + 1, again.replayed == 0 else {
            throw BenchFailure("audit replayed too little")
        }
        let rss = fixture.serverPeakRSSMiB()
        fixture.stop()

        report("entries", Double(entries))
        report("tree_build_ms", buildSeconds * 1000, decimals: 1)
        report("inclusion_proof_hashes", Double(proofs[0].count))
        report("inclusion_proof_generate_us", proofMicros, decimals: 1)
        report("inclusion_verify_per_s", verifyRate)
        report("tree_head_verify_per_s", headRate)
        report("join_with_cold_log_ms", coldJoin * 1000, decimals: 1)
        report("full_audit_ms", auditSeconds * 1000, decimals: 1)
        report("full_audit_entries_per_s", Double(audit.replayed) / auditSeconds)
        report("incremental_audit_ms", incrementalSeconds * 1000, decimals: 1)
        if let rss { report("server_peak_rss_mib", rss, decimals: 1) }
    }
}

extension ServerFixture {
    /// Writes `entries` straight into the program's key log (no member rows: only the log is audited).
    func preloadKeyLog(_ entries: [KeyLogEntry]) throws {
        let queue = try DatabaseQueue(path: databasePath)
        try queue.write { db in
            let programID = try Int64.fetchOne(db, sql: "SELECT id FROM program")!
            let insert = try db.makeStatement(
                sql:
                    "INSERT INTO key_log (program_id, idx, event, handle, public_key, created_at) VALUES (?, ?, ?, ?, ?, 0)"
            )
            for (index, entry) in entries.enumerated() {
                try insert.execute(arguments: [
                    programID, index, entry.event.rawValue, entry.handle.rawValue, entry.publicKey.rawRepresentation,
                ])
            }
        }
    }
}
