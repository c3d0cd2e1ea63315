public import Foundation
public import ReciprocityCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Key backups for another device (Specs/backup.md): the private key and the membership state of this device,
/// encrypted under a passphrase, in the file the web page reads and writes too.
public enum MemberBackup {
    /// What an import brought back.
    public struct Imported: Sendable {
        public let folder: MembershipFolder
        public let state: MemberState
        public let publicKey: PublicKey
        /// The iteration count the file was written with (below 600,000 a new export is advisable).
        public let iterations: Int
        /// Whether an earlier membership of the same server and program was replaced.
        public let replaced: Bool
    }

    /// The payload a writer writes: `{"privateKey": base64url, "state": MemberState}`.
    struct Payload: Encodable {
        var privateKey: String
        var state: MemberState
    }

    /// The text of a backup of `membership` (its key and its state as saved), under `passphrase`. Refused during
    /// an unfinished key rotation: the backup would hold a key the server is replacing.
    public static func export(
        _ membership: Membership, passphrase: String, iterations: Int = KeyBackup.defaultIterations
    ) throws -> Data {
        guard (KeyBackup.minimumWriterIterations...KeyBackup.readerIterations.upperBound).contains(iterations) else {
            throw ReciprocityError(
                .backupIterationsOutOfRange,
                "a backup is written with \(KeyBackup.minimumWriterIterations) to \(KeyBackup.readerIterations.upperBound) iterations, got \(iterations)"
            )
        }
        if FileManager.default.fileExists(atPath: membership.folder.nextKeyURL.path) {
            throw ClientError(
                .rotationUnfinished,
                "a key rotation is not finished on this device; run 'reciprocity key rotate' again to finish it, then export"
            )
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        var payload = [UInt8](
            try encoder.encode(
                Payload(
                    privateKey: Base64URL.encode(membership.key.rawRepresentation),
                    state: membership.state.withoutDeviceOnlyData)))
        defer { wipe(&payload) }
        return Data(try KeyBackup.seal(payload: payload, passphrase: passphrase, iterations: iterations).text.utf8)
    }

    /// Opens a backup and installs its membership under `home`, as `join` would have: `private.key` and
    /// `state.json` (0600) in the membership's folder, which becomes the current one. Refuses to overwrite a
    /// membership of the same server and program unless `replace`; on any failure nothing under `home` changes.
    public static func importBackup(_ data: Data, passphrase: String, home: URL, replace: Bool) throws -> Imported {
        var opened = try KeyBackup.open(data, passphrase: passphrase)
        // Overwritten in place once read (the Data copy the decoder reads is not: Foundation owns it).
        defer {
            wipe(&opened.payload)
            wipe(&opened.privateKey)
        }
        var state: MemberState
        do {
            // The state as KeyBackup read it (section 2.1: the last of duplicate names counts), not the payload's text.
            state = try flexibleDecoder().decode(MemberState.self, from: Data(opened.state.text.utf8))
        } catch {
            throw ClientError(
                .invalidBackup, "the backup opened, but its state is not a membership this program can use")
        }
        // A backup from another client may carry them: a conversation's ratchet state used on two devices would
        // seal two messages with one key.
        state = state.withoutDeviceOnlyData
        let key = try PrivateKey(rawRepresentation: opened.privateKey)
        let server: String
        do {
            server = try ServerURL.normalize(state.server)
            _ = try ProgramID(state.program)
            _ = try Handle(state.handle)
        } catch {
            throw ClientError(.invalidBackup, "the backup opened, but its server, program or handle is not valid")
        }
        state.server = server
        let target = MembershipFolder(home: home, server: server, program: state.program)
        // A membership joined before server URLs were normalised may sit under another folder name.
        let existing = MembershipFolder.all(home: home).first {
            $0.program == state.program && (try? ServerURL.normalize($0.server)) == server
        }?.folder
        if let existing, !replace {
            throw ClientError(
                .alreadyJoined,
                "this device already holds a membership of \(state.program) on \(server) (\(existing.url.path)); "
                    + "give --replace to overwrite it with the backup")
        }
        try install(state: state, key: key, at: target, replacing: existing, home: home)
        return Imported(
            folder: target, state: state, publicKey: key.publicKey, iterations: opened.iterations,
            replaced: existing != nil)
    }

    /// Writes the membership into a fresh hidden folder beside `target`, then renames it into place (moving a
    /// replaced membership aside first, and back if anything fails), then points `current` at it.
    static func install(
        state: MemberState, key: PrivateKey, at target: MembershipFolder, replacing existing: MembershipFolder?,
        home: URL
    ) throws {
        let files = FileManager.default
        let parent = target.url.deletingLastPathComponent()
        let createdParent = !files.fileExists(atPath: parent.path)
        let random = String(UInt64.random(in: .min ... .max), radix: 36)
        let staging = MembershipFolder(url: parent.appendingPathComponent(".import-\(random)"))
        let aside = existing.map { $0.url.deletingLastPathComponent().appendingPathComponent(".replaced-\(random)") }
        var moved = false
        var installed = false
        func undo() {
            if installed { _ = rename(target.url.path, staging.url.path) }
            if moved, let existing, let aside { _ = rename(aside.path, existing.url.path) }
            try? files.removeItem(at: staging.url)
            if createdParent { rmdir(parent.path) }
        }
        do {
            try files.createDirectory(
                at: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard mkdir(staging.url.path, 0o700) == 0 else {
                throw ClientError(.writeFailed, "cannot create \(staging.url.path)")
            }
            try MembershipFolder.writeAtomically(Data(Base64URL.encode(key.rawRepresentation).utf8), to: staging.keyURL)
            try staging.save(state)
            if let existing, let aside {
                guard rename(existing.url.path, aside.path) == 0 else {
                    throw ClientError(.writeFailed, "cannot move \(existing.url.path) aside to replace it")
                }
                moved = true
            }
            guard rename(staging.url.path, target.url.path) == 0 else {
                throw ClientError(.writeFailed, "cannot create \(target.url.path)")
            }
            installed = true
            try MembershipFolder.writeAtomically(Data(target.url.path.utf8), to: home.appendingPathComponent("current"))
        } catch {
            undo()
            throw error
        }
        if let aside { try? files.removeItem(at: aside) }
    }

    /// ISO 8601 dates with or without fractional seconds: the web page writes `Date.toISOString()`'s
    /// milliseconds, this program whole seconds.
    static func flexibleDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            let whole = ISO8601DateFormatter()
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            guard let date = whole.date(from: text) ?? fractional.date(from: text) else {
                throw DecodingError.dataCorruptedError(
                    in: try decoder.singleValueContainer(), debugDescription: "not an ISO 8601 date")
            }
            return date
        }
        return decoder
    }

    static func wipe(_ bytes: inout [UInt8]) { KeyBackup.cleanse(&bytes) }
}
