import ArgumentParser
import CommandLineEdge
import Foundation
import ReciprocityClient
import ReciprocityCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a backup passphrase comes from: `--passphrase-file`, else a prompt on the terminal without echo.
struct PassphraseOptions: ParsableArguments {
    @Option(help: "Read the passphrase from the first line of this file (mode 0600) instead of asking for it.")
    var passphraseFile: String?

    /// The passphrase; `confirm` asks twice on a terminal (for a new backup).
    func obtain(confirm: Bool) throws -> String {
        if let passphraseFile {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: passphraseFile),
                let mode = attributes[.posixPermissions] as? Int
            else { throw CLIFailure("cannot read passphrase file '\(passphraseFile)'") }
            guard mode & 0o077 == 0 else {
                throw CLIFailure(
                    "refusing passphrase file '\(passphraseFile)': others can read it (mode \(String(mode, radix: 8))); run 'chmod 600 \(passphraseFile)'"
                )
            }
            guard let data = FileManager.default.contents(atPath: passphraseFile),
                let text = String(data: data, encoding: .utf8)
            else { throw CLIFailure("cannot read passphrase file '\(passphraseFile)' as UTF-8 text") }
            // The first line, without its line ending; spaces are part of the passphrase.
            let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return String(line.hasSuffix("\r") ? line.dropLast() : line)
        }
        let first = try Self.prompt("Backup passphrase: ")
        if confirm, try Self.prompt("Same passphrase again: ") != first {
            throw CLIFailure("the two passphrases differ; nothing was written")
        }
        return first
    }

    /// Reads one line from the terminal with echo off (the terminal's settings are restored after).
    static func prompt(_ text: String) throws -> String {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else {
            throw CLIFailure("no terminal to ask for the passphrase on; give --passphrase-file")
        }
        defer { close(tty) }
        var saved = termios()
        guard tcgetattr(tty, &saved) == 0 else {
            throw CLIFailure("no terminal to ask for the passphrase on; give --passphrase-file")
        }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        // Echo goes off before the prompt appears, so nothing typed after the prompt is ever shown (or dropped).
        guard tcsetattr(tty, TCSAFLUSH, &quiet) == 0 else { throw CLIFailure("cannot turn off the terminal's echo") }
        _ = text.withCString { write(tty, $0, strlen($0)) }
        defer {
            _ = tcsetattr(tty, TCSAFLUSH, &saved)
            _ = write(tty, "\n", 1)
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(tty, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
            bytes.append(byte)
        }
        defer { for index in bytes.indices { bytes[index] = 0 } }
        guard let line = String(validating: bytes, as: UTF8.self) else {
            throw CLIFailure("the passphrase is not UTF-8 text")
        }
        return line.hasSuffix("\r") ? String(line.dropLast()) : line
    }
}

extension Key {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write a passphrase-protected backup of your key and membership, for another device or the web page.",
            discussion: """
                The file (mode 0600, never overwritten) holds your private key, credential and interests, encrypted \
                with AES-256-GCM under a key derived from the passphrase (PBKDF2-HMAC-SHA256, 1,000,000 iterations; \
                Specs/backup.md). Use at least 15 characters: anyone holding the file can try passphrases offline.
                """)
        @OptionGroup var membership: MembershipOptions
        @Option(help: "The backup file to create.") var out: String
        @OptionGroup var passphrase: PassphraseOptions
        @Option(help: "PBKDF2 iterations, 600000 to 10000000.") var iterations = KeyBackup.defaultIterations

        func run() async throws {
            let session = try membership.open()
            if FileManager.default.fileExists(atPath: out) {
                throw CLIFailure("'\(out)' already exists; choose another file name or remove it first")
            }
            let secret = try passphrase.obtain(confirm: true)
            let text = try MemberBackup.export(session, passphrase: secret, iterations: iterations)
            try Self.writeNew(text, to: out)
            print(
                "wrote a backup of \(session.state.handle) in \(session.state.program) on \(session.state.server) to \(out)"
            )
            print("import it with 'reciprocity key import \(out)' or on the web page; keep it and its passphrase apart")
        }

        /// Creates `path` (0600, failing if anything exists there, a symbolic link included), writes and flushes
        /// it; a failure removes what was created.
        static func writeNew(_ data: Data, to path: String) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw CLIFailure(
                    errno == EEXIST
                        ? "'\(path)' already exists; choose another file name or remove it first"
                        : "cannot create '\(path)'")
            }
            let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd)
            close(fd)
            guard written == data.count, synced == 0 else {
                unlink(path)
                throw CLIFailure("cannot write '\(path)'")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a membership from a backup made by 'key export' or the web page.",
            discussion: """
                Your key, credential, pending interests and matches come back; the membership becomes the current \
                one. A membership of the same server and program already on this device is kept unless you give \
                --replace. Nothing is written if the passphrase is wrong or the file is damaged.
                """)
        @Argument(help: "The backup file.") var file: String
        @OptionGroup var passphrase: PassphraseOptions
        @Flag(help: "Overwrite this device's membership of the same server and program.") var replace = false

        func run() async throws {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                let size = attributes[.size] as? Int, let data = FileManager.default.contents(atPath: file)
            else { throw CLIFailure("cannot read backup file '\(file)'") }
            guard size <= KeyBackup.maximumFileBytes else {
                throw CLIFailure("'\(file)' is too large to be a key backup")
            }
            // The file is checked before the passphrase is asked for: a file that is not a backup says so at once.
            _ = try KeyBackup.parse(data)
            let secret = try passphrase.obtain(confirm: false)
            let imported = try MemberBackup.importBackup(
                data, passphrase: secret, home: MembershipFolder.home(), replace: replace)
            let state = imported.state
            let real = state.marks.filter { !$0.isDummy }
            let matched = real.filter { $0.matchedAt != nil }.count
            print(
                terminalSafe(
                    "\(imported.replaced ? "replaced" : "imported") \(state.handle) in \(state.program) on \(state.server); key fingerprint \(imported.publicKey.fingerprint)"
                ))
            print(
                "\(real.count - matched) pending interests and \(matched) matches restored; state in \(imported.folder.url.path)"
            )
            // Specs/messages.md section 5: a key backup holds no conversation.
            print(
                "conversations are not in a key backup: messages sent to your other device cannot be shown here, "
                    + "and replies to them will not arrive here"
            )
            if imported.iterations < KeyBackup.minimumWriterIterations {
                print(
                    "note: this backup was written with only \(imported.iterations) PBKDF2 iterations; export a new one with 'reciprocity key export'"
                )
            }
        }
    }
}
