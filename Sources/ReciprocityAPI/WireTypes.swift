public import Foundation
public import ReciprocityCore

// The JSON bodies of the /v1 HTTP API, shared by the server and the client library so that both sides
// encode exactly what Specs/openapi.yaml describes. Tokens, tags and keys are unpadded base64url strings;
// times are RFC 3339 strings in UTC.

/// A program as members see it, with the operator's description and code of conduct (plain text, empty when
/// not set: `ProgramAbout`).
public struct ProgramInfo: Codable, Sendable, Equatable {
    public var name: String
    public var epoch: UInt32
    public var maxMarks: Int
    public var description: String
    public var conduct: String
    /// When the program moves to its next epoch by itself (a round its organizers scheduled); absent when none
    /// is scheduled. The same for every member and the organizers: it says nothing of anyone's marks.
    public var nextRoundAt: Date?
    public init(
        name: String, epoch: UInt32, maxMarks: Int, about: ProgramAbout = ProgramAbout(), nextRoundAt: Date? = nil
    ) {
        self.name = name
        self.epoch = epoch
        self.maxMarks = maxMarks
        self.description = about.description
        self.conduct = about.conduct
        self.nextRoundAt = nextRoundAt
    }

    private enum CodingKeys: String, CodingKey { case name, epoch, maxMarks, description, conduct, nextRoundAt }

    /// A server from before the texts existed sends none: they read as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        epoch = try container.decode(UInt32.self, forKey: .epoch)
        maxMarks = try container.decode(Int.self, forKey: .maxMarks)
        description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
        conduct = try container.decodeIfPresent(String.self, forKey: .conduct) ?? ""
        nextRoundAt = try container.decodeIfPresent(Date.self, forKey: .nextRoundAt)
    }

    public var about: ProgramAbout { ProgramAbout(description: description, conduct: conduct) }
}

/// A directory entry: a member's handle, public key and profile.
public struct MemberInfo: Codable, Sendable, Equatable {
    public var handle: String
    public var publicKey: String
    public var profile: Profile
    public var joinedAt: Date
    /// Proof that the key log holds this handle with this key; present in directory answers and at join.
    public var keyProof: KeyInclusion?
    public init(handle: String, publicKey: String, profile: Profile, joinedAt: Date, keyProof: KeyInclusion? = nil) {
        self.handle = handle
        self.publicKey = publicKey
        self.profile = profile
        self.joinedAt = joinedAt
        self.keyProof = keyProof
    }
}

// MARK: - Key transparency (Specs/transparency.md)

/// A signed tree head of a program's key log.
public struct TreeHeadInfo: Codable, Sendable, Equatable {
    public var program: String
    public var treeSize: UInt64
    /// The Merkle root, base64url (32 bytes).
    public var rootHash: String
    /// Milliseconds since 1970-01-01 UTC.
    public var timestamp: UInt64
    /// Ed25519 signature by the log key, base64url (64 bytes).
    public var signature: String
    public init(program: String, treeSize: UInt64, rootHash: String, timestamp: UInt64, signature: String) {
        self.program = program
        self.treeSize = treeSize
        self.rootHash = rootHash
        self.timestamp = timestamp
        self.signature = signature
    }

    public init(_ head: SignedTreeHead) {
        self.init(
            program: head.program.rawValue, treeSize: head.size, rootHash: Base64URL.encode(head.root),
            timestamp: head.timestamp, signature: Base64URL.encode(head.signature))
    }

    /// Decodes every field (the signature is checked by the caller, against its pinned log key).
    public func signedTreeHead() throws -> SignedTreeHead {
        try SignedTreeHead(
            program: try ProgramID(program), size: treeSize,
            root: try Base64URL.decode(rootHash, byteCount: MerkleTree.hashLength, what: "root hash"),
            timestamp: timestamp,
            signature: try Base64URL.decode(signature, byteCount: 64, what: "tree head signature"))
    }
}

/// An inclusion or consistency proof on the wire: one base64url hash (32 bytes) per step.
public enum ProofHashes {
    public static func encode(_ proof: [[UInt8]]) -> [String] { proof.map { Base64URL.encode($0) } }

    public static func decode(_ steps: [String]) throws -> [[UInt8]] {
        try steps.map { try Base64URL.decode($0, byteCount: MerkleTree.hashLength, what: "proof hash") }
    }
}

/// The entry that made a member's key live, and its inclusion proof in a signed tree head.
public struct KeyInclusion: Codable, Sendable, Equatable {
    public var leafIndex: Int
    /// `join` or `rotate`: the event of that entry.
    public var event: KeyLogEvent
    /// RFC 9162 inclusion path, base64url hashes.
    public var inclusionProof: [String]
    public var treeHead: TreeHeadInfo
    public init(leafIndex: Int, event: KeyLogEvent, inclusionProof: [String], treeHead: TreeHeadInfo) {
        self.leafIndex = leafIndex
        self.event = event
        self.inclusionProof = inclusionProof
        self.treeHead = treeHead
    }
}

/// `GET /v1/log/head`: the latest signed tree head and the key that signs heads.
public struct LogHeadResponse: Codable, Sendable {
    public var treeHead: TreeHeadInfo
    /// The log's Ed25519 public key, base64url (32 bytes). Clients pin it at join.
    public var logPublicKey: String
    public init(treeHead: TreeHeadInfo, logPublicKey: String) {
        self.treeHead = treeHead
        self.logPublicKey = logPublicKey
    }
}

/// One key-log entry on the wire.
public struct LogEntryInfo: Codable, Sendable, Equatable {
    public var index: Int
    public var event: KeyLogEvent
    public var handle: String
    public var publicKey: String
    public init(index: Int, event: KeyLogEvent, handle: String, publicKey: String) {
        self.index = index
        self.event = event
        self.handle = handle
        self.publicKey = publicKey
    }
}

/// `GET /v1/log/entries`: consecutive entries from `start`.
public struct LogEntriesResponse: Codable, Sendable {
    public var entries: [LogEntryInfo]
    public init(entries: [LogEntryInfo]) { self.entries = entries }
}

/// `GET /v1/log/consistency`: RFC 9162 consistency proof between two tree sizes.
public struct ConsistencyProofResponse: Codable, Sendable {
    public var from: UInt64
    public var to: UInt64
    public var proof: [String]
    public init(from: UInt64, to: UInt64, proof: [String]) {
        self.from = from
        self.to = to
        self.proof = proof
    }
}

/// `POST /v1/programs/{program}/members`: join with an invite code.
public struct JoinRequest: Codable, Sendable {
    public var invite: String
    public var handle: String
    public var publicKey: String
    public var profile: Profile
    public init(invite: String, handle: String, publicKey: String, profile: Profile) {
        self.invite = invite
        self.handle = handle
        self.publicKey = publicKey
        self.profile = profile
    }
}

/// The answer to a join: the member credential appears here and nowhere else, ever.
public struct JoinResponse: Codable, Sendable {
    public var member: MemberInfo
    public var program: ProgramInfo
    public var credential: String
    /// The key-log signing key, base64url; the client pins it here.
    public var logPublicKey: String
    public init(member: MemberInfo, program: ProgramInfo, credential: String, logPublicKey: String) {
        self.member = member
        self.program = program
        self.credential = credential
        self.logPublicKey = logPublicKey
    }
}

/// `GET /v1/me`.
public struct SelfInfo: Codable, Sendable {
    public var member: MemberInfo
    public var program: ProgramInfo
    /// The member's own address for email notices, absent when they gave none. Outside `member`, which other
    /// members' answers and the directory also carry: only this answer has it.
    public var email: String?
    public init(member: MemberInfo, program: ProgramInfo, email: String? = nil) {
        self.member = member
        self.program = program
        self.email = email
    }
}

/// `PUT /v1/me/email`: the address for email notices (the operator then knows it), and the answer to it.
public struct EmailSetting: Codable, Sendable {
    public var email: String
    public init(email: String) { self.email = email }
}

/// `POST /v1/me/credential`: the new credential; the old one stops working at once.
public struct CredentialResponse: Codable, Sendable {
    public var credential: String
    public init(credential: String) { self.credential = credential }
}

/// `PUT /v1/me/key`: the member's new X25519 public key.
public struct KeyRotationRequest: Codable, Sendable {
    public var publicKey: String
    public init(publicKey: String) { self.publicKey = publicKey }
}

/// `GET /v1/directory`: one page of members, ordered by handle.
public struct DirectoryPage: Codable, Sendable {
    public var members: [MemberInfo]
    /// Pass as `after` to get the next page; absent on the last page.
    public var nextCursor: String?
    public init(members: [MemberInfo], nextCursor: String?) {
        self.members = members
        self.nextCursor = nextCursor
    }
}

/// One mark on the wire.
public struct MarkItem: Codable, Sendable, Hashable {
    public var token: String
    public var tag: String
    /// The sealed note for the counterpart: 720 characters of base64url (540 bytes).
    public var note: String?
    public init(token: String, tag: String, note: String? = nil) {
        self.token = token
        self.tag = tag
        self.note = note
    }
    public init(_ mark: Mark) {
        self.init(token: mark.token.base64URL, tag: mark.tag.base64URL, note: mark.note?.base64URL)
    }

    private enum CodingKeys: String, CodingKey { case token, tag, note }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        token = try container.decode(String.self, forKey: .token)
        tag = try container.decode(String.self, forKey: .tag)
        note = try container.decodePresent(String.self, forKey: .note)
    }

    /// Decodes and validates every field.
    public func mark() throws -> Mark {
        Mark(
            token: try InterestToken(base64URL: token), tag: try ConfirmationTag(base64URL: tag),
            note: try note.map(SealedNote.init(base64URL:)))
    }
}

/// `POST /v1/marks`: a batch for the program's current epoch, stored all or nothing, after withdrawing the
/// caller's own pending marks named in `withdraw` in the same transaction.
public struct SubmitMarksRequest: Codable, Sendable {
    public var epoch: UInt32
    public var marks: [MarkItem]
    public var withdraw: [String]?
    public init(epoch: UInt32, marks: [MarkItem], withdraw: [String]? = nil) {
        self.epoch = epoch
        self.marks = marks
        self.withdraw = withdraw
    }
}

/// Whether a submitted token is waiting for its counterpart or has matched.
public enum MarkState: String, Codable, Sendable {
    case pending
    case matched
}

public struct MarkResult: Codable, Sendable, Equatable {
    public var token: String
    public var status: MarkState
    public init(token: String, status: MarkState) {
        self.token = token
        self.status = status
    }
}

public struct SubmitMarksResponse: Codable, Sendable {
    public var results: [MarkResult]
    public init(results: [MarkResult]) { self.results = results }
}

/// `GET /v1/marks`: the caller's own pending marks.
public struct PendingMarkInfo: Codable, Sendable, Equatable {
    public var token: String
    public var epoch: UInt32
    public var createdAt: Date
    public init(token: String, epoch: UInt32, createdAt: Date) {
        self.token = token
        self.epoch = epoch
        self.createdAt = createdAt
    }
}

public struct PendingMarksResponse: Codable, Sendable {
    public var marks: [PendingMarkInfo]
    public init(marks: [PendingMarkInfo]) { self.marks = marks }
}

/// A reciprocated mark as one side sees it: the counterpart and the counterpart's confirmation tag.
public struct MatchInfo: Codable, Sendable, Equatable {
    public var token: String
    public var epoch: UInt32
    public var handle: String
    public var publicKey: String
    public var tag: String
    /// The counterpart's sealed note, if they sent one.
    public var note: String?
    public var matchedAt: Date
    public init(
        token: String, epoch: UInt32, handle: String, publicKey: String, tag: String, note: String?, matchedAt: Date
    ) {
        self.token = token
        self.epoch = epoch
        self.handle = handle
        self.publicKey = publicKey
        self.tag = tag
        self.note = note
        self.matchedAt = matchedAt
    }
}

public struct MatchesResponse: Codable, Sendable {
    public var matches: [MatchInfo]
    /// Pass as `after` to get the next page; absent on the last page.
    public var nextCursor: String?
    public init(matches: [MatchInfo], nextCursor: String? = nil) {
        self.matches = matches
        self.nextCursor = nextCursor
    }
}

// MARK: - Admin

/// `PATCH /v1/admin/programs/{program}/about`: a text left out keeps its value, an empty one clears it.
public struct SetProgramAboutRequest: Codable, Sendable {
    public var description: String?
    public var conduct: String?
    public init(description: String? = nil, conduct: String? = nil) {
        self.description = description
        self.conduct = conduct
    }

    private enum CodingKeys: String, CodingKey { case description, conduct }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        description = try container.decodePresent(String.self, forKey: .description)
        conduct = try container.decodePresent(String.self, forKey: .conduct)
    }
}

/// `POST /v1/admin/programs`.
public struct CreateProgramRequest: Codable, Sendable {
    public var name: String
    public var maxMarks: Int?
    public var epoch: UInt32?
    public init(name: String, maxMarks: Int? = nil, epoch: UInt32? = nil) {
        self.name = name
        self.maxMarks = maxMarks
        self.epoch = epoch
    }

    private enum CodingKeys: String, CodingKey { case name, maxMarks, epoch }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        maxMarks = try container.decodePresent(Int.self, forKey: .maxMarks)
        epoch = try container.decodePresent(UInt32.self, forKey: .epoch)
    }
}

/// `POST /v1/admin/programs/{program}/invites`.
public struct CreateInviteRequest: Codable, Sendable {
    public var uses: Int?
    public var expiresInSeconds: Int?
    public init(uses: Int? = nil, expiresInSeconds: Int? = nil) {
        self.uses = uses
        self.expiresInSeconds = expiresInSeconds
    }

    private enum CodingKeys: String, CodingKey { case uses, expiresInSeconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        uses = try container.decodePresent(Int.self, forKey: .uses)
        expiresInSeconds = try container.decodePresent(Int.self, forKey: .expiresInSeconds)
    }
}

extension KeyedDecodingContainer {
    /// nil when the key is absent; the value when present. Unlike `decodeIfPresent`, an explicit `null` is an
    /// error: the schema allows a field to be left out, not to be null.
    func decodePresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        contains(key) ? try decode(T.self, forKey: key) : nil
    }
}

/// The invite code is shown once; the server keeps only its SHA-256.
public struct InviteInfo: Codable, Sendable {
    public var code: String
    public var program: String
    public var uses: Int
    public var expiresAt: Date?
    /// The invite's id in the invite list (opaque, stable), for revoking it.
    public var id: String
    public init(code: String, program: String, uses: Int, expiresAt: Date?, id: String) {
        self.code = code
        self.program = program
        self.uses = uses
        self.expiresAt = expiresAt
        self.id = id
    }
}

/// A member as the operator sees it.
public struct MemberAdminInfo: Codable, Sendable, Equatable {
    public var handle: String
    public var status: String
    public var joinedAt: Date
    public init(handle: String, status: String, joinedAt: Date) {
        self.handle = handle
        self.status = status
        self.joinedAt = joinedAt
    }
}

public struct MemberListResponse: Codable, Sendable {
    public var members: [MemberAdminInfo]
    public init(members: [MemberAdminInfo]) { self.members = members }
}

/// An RFC 9457 problem details body (`application/problem+json`).
public struct ProblemDetails: Codable, Sendable, Equatable {
    /// A stable URI naming the kind of problem: `urn:reciprocity:problem:<code>`.
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String?
    public init(type: String, title: String, status: Int, detail: String?) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
    }

    public static let typePrefix = "urn:reciprocity:problem:"
    /// The code part of ``type``, e.g. `quota-exceeded`.
    public var code: String { type.hasPrefix(Self.typePrefix) ? String(type.dropFirst(Self.typePrefix.count)) : type }
}

/// The JSON coders both sides use: RFC 3339 dates, sorted keys for stable output.
public enum APICoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

// MARK: - The directory replica (Specs/client.md, "The directory replica")

/// `GET /v1/profiles?since=CURSOR&limit=N`: the public profiles of the caller's program that changed after
/// `since`, oldest change first, one entry per handle at its latest state. Clients keep a local replica of the
/// whole directory with it and search, filter and page locally: no request they send carries what the member
/// typed or chose. Absent `since` (or a cursor this server cannot continue from): the whole directory, with
/// `reset` set, and the client replaces its replica.
public struct ProfileChanges: Codable, Sendable, Equatable {
    public var changes: [ProfileChange]
    /// Opaque; pass it as `since` next time.
    public var cursor: String
    /// More changes are ready now: ask again at once with `cursor`.
    public var more: Bool
    /// The client's replica is to be replaced by what these pages carry (a first sync, or a cursor from
    /// another database or from the future).
    public var reset: Bool
    public init(changes: [ProfileChange], cursor: String, more: Bool, reset: Bool) {
        self.changes = changes
        self.cursor = cursor
        self.more = more
        self.reset = reset
    }
}

/// One handle's state in the directory: its profile, or none when it left the directory (suspended, left).
public struct ProfileChange: Codable, Sendable, Equatable {
    public var handle: String
    /// Absent: drop the handle from the replica.
    public var profile: Profile?
    public var joinedAt: Date?
    public init(handle: String, profile: Profile?, joinedAt: Date?) {
        self.handle = handle
        self.profile = profile
        self.joinedAt = joinedAt
    }
}
