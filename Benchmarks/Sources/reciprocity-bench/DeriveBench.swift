import ArgumentParser
import ReciprocityCore

/// `reciprocity-bench derive`: our full mark derivation against OpenSSL's bare X25519 derive, same keys, same run.
struct DeriveBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "derive",
        abstract: "Token derivation rate against OpenSSL's own X25519 rate (single core).")

    @Option(help: "Seconds per measurement round.")
    var seconds = 0.25

    @Option(help: "Alternating rounds of each; the best round of each is reported.")
    var rounds = 12

    func run() throws {
        let me = try PrivateKey()
        let handle = try Handle("bench-self")
        let context = InterestContext(program: try ProgramID("bench-program"), relation: .mentorship, epoch: 7)
        let others = try (0..<256).map { index in
            Party(handle: try Handle("member-\(index)"), publicKey: try PrivateKey().publicKey)
        }
        let baseline = try OpenSSLBaseline(privateKey: [UInt8](me.rawRepresentation))
        let rawOthers = others.map { [UInt8]($0.publicKey.rawRepresentation) }

        var ours = 0.0
        var openssl = 0.0
        var index = 0
        for _ in 0..<rounds {
            openssl = max(
                openssl,
                try measureRate(seconds: seconds, batch: 64) {
                    index = (index + 1) & 255
                    try baseline.derive(peer: rawOthers[index])
                })
            ours = max(
                ours,
                try measureRate(seconds: seconds, batch: 64) {
                    index = (index + 1) & 255
                    _ = try KeySchedule.derive(
                        context: context, me: me, handle: handle, role: .mentee, other: others[index])
                })
        }
        report("derive_per_s", ours)
        report("openssl_x25519_per_s", openssl)
        report("ratio", ours / openssl, decimals: 3)
    }
}
