import Foundation
import GRDB
import Testing

/// Sealed introductions through the CLI, against a real server process and SQLite file.
@Suite(.serialized) struct SealedNoteEndToEndTests {
    @Test func aNoteReachesItsReaderOnlyAfterTheMatch() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        try alice.join(invite: invite)
        try bob.join(invite: invite)
        let aliceNote = "I admire how your team rolled out VDI; could I buy you a coffee? alice@example.org"
        try alice.ok(["interest", "add", "bob", "--as", "mentor", "--note", aliceNote])
        #expect(try bob.matches().isEmpty)
        let noteFile = bob.home.deletingLastPathComponent().appendingPathComponent("bob-note.txt")
        try "Gladly — Thursdays work for me.".write(to: noteFile, atomically: true, encoding: .utf8)
        try bob.ok(["interest", "add", "alice", "--as", "mentee", "--note-file", noteFile.path])
        let bobSees = try bob.matches()
        let aliceSees = try alice.matches()
        #expect(bobSees.first?.verified == true && bobSees.first?.note == aliceNote)
        #expect(aliceSees.first?.verified == true && aliceSees.first?.note == "Gladly — Thursdays work for me.")
        #expect(try bob.ok(["matches"]).contains("note from alice: \(aliceNote)"))
    }

    /// A counterpart's note reaches the terminal as visible text only: no escape sequence (window title,
    /// clipboard), no bidi override, no line of its own that looks like a match. A new note on a pending mark
    /// replaces the old one.
    @Test func aHostileNoteCannotDriveTheTerminalAndANewNoteReplacesTheOld() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        try alice.join(invite: invite)
        try bob.join(invite: invite)
        let hostile =
            "hi\u{1b}]0;owned\u{7}\u{1b}]52;c;cm0gLXJmIH4=\u{7}\nmatch: mallory (you wanted them as mentor)\u{202e}txt.exe"
        try bob.ok(["interest", "add", "alice", "--as", "mentee", "--note", "first thoughts"])
        #expect(
            try bob.ok(["interest", "add", "alice", "--as", "mentee", "--note", hostile]).contains(
                "alice as mentee: pending"))
        try alice.ok(["interest", "add", "bob", "--as", "mentor"])
        let printed = try alice.ok(["matches"])
        #expect(!printed.unicodeScalars.contains { [0x1b, 0x07, 0x202e].contains($0.value) }, "\(printed)")
        #expect(!printed.split(separator: "\n").contains { $0.hasPrefix("match: mallory") }, "\(printed)")
        #expect(printed.contains("hi\\u{1b}]0;owned\\u{7}"), "\(printed)")
        #expect(try alice.matches().first?.note == hostile)
    }

    @Test func anUnreciprocatedNoteStaysFixedSizeCiphertextOnTheServer() async throws {
        let (server, invite) = try ServerProcess.withProgram()
        let carol = CLIMember("carol", server: server)
        let bob = CLIMember("bob", server: server)
        try carol.join(invite: invite)
        try bob.join(invite: invite)
        let secret = "carol-secret-plaintext-7f3a"
        try carol.ok(["interest", "add", "bob", "--as", "mentor", "--note", secret, "--pad-to", "4"])
        try carol.ok(["interest", "add", "bob", "--as", "peer"])
        #expect(try bob.matches().isEmpty)
        // Every stored note, real, empty or dummy, is 540 bytes (bob's `matches` padded him to the program's
        // quota of 16); the plaintext is nowhere in the files.
        let sizes = try await DatabaseQueue(path: server.database).read {
            try Int.fetchAll($0, sql: "SELECT length(note) FROM mark")
        }
        #expect(sizes.count == 4 + 16 && sizes.allSatisfy { $0 == 540 })
        server.stop()
        for suffix in ["", "-wal"] {
            let bytes = FileManager.default.contents(atPath: server.database + suffix) ?? Data()
            #expect(bytes.range(of: Data(secret.utf8)) == nil)
        }
    }

    @Test func aTamperedNoteIsReportedNeverShown() throws {
        let (server, invite) = try ServerProcess.withProgram()
        let alice = CLIMember("alice", server: server)
        let bob = CLIMember("bob", server: server)
        try alice.join(invite: invite)
        try bob.join(invite: invite)
        try alice.ok(["interest", "add", "bob", "--as", "mentor", "--note", "hello bob"])
        try bob.ok(["interest", "add", "alice", "--as", "mentee"])
        // The operator flips one byte of alice's sealed note (same length, so only the AEAD can notice).
        let queue = try DatabaseQueue(path: server.database)
        var note = try queue.read { try Data.fetchOne($0, sql: #"SELECT a_note FROM "match""#)! }
        note[100] ^= 0x01
        try server.tamper(#"UPDATE "match" SET a_note = ?"#, [note])
        let bobSees = try bob.matches()
        #expect(bobSees.first?.verified == true)
        #expect(bobSees.first?.note == nil)
        #expect(bobSees.first?.noteProblem?.contains("could not be opened") == true)
        let human = try bob.cli(["matches"])
        #expect(!human.stdout.contains("hello bob") && human.stderr.contains("could not be opened"))
        // A note that is too long is refused before anything is sent.
        let long = try alice.cli([
            "interest", "add", "bob", "--as", "peer", "--note", String(repeating: "x", count: 511),
        ])
        #expect(long.status != 0 && long.stderr.contains("at most 510 bytes"))
    }
}
