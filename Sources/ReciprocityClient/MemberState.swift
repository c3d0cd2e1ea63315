public import Foundation
public import ReciprocityCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One mark as this device remembers it. The server never learns `handle` or `relation`; only this file maps
/// a token back to a person.
public struct LocalMark: Codable, Sendable, Equatable {
    /// The counterpart's handle; nil for a dummy mark.
    public var handle: String?
    /// What the member wants the counterpart as: `mentor`, `mentee` or `peer` (the counterpart's role).
    public var wants: Role?
    public var epoch: UInt32
    public var token: String
    public var ownTag: String
    /// The tag the counterpart must present after a match; nil for a dummy.
    public var counterpartTag: String?
    public var createdAt: Date
    public var matchedAt: Date?
    /// The note this member wrote to the counterpart (kept to reseal it when the epoch changes).
    public var note: String?
    /// A real mark that could not be derived again for a new epoch or key because its person's key changed in
    /// the log: kept (not sent) until the member trusts the new key.
    public var waitingForTrust: Bool?

    public var isDummy: Bool { handle == nil }
    /// Not matched, as far as this device verified.
    var isPending: Bool { matchedAt == nil }
    /// A mark the server should hold pending now.
    func isWanted(epoch: UInt32) -> Bool { self.epoch == epoch && isPending && waitingForTrust != true }
}

extension LocalMark {
    /// The record of a real mark, from its derivation.
    init(_ derived: PairwiseMark, handle: String, wants: Role, epoch: UInt32, createdAt: Date, note: String?) {
        self.init(
            handle: handle, wants: wants, epoch: epoch, token: derived.token.base64URL,
            ownTag: derived.ownTag.base64URL, counterpartTag: derived.counterpartTag.base64URL, createdAt: createdAt,
            matchedAt: nil, note: note)
    }
}

/// Everything this device keeps for one membership (one server, one program), except the private key.
public struct MemberState: Codable, Sendable {
    public var server: String
    public var program: String
    public var handle: String
    public var credential: String
    /// Public keys seen for each handle, first use wins (trust on first use).
    public var pinnedKeys: [String: String]
    public var marks: [LocalMark]
    /// Keep this many marks pending on the server, topping up with dummies; nil for no padding.
    public var padTo: Int?
    /// The key-log signing key pinned at join (base64url); nil in state written before the key log existed,
    /// until first use.
    public var logKey: String?
    /// The latest tree head this device verified, in its one-line gossip form.
    public var treeHead: String?
    /// Public keys this member rotated away from: the key log holds them under its handle too.
    public var retiredKeys: [String]?
    /// Set by a key rotation until every pending interest has been derived again with the new key.
    public var resubmitPending: Bool?
    /// This device's replica of the program's key log, verified up to `treeHead`: every handle's live key.
    /// Marks are derived only from it, so no request names the person being marked.
    public var replica: KeyDirectory?
    /// The key the last key-log entry for this member's own handle carried, as the replica saw it.
    public var ownLogKey: String?
    /// The highest epoch of the program this device has seen: a server going back is refused.
    public var epoch: UInt32?
    /// One per conversation this device has read or written: the ratchet state and what was read and sent.
    public var conversations: [LocalConversation]?
    /// The member's own contact details, shared only inside an encrypted `contact` message.
    public var contact: ContactDetails?
}

extension MemberState {
    /// The state without what stays on this device (Specs/messages.md section 8, Specs/backup.md): the
    /// conversations (their ratchet state must never run on two devices, and what was read stays here) and the
    /// member's contact details.
    var withoutDeviceOnlyData: MemberState {
        var copy = self
        copy.conversations = nil
        copy.contact = nil
        return copy
    }
}

/// A conversation as this device keeps it (Specs/messages.md section 5: the state is as secret as the private
/// key, replaced after every message).
public struct LocalConversation: Codable, Sendable {
    /// The match's token, base64url.
    public var token: String
    public var epoch: UInt32
    public var handle: String
    /// `Conversation.encoded()`, base64url; nil once the conversation ended (its keys are of no more use).
    public var state: String?
    /// Every message up to this sequence number was read (or was this device's own).
    public var readSeq: Int64
    /// What was read and sent, in order: the payloads as JSON text.
    public var messages: [LocalMessage]
    public var ended: Bool
}

public struct LocalMessage: Codable, Sendable, Equatable {
    public var seq: Int64
    public var fromMe: Bool
    public var sentAt: Date
    /// The payload's JSON text; nil when the envelope did not open.
    public var payload: String?
    /// Why the envelope cannot be shown.
    public var problem: String?
}

/// The folder of one membership: `state.json` and `private.key`, both mode 0600, written atomically.
public struct MembershipFolder: Sendable {
    public let url: URL

    var stateURL: URL { url.appendingPathComponent("state.json") }
    var keyURL: URL { url.appendingPathComponent("private.key") }
    /// The key a rotation is moving to, kept until the server has it and it replaces `private.key`.
    var nextKeyURL: URL { url.appendingPathComponent("private.key.next") }

    /// `$RECIPROCITY_HOME`, else `$XDG_CONFIG_HOME/reciprocity`, else `~/.config/reciprocity`.
    public static func home(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let home = environment["RECIPROCITY_HOME"], !home.isEmpty { return URL(fileURLWithPath: home) }
        let config =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.config")
        return URL(fileURLWithPath: config).appendingPathComponent("reciprocity")
    }

    /// `<home>/<host_port>/<program>`.
    public init(home: URL, server: String, program: String) {
        let slug = server.replacingOccurrences(of: "https://", with: "").replacingOccurrences(of: "http://", with: "")
            .map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? String($0) : "_" }.joined()
        url = home.appendingPathComponent(slug).appendingPathComponent(program)
    }

    public init(url: URL) { self.url = url }

    public var exists: Bool { FileManager.default.fileExists(atPath: stateURL.path) }

    /// The memberships under `home`: each folder with the server and program its state file names, sorted.
    static func all(home: URL) -> [(folder: MembershipFolder, server: String, program: String)] {
        struct Names: Decodable {
            var server: String
            var program: String
        }
        let files = FileManager.default
        let found = ((try? files.contentsOfDirectory(atPath: home.path)) ?? []).flatMap { server in
            ((try? files.contentsOfDirectory(atPath: home.appendingPathComponent(server).path)) ?? []).compactMap {
                let folder = MembershipFolder(url: home.appendingPathComponent(server).appendingPathComponent($0))
                return files.contents(atPath: folder.stateURL.path)
                    .flatMap { try? JSONDecoder().decode(Names.self, from: $0) }
                    .map { (folder: folder, server: $0.server, program: $0.program) }
            }
        }
        return found.sorted { ($0.server, $0.program) < ($1.server, $1.program) }
    }

    public func create(state: MemberState, key: PrivateKey) throws {
        guard !exists else {
            throw ClientError(.alreadyJoined, "this device already holds a membership in \(url.path)")
        }
        try FileManager.default.createDirectory(
            at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Self.writeAtomically(Data(Base64URL.encode(key.rawRepresentation).utf8), to: keyURL)
        try save(state)
        // The membership's lock, held by each later command (``StateLock``); made here, so no command adds a file.
        try StateLock.hold(stateURL: stateURL)
    }

    /// The state, read once a command: the membership's ``StateLock`` is held from here to the process's end.
    public func loadState() throws -> MemberState {
        // Locked before reading: a command waiting for another must read what that one saved.
        if FileManager.default.fileExists(atPath: stateURL.path) { try StateLock.hold(stateURL: stateURL) }
        let data = try Self.readPrivate(stateURL, what: "state file")
        do {
            return try JSONDecoder.iso8601.decode(MemberState.self, from: data)
        } catch {
            throw ClientError(.corruptState, "\(stateURL.path) is not a valid state file")
        }
    }

    public func loadKey() throws -> PrivateKey { try Self.loadKey(at: keyURL) }

    /// The key of an unfinished rotation, if any.
    func loadNextKey() throws -> PrivateKey? {
        FileManager.default.fileExists(atPath: nextKeyURL.path) ? try Self.loadKey(at: nextKeyURL) : nil
    }

    func saveNextKey(_ key: PrivateKey) throws {
        try Self.writeAtomically(Data(Base64URL.encode(key.rawRepresentation).utf8), to: nextKeyURL)
    }

    /// Makes the rotation's key the member's key (a rename: the old key is gone once it returns).
    func promoteNextKey() throws {
        guard rename(nextKeyURL.path, keyURL.path) == 0 else {
            throw ClientError(.writeFailed, "cannot replace \(keyURL.path) with \(nextKeyURL.path)")
        }
    }

    static func loadKey(at url: URL) throws -> PrivateKey {
        let text = String(decoding: try readPrivate(url, what: "private key"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = try? Base64URL.decode(text, byteCount: 32, what: "private key"),
            let key = try? PrivateKey(rawRepresentation: bytes)
        else { throw ClientError(.corruptKey, "\(url.path) does not hold a valid private key") }
        return key
    }

    public func save(_ state: MemberState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try Self.writeAtomically(try encoder.encode(state), to: stateURL)
    }

    /// Reads a file that must be private to its owner: refuses one that group or others can read.
    static func readPrivate(_ url: URL, what: String) throws -> Data {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
            let mode = attributes[.posixPermissions] as? Int
        else { throw ClientError(.noState, "no \(what) at \(url.path); run 'reciprocity join' first") }
        guard mode & 0o077 == 0 else {
            throw ClientError(
                .insecurePermissions,
                "refusing to use \(url.path): it is readable by others (mode \(String(mode, radix: 8))); run 'chmod 600 \(url.path)'"
            )
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ClientError(.unreadable, "cannot read \(url.path)")
        }
        return data
    }

    /// Writes to a temporary file (mode 0600) in the same folder, flushes it to disk, then renames it over the
    /// target: a crash leaves either the old file or the new one, never a torn one.
    /// The temporary file gets a random name and is created exclusively without following a symbolic link, so
    /// another local user cannot plant a link there that makes this write land in one of the member's files.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        // SystemRandomNumberGenerator reads the kernel's CSPRNG.
        let random = String(UInt64.random(in: .min ... .max), radix: 36)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(random).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ClientError(.writeFailed, "cannot write \(temporary)") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0, rename(temporary, url.path) == 0 else {
            unlink(temporary)
            throw ClientError(.writeFailed, "cannot write \(url.path)")
        }
        // Make the rename itself durable.
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
