import Foundation
import ReciprocityCore
import Testing

/// `reciprocity key export` and `key import` with the real CLI against a real server: a membership moves to a
/// fresh device (a new RECIPROCITY_HOME) with its pending interests and matches, and every failure leaves the
/// device as it was.
@Suite(.serialized) struct KeyBackupTests {
    /// A passphrase file (0600) in the server's folder.
    static func passphraseFile(_ server: ServerProcess, _ name: String, _ text: String) throws -> String {
        let path = server.directory.appendingPathComponent(name).path
        #expect(
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        return path
    }

    struct Interest: Decodable, Equatable {
        var handle: String
        var wants: String
        var epoch: UInt32
        var state: String
    }

    static func interests(_ member: CLIMember) throws -> [Interest] {
        try JSONDecoder().decode([Interest].self, from: Data(try member.ok(["interest", "list", "--json"]).utf8))
    }

    @Test func aMembershipMovesToAnotherDeviceWithItsInterestsAndMatches() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        let carol = CLIMember("carol", server: server)
        try alice.join(invite: invite)
        try bob.join(invite: invite)
        try carol.join(invite: invite)
        try alice.ok(["interest", "add", "bob", "--as", "mentor", "--note", "Coffee?"])
        try alice.ok(["interest", "add", "carol", "--as", "peer"])
        try bob.ok(["interest", "add", "alice", "--as", "mentee", "--note", "Gladly"])
        let matchesBefore = try alice.matches()
        #expect(matchesBefore.map(\.handle) == ["bob"] && matchesBefore.allSatisfy(\.verified))
        let interestsBefore = try Self.interests(alice)
        #expect(interestsBefore.count == 2)
        let fingerprint = try alice.ok(["key", "fingerprint"])
        // A conversation and contact details stay on this device: no backup carries them (a ratchet state used on
        // two devices would seal two messages with one key).
        try alice.ok(["send", "bob", "before the backup"])
        try alice.ok(["contact", "set", "--email", "alice@example.org"])

        let secret = try Self.passphraseFile(server, "alice.pass", "four random words: otter lantern cobalt vinyl\n")
        let backup = server.directory.appendingPathComponent("alice.backup").path
        let exported = try alice.cli(["key", "export", "--out", backup, "--passphrase-file", secret])
        #expect(exported.status == 0, "\(exported.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: backup)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let text = try String(contentsOfFile: backup, encoding: .utf8)
        // Nothing in clear but the format's parameters: no credential, no handle. The long base64 runs (salt,
        // nonce, ciphertext) are left out first, since any three letters turn up in them by chance (one backup
        // in about seventy holds "bob" somewhere in its ciphertext).
        let clear = text.replacingOccurrences(of: "[A-Za-z0-9+/_-]{16,}=*", with: "", options: .regularExpression)
        #expect(text.contains("\"iterations\": 1000000") && !clear.contains("rcpc_") && !clear.contains("bob"))
        // Exporting again onto the same file is refused and leaves it alone.
        let again = try alice.cli(["key", "export", "--out", backup, "--passphrase-file", secret])
        #expect(again.status != 0 && again.stderr.contains("already exists"))
        #expect(try String(contentsOfFile: backup, encoding: .utf8) == text)

        // A fresh device.
        let laptop = CLIMember("alice-laptop", server: server)
        let imported = try laptop.cli(["key", "import", backup, "--passphrase-file", secret])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.isEmpty)
        #expect(imported.stdout.contains("imported alice in acme"))
        #expect(imported.stdout.contains("1 pending interests and 1 matches restored"))
        #expect(imported.stdout.contains("conversations are not in a key backup"))
        let laptopState = try laptop.snapshot().first { $0.key.hasSuffix("state.json") }!.value
        let keys = try JSONSerialization.jsonObject(with: laptopState) as! [String: Any]
        #expect(keys["conversations"] == nil && keys["contact"] == nil)
        #expect(
            try alice.snapshot().first { $0.key.hasSuffix("state.json") }!.value.range(
                of: Data("alice@example.org".utf8)) != nil)
        // The next commands work with no warning, and see what the first device saw.
        #expect(try laptop.ok(["key", "fingerprint"]) == fingerprint)
        #expect(try Self.interests(laptop) == interestsBefore)
        let listed = try laptop.cli(["matches", "--json"])
        #expect(listed.status == 0 && listed.stderr.isEmpty, "\(listed.stderr)")
        let matchesAfter = try laptop.matches()
        #expect(matchesAfter.map(\.handle) == ["bob"] && matchesAfter.allSatisfy(\.verified))
        #expect(matchesAfter.first?.note == "Gladly")
        // The restored device keeps working: carol reciprocates, and the laptop sees the match.
        try carol.ok(["interest", "add", "alice", "--as", "peer"])
        #expect(try laptop.matches().map(\.handle).sorted() == ["bob", "carol"])

        // Importing over an existing membership is refused unless --replace, and --replace works.
        let over = try laptop.cli(["key", "import", backup, "--passphrase-file", secret])
        #expect(over.status != 0 && over.stderr.contains("--replace"))
        let replaced = try laptop.cli(["key", "import", backup, "--passphrase-file", secret, "--replace"])
        #expect(replaced.status == 0 && replaced.stdout.contains("replaced alice"), "\(replaced.stderr)")
        #expect(try laptop.ok(["key", "fingerprint"]) == fingerprint)
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: laptop.home.appendingPathComponent("127.0.0.1_\(server.port)").path)
        #expect(leftovers == ["acme"], "\(leftovers)")
    }

    @Test func aWrongPassphraseOrADamagedFileWritesNothing() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        try alice.join(invite: invite)
        let secret = try Self.passphraseFile(server, "right.pass", "correct horse battery staple")
        let backup = server.directory.appendingPathComponent("alice.backup").path
        try alice.ok(["key", "export", "--out", backup, "--passphrase-file", secret])

        let laptop = CLIMember("laptop", server: server)
        func expectRefused(_ arguments: [String], _ fragment: String) throws {
            let before = try laptop.snapshot()
            let result = try laptop.cli(arguments)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(try laptop.snapshot() == before, "\(arguments) wrote something")
        }
        let wrong = try Self.passphraseFile(server, "wrong.pass", "correct horse battery stapler")
        try expectRefused(["key", "import", backup, "--passphrase-file", wrong], "does not open with this passphrase")
        #expect(!FileManager.default.fileExists(atPath: laptop.home.path))

        // One character in the middle of the ciphertext changed: still canonical base64url, the checksum fails.
        var lines = try String(contentsOfFile: backup, encoding: .utf8).components(separatedBy: "\n")
        let index = lines.firstIndex { $0.hasPrefix("  \"ciphertext\"") }!
        var characters = Array(lines[index])
        characters[40] = characters[40] == "A" ? "B" : "A"
        lines[index] = String(characters)
        let damaged = lines.joined(separator: "\n")
        let damagedPath = server.directory.appendingPathComponent("damaged.backup").path
        try damaged.write(toFile: damagedPath, atomically: true, encoding: .utf8)
        try expectRefused(["key", "import", damagedPath, "--passphrase-file", secret], "damaged")

        let notABackup = server.directory.appendingPathComponent("notes.txt").path
        try "hello\n".write(toFile: notABackup, atomically: true, encoding: .utf8)
        try expectRefused(["key", "import", notABackup, "--passphrase-file", secret], "not a Reciprocity key backup")
        try expectRefused(
            [
                "key", "import", server.directory.appendingPathComponent("missing").path,
                "--passphrase-file", secret,
            ], "cannot read backup file")

        // A short passphrase is refused on export, and nothing is written.
        let short = try Self.passphraseFile(server, "short.pass", "too short")
        let refusedOut = server.directory.appendingPathComponent("short.backup").path
        let result = try alice.cli(["key", "export", "--out", refusedOut, "--passphrase-file", short])
        #expect(result.status != 0 && result.stderr.contains("at least 15 characters"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: refusedOut))
        // A passphrase file others can read is refused.
        let open = server.directory.appendingPathComponent("open.pass").path
        #expect(
            FileManager.default.createFile(
                atPath: open, contents: Data("correct horse battery staple".utf8),
                attributes: [.posixPermissions: 0o644]))
        let exposed = try alice.cli(["key", "export", "--out", refusedOut, "--passphrase-file", open])
        #expect(exposed.status != 0 && exposed.stderr.contains("chmod 600"))
        #expect(!FileManager.default.fileExists(atPath: refusedOut))

        // With a membership already there, a failed import leaves it byte for byte.
        try laptop.ok(["key", "import", backup, "--passphrase-file", secret])
        try expectRefused(
            ["key", "import", backup, "--passphrase-file", wrong, "--replace"], "does not open with this passphrase")
        try expectRefused(["key", "import", damagedPath, "--passphrase-file", secret, "--replace"], "damaged")
    }

    /// The first backup of Specs/vectors (1000 iterations, a made-up server): its payload is a state the CLI
    /// reads as its own, offline; the member is told the file is weaker than a real export.
    @Test func theVectorsBackupImportsAsAMembership() throws {
        let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Specs/vectors/reciprocity_backup_v1_test.json")
        struct File: Decodable {
            struct Group: Decodable { var tests: [Test] }
            struct Test: Decodable {
                var passphrase: String
                var backup: String?
                var result: String
            }
            var testGroups: [Group]
        }
        let test = try #require(
            try JSONDecoder().decode(File.self, from: Data(contentsOf: vectors)).testGroups.first?.tests.first)
        #expect(test.result == "valid")
        let server = try ServerProcess()
        let file = server.directory.appendingPathComponent("vector.backup")
        try Data(try #require(test.backup).utf8).write(to: file)
        let secret = try Self.passphraseFile(server, "vector.pass", test.passphrase)
        let device = CLIMember("device", server: server)
        let result = try device.cli(["key", "import", file.path, "--passphrase-file", secret])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("imported alice in acme-mentoring on https://reciprocity.example"))
        #expect(result.stdout.contains("1 pending interests and 1 matches restored"))
        #expect(result.stdout.contains("only 1000 PBKDF2 iterations"))
        let listed = try Self.interests(device)
        #expect(
            listed == [
                Interest(handle: "bob", wants: "mentor", epoch: 3, state: "pending"),
                Interest(handle: "carol", wants: "peer", epoch: 3, state: "matched"),
            ])
    }

    @Test func anUnfinishedKeyRotationIsNotExported() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        try alice.join(invite: invite)
        let folder = try #require(
            FileManager.default.enumerator(atPath: alice.home.path)?.allObjects
                .compactMap { $0 as? String }.first { $0.hasSuffix("/private.key") })
        let key = alice.home.appendingPathComponent(folder)
        try FileManager.default.copyItem(at: key, to: key.appendingPathExtension("next"))
        let secret = try Self.passphraseFile(server, "alice.pass", "correct horse battery staple")
        let out = server.directory.appendingPathComponent("alice.backup").path
        let result = try alice.cli(["key", "export", "--out", out, "--passphrase-file", secret])
        #expect(result.status != 0 && result.stderr.contains("key rotation is not finished"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
