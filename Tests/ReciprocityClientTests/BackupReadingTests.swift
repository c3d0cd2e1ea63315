import Foundation
import ReciprocityClient
import ReciprocityCore
import Testing

/// How the importer and the exporter apply Specs/backup.md's reading rules (section 2.1) and the writer's floor
/// (section 7), on real files in a scratch RECIPROCITY_HOME, without a server.
@Suite struct BackupReadingTests {
    static let passphrase = "correct horse battery staple"

    static func scratchHome() throws -> URL {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("backup-reading-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        return home
    }

    /// A backup (1000 iterations) of `state`, a JSON object's text, with a fresh key.
    static func backup(state: String) throws -> Data {
        let key = Base64URL.encode(try PrivateKey().rawRepresentation)
        let payload = "{\"privateKey\":\"\(key)\",\"state\":\(state)}"
        return Data(
            try KeyBackup.seal(payload: Array(payload.utf8), passphrase: passphrase, iterations: 1_000).text.utf8)
    }

    static let state = """
        {"server":"https://reciprocity.example","program":"acme-mentoring","credential":"rcpc_x","pinnedKeys":{},"marks":[],
        """

    /// Section 2.1 rule 5: the last of duplicate names counts, in the state as in the file. The importer once
    /// decoded the state with Foundation (the first counts) after the format's check had read it the other way, so
    /// a file meant one membership to one reader and another to the next.
    @Test func theLastOfDuplicateStateMembersCounts() throws {
        let home = try Self.scratchHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let data = try Self.backup(
            state: Self.state + "\"handle\":\"mallory\",\"handle\":\"alice\",\"padTo\":7,\"padTo\":2}")
        let imported = try MemberBackup.importBackup(data, passphrase: Self.passphrase, home: home, replace: false)
        #expect(imported.state.handle == "alice")
        #expect(imported.state.padTo == 2)
    }

    /// Section 2.1 rules 4 and 6: an escaped lone surrogate and `1e400` in a member the importer ignores open,
    /// and `1.0` is the integer 1.
    @Test func membersTheImporterIgnoresMayHoldAnyJSON() throws {
        let home = try Self.scratchHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let data = try Self.backup(
            state: Self.state + "\"handle\":\"alice\",\"x\":\"\\ud800\",\"y\":1e400,\"padTo\":1.0}")
        let imported = try MemberBackup.importBackup(data, passphrase: Self.passphrase, home: home, replace: false)
        #expect(imported.state.handle == "alice" && imported.state.padTo == 1)
    }

    /// Section 7 step 1: the writer's floor is the format's `backupIterationsOutOfRange`, as on the page.
    @Test func theWritersFloorIsTheFormatsCode() throws {
        let home = try Self.scratchHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let data = try Self.backup(state: Self.state + "\"handle\":\"alice\"}")
        _ = try MemberBackup.importBackup(data, passphrase: Self.passphrase, home: home, replace: false)
        let membership = try Membership.open(home: home, server: nil, program: nil)
        for iterations in [599_999, 10_000_001] {
            let error = #expect(throws: ReciprocityError.self) {
                try MemberBackup.export(membership, passphrase: Self.passphrase, iterations: iterations)
            }
            #expect(error?.code == .backupIterationsOutOfRange)
        }
    }
}
