import Foundation
import ReciprocityCore

// The key-log vectors (`reciprocity_key_log_v1_test.json`, Specs/transparency.md):
// the test type, how this implementation checks it, and how the generator makes it.

public struct KeyLogVector: VectorTest {
    public struct Entry: Codable, Sendable {
        public var event: String
        public var handle: String
        /// The X25519 public key, hex.
        public var publicKey: String
    }

    public var tcId = 0
    public var comment: String
    public var flags: [String]
    /// `log` or `treeHead`.
    public var kind: String
    public var program: String
    public var entries: [Entry]?
    /// Expected leaf encodings and leaf hashes (hex), in order.
    public var leaves: [String]?
    public var leafHashes: [String]?
    /// The root of the log (hex); for `treeHead`, the root the head carries.
    public var root: String?
    /// The Ed25519 log public key (hex).
    public var logPublicKey: String?
    public var treeHead: String?
    /// For `treeHead`: when present, the verifier's clock (milliseconds since 1970) for the freshness check.
    public var now: Int64?
    public var result: String
    public var error: String?
}

/// One test of the raw X25519 function (RFC 7748).

extension KeyLogVector: CheckableVector {
    static let algorithm = "RECIPROCITY-KEY-LOG-V1"

    func failure() -> String? {
        compare(
            result: result, expectedError: error,
            Result {
                let program = try ProgramID(program)
                switch kind {
                case "log":
                    var directory = KeyDirectory(program: program)
                    var computedLeaves: [String] = []
                    var computedHashes: [String] = []
                    for entry in entries ?? [] {
                        guard let event = KeyLogEvent(rawValue: entry.event) else {
                            throw ReciprocityError(.invalidLogEntry, "unknown event '\(entry.event)'")
                        }
                        let logEntry = KeyLogEntry(
                            program: program, event: event, handle: try Handle(entry.handle),
                            publicKey: try PublicKey(rawRepresentation: Hex.decode(entry.publicKey)))
                        try directory.apply(logEntry)
                        computedLeaves.append(Hex.encode(logEntry.leaf))
                        computedHashes.append(Hex.encode(logEntry.leafHash))
                    }
                    return [
                        field("leaves", leaves?.joined(separator: ","), computedLeaves.joined(separator: ",")),
                        field("leafHashes", leafHashes?.joined(separator: ","), computedHashes.joined(separator: ",")),
                        field("root", root, Hex.encode(directory.root)),
                    ]
                case "treeHead":
                    // The order of checks of Specs/transparency.md section 3: parse, program, signature, time.
                    let head = try SignedTreeHead(text: treeHead ?? "")
                    let key = try LogPublicKey(rawRepresentation: Hex.decode(logPublicKey ?? ""))
                    guard head.program == program else {
                        throw ReciprocityError(.invalidSignature, "the head is for another program's log")
                    }
                    guard head.verify(with: key) else {
                        throw ReciprocityError(.invalidSignature, "the head does not verify with the log key")
                    }
                    if let now { try head.checkTime(now: Date(timeIntervalSince1970: Double(now) / 1000)) }
                    return [field("root", root, Hex.encode(head.root))]
                default:
                    throw ReciprocityError(.malformedVectors, "unknown kind '\(kind)'")
                }
            })
    }
}

extension VectorGenerator {
    static func keyLogFile() throws -> VectorFile<KeyLogVector> {
        let (alice, bob, bob2) = (try publicKey("alice"), try publicKey("bob"), try publicKey("bob-rotated"))
        typealias Entry = KeyLogVector.Entry
        func entry(_ event: String, _ handle: String, _ key: PublicKey) -> Entry {
            Entry(event: event, handle: handle, publicKey: Hex.encode(key.bytes))
        }
        func valid(_ comment: String, _ flags: [String], program: String = "acme", _ entries: [Entry]) throws
            -> KeyLogVector
        {
            let programID = try ProgramID(program)
            var directory = KeyDirectory(program: programID)
            var leaves: [String] = []
            var hashes: [String] = []
            for item in entries {
                let logEntry = KeyLogEntry(
                    program: programID, event: KeyLogEvent(rawValue: item.event)!, handle: try Handle(item.handle),
                    publicKey: try PublicKey(rawRepresentation: Hex.decode(item.publicKey)))
                try directory.apply(logEntry)
                leaves.append(Hex.encode(logEntry.leaf))
                hashes.append(Hex.encode(logEntry.leafHash))
            }
            return KeyLogVector(
                comment: comment, flags: flags, kind: "log", program: program, entries: entries, leaves: leaves,
                leafHashes: hashes, root: Hex.encode(directory.root), result: "valid")
        }
        func invalid(_ comment: String, _ flags: [String], _ entries: [Entry], error: String) -> KeyLogVector {
            KeyLogVector(
                comment: comment, flags: flags, kind: "log", program: "acme", entries: entries, result: "invalid",
                error: error)
        }
        let history = [
            entry("join", "alice", alice), entry("join", "bob", bob), entry("rotate", "bob", bob2),
            entry("leave", "alice", alice), entry("join", "alice", alice),
        ]
        let logs = [
            try valid("an empty log", ["Empty"], []),
            try valid("one member joins", ["Join"], [entry("join", "alice", alice)]),
            try valid("joins, a rotation, a leave and a rejoin", ["Join", "Rotate", "Leave"], history),
            try valid(
                "names of the maximum length", ["MaxLengthNames"], program: String(repeating: "p", count: 64),
                [entry("join", String(repeating: "h", count: 64), alice)]),
        ]
        let broken = [
            invalid(
                "a second join while the handle is live", ["TwoLiveKeys"],
                [entry("join", "bob", bob), entry("join", "bob", bob2)], error: "invalidLogEntry"),
            invalid(
                "one key live under two handles", ["SharedKey"],
                [entry("join", "alice", alice), entry("join", "bob", alice)], error: "invalidLogEntry"),
            invalid(
                "a leave with a key that is not the live one", ["WrongLeave"],
                [entry("join", "bob", bob), entry("leave", "bob", bob2)], error: "invalidLogEntry"),
            invalid(
                "a rotation of a handle that is not live", ["RotateNotLive"],
                [entry("rotate", "bob", bob2)], error: "invalidLogEntry"),
            invalid(
                "a rotation to the same key", ["RotateSameKey"],
                [entry("join", "bob", bob), entry("rotate", "bob", bob)], error: "invalidLogEntry"),
            invalid("an unknown event", ["UnknownEvent"], [entry("suspend", "bob", bob)], error: "invalidLogEntry"),
            invalid("an invalid handle", ["InvalidHandle"], [entry("join", "Bob", bob)], error: "invalidHandle"),
            invalid(
                "a public key of small order", ["LowOrderKey"],
                [Entry(event: "join", handle: "bob", publicKey: String(repeating: "00", count: 32))],
                error: "lowOrderPublicKey"),
        ]
        let logKey = try LogSigningKey(rawRepresentation: privateKey("log signing key"))
        let otherKey = try LogSigningKey(rawRepresentation: privateKey("another log signing key"))
        let logPublic = Hex.encode(logKey.publicKey.bytes)
        let program = try ProgramID("acme")
        let root = try Hex.decode(logs[2].root!)
        let head = try logKey.sign(program: program, size: 5, root: root, timestamp: 1_795_000_000_000)
        let empty = try logKey.sign(program: program, size: 0, root: MerkleTree.emptyRoot, timestamp: 1_795_000_000_000)
        func fields(_ line: String) -> [String] { line.split(separator: " ").map(String.init) }
        func replacing(_ index: Int, with value: String) -> String {
            var parts = fields(head.text)
            parts[index] = value
            return parts.joined(separator: " ")
        }
        func headTest(
            _ comment: String, _ flags: [String], _ line: String, key: String = logPublic,
            now: Int64? = nil, error: String? = nil
        ) throws -> KeyLogVector {
            KeyLogVector(
                comment: comment, flags: flags, kind: "treeHead", program: "acme",
                root: error == nil ? Hex.encode(try SignedTreeHead(text: line).root) : nil, logPublicKey: key,
                treeHead: line, now: now, result: error == nil ? "valid" : "invalid", error: error)
        }
        let heads = try [
            headTest("the head of the five-entry log above", ["TreeHead"], head.text),
            headTest("the head of the empty log", ["TreeHead", "Empty"], empty.text),
            headTest("the size changed", ["TreeHead", "Tampered"], replacing(2, with: "6"), error: "invalidSignature"),
            headTest(
                "the root of another log", ["TreeHead", "Tampered"],
                replacing(3, with: Base64URL.encode(MerkleTree.emptyRoot)), error: "invalidSignature"),
            headTest(
                "the timestamp changed", ["TreeHead", "Tampered"], replacing(4, with: "1795000000001"),
                error: "invalidSignature"),
            headTest(
                "the program changed", ["TreeHead", "Tampered"], replacing(1, with: "acme2"),
                error: "invalidSignature"),
            headTest(
                "signed by another key", ["TreeHead", "WrongKey"],
                try otherKey.sign(program: program, size: 5, root: root, timestamp: 1_795_000_000_000).text,
                error: "invalidSignature"),
            headTest(
                "a field missing", ["TreeHead", "Malformed"],
                fields(head.text).dropLast().joined(separator: " "), error: "invalidEncoding"),
            headTest(
                "a truncated signature", ["TreeHead", "Malformed"],
                replacing(5, with: String(fields(head.text)[5].dropLast(2))), error: "invalidEncoding"),
        ]
        let moreBroken = try moreBrokenLogs(alice: alice, bob: bob, bob2: bob2)
        let (grammar, times) = try strictHeadTests(
            logKey: logKey, otherKey: otherKey, head: head, empty: empty, headTest: headTest)
        return VectorFile(
            algorithm: KeyLogVector.algorithm, schema: "reciprocity_key_log_v1_test_schema.json",
            header: [
                "Reciprocity key-log leaves, replay rules and signed tree heads (Specs/transparency.md).",
                "Keys are X25519 public keys of the vector private keys; the log key is Ed25519 (RFC 8032).",
            ],
            notes: [
                "Empty": "No entries: the root is SHA-256 of the empty string.", "Join": "A join entry (event 1).",
                "Rotate": "A rotation entry (event 2).", "Leave": "A leave entry (event 3).",
                "MaxLengthNames": "Program and handle of 64 characters.",
                "TwoLiveKeys": "A handle joins while live. Error invalidLogEntry.",
                "SharedKey": "A key already live for another handle. Error invalidLogEntry.",
                "WrongLeave": "A leave that names a key other than the live one. Error invalidLogEntry.",
                "RotateNotLive": "A rotation of a handle that is not live. Error invalidLogEntry.",
                "RotateSameKey": "A rotation to the key already live. Error invalidLogEntry.",
                "UnknownEvent": "An event other than join, rotate, leave. Error invalidLogEntry.",
                "InvalidHandle": "A handle outside [a-z0-9][a-z0-9._-]{2,63}. Error invalidHandle.",
                "LowOrderKey": "A public key of small order. Error lowOrderPublicKey.",
                "TreeHead": "A signed tree head in its one-line form, checked with the log key.",
                "Tampered": "One signed field changed. Error invalidSignature.",
                "WrongKey": "Signed by a key other than the log key. Error invalidSignature.",
                "Malformed": "Not a tree-head line. Error invalidEncoding.",
                "LeaveNotLive": "A leave of a handle that is not live. Error invalidLogEntry.",
                "InvalidProgram": "A program name outside [a-z0-9][a-z0-9._-]{2,63}. Error invalidProgram.",
                "InvalidKeyLength": "A public key that is not 32 bytes. Error invalidLength.",
                "NonCanonicalKey": "A public key with bit 255 set or u >= 2^255 - 19. Error nonCanonicalPublicKey.",
                "Grammar": "A correctly signed head whose line breaks the strict grammar (one spelling per head). "
                    + "Error invalidEncoding, or invalidProgram for the program field.",
                "MaxSize": "The largest size a head may state, 2^63 - 1.",
                "MaxTimestamp": "The largest timestamp, 2^64 - 1.",
                "Fresh": "Checked at 'now': at most 24 hours old and at most 5 minutes ahead.",
                "StaleHead": "Checked at 'now': more than 24 hours (86400000 ms) old. Error staleHead.",
                "FutureHead": "Checked at 'now': dated more than 5 minutes (300000 ms) ahead. Error futureHead.",
                "CheckOrder":
                    "Several defects: the error is the first check's (Specs/transparency.md, order of checks).",
            ],
            groups: [
                VectorGroup(type: "KeyLogTest", comment: "valid logs", tests: logs),
                VectorGroup(type: "KeyLogTest", comment: "logs that break the directory rules", tests: broken),
                VectorGroup(type: "TreeHeadTest", comment: "signed tree heads", tests: heads),
                VectorGroup(
                    type: "KeyLogTest", comment: "more logs that break the rules: leaves, shared keys, names and keys",
                    tests: moreBroken),
                VectorGroup(
                    type: "TreeHeadTest", comment: "correctly signed lines that break the strict grammar",
                    tests: grammar),
                VectorGroup(
                    type: "TreeHeadTest", comment: "freshness: heads checked against a clock ('now', milliseconds)",
                    tests: times),
            ])
    }

    /// Logs appended after the first release of the file: every rule's remaining case and every code replay
    /// can report.
    private static func moreBrokenLogs(alice: PublicKey, bob: PublicKey, bob2: PublicKey) throws -> [KeyLogVector] {
        typealias Entry = KeyLogVector.Entry
        func entry(_ event: String, _ handle: String, _ key: PublicKey) -> Entry {
            Entry(event: event, handle: handle, publicKey: Hex.encode(key.bytes))
        }
        func invalid(
            _ comment: String, _ flags: [String], program: String = "acme", _ entries: [Entry],
            error: ReciprocityError.Code
        ) -> KeyLogVector {
            let test = KeyLogVector(
                comment: comment, flags: flags, kind: "log", program: program, entries: entries, result: "invalid",
                error: error.rawValue)
            precondition(test.failure() == nil, "key-log vector '\(comment)': \(test.failure() ?? "")")
            return test
        }
        var highBit = bob.bytes
        highBit[31] |= 0x80
        return [
            invalid(
                "a leave of a handle that never joined", ["LeaveNotLive"], [entry("leave", "bob", bob)],
                error: .invalidLogEntry),
            invalid(
                "a second leave of a handle that has left", ["LeaveNotLive"],
                [entry("join", "bob", bob), entry("leave", "bob", bob), entry("leave", "bob", bob)],
                error: .invalidLogEntry),
            invalid(
                "a rotation to a key another handle holds live", ["SharedKey"],
                [entry("join", "alice", alice), entry("join", "bob", bob), entry("rotate", "bob", alice)],
                error: .invalidLogEntry),
            invalid(
                "a rejoin with a key another handle took meanwhile", ["SharedKey"],
                [
                    entry("join", "bob", bob), entry("leave", "bob", bob), entry("join", "alice", bob),
                    entry("join", "bob", bob),
                ], error: .invalidLogEntry),
            invalid(
                "a handle with a trailing line feed", ["InvalidHandle"], [entry("join", "bob\n", bob)],
                error: .invalidHandle),
            invalid(
                "a handle with a trailing carriage return", ["InvalidHandle"], [entry("join", "bob\r", bob)],
                error: .invalidHandle),
            invalid(
                "a handle with a trailing CR LF, after a valid entry", ["InvalidHandle"],
                [entry("join", "alice", alice), entry("rotate", "alice\r\n", bob)], error: .invalidHandle),
            invalid(
                "an invalid program name", ["InvalidProgram"], program: "Acme", [entry("join", "bob", bob)],
                error: .invalidProgram),
            invalid(
                "a public key of 31 bytes", ["InvalidKeyLength"],
                [Entry(event: "join", handle: "bob", publicKey: String(Hex.encode(bob.bytes).dropLast(2)))],
                error: .invalidLength),
            invalid(
                "a public key with bit 255 set", ["NonCanonicalKey"],
                [Entry(event: "join", handle: "bob", publicKey: Hex.encode(highBit))], error: .nonCanonicalPublicKey),
            invalid(
                "a rotation after the handle left", ["RotateNotLive"],
                [entry("join", "bob", bob), entry("leave", "bob", bob), entry("rotate", "bob", bob2)],
                error: .invalidLogEntry),
        ]
    }

    /// Tree heads appended after the first release of the file: lines that break the strict grammar though their
    /// signature is right (a lenient parser would accept them), and freshness against a clock.
    private static func strictHeadTests(
        logKey: LogSigningKey, otherKey: LogSigningKey, head: SignedTreeHead, empty: SignedTreeHead,
        headTest: (String, [String], String, String, Int64?, String?) throws -> KeyLogVector
    ) throws -> (grammar: [KeyLogVector], times: [KeyLogVector]) {
        let logPublic = Hex.encode(logKey.publicKey.bytes)
        func test(
            _ comment: String, _ flags: [String], _ line: String, now: Int64? = nil,
            error: ReciprocityError.Code? = nil
        ) throws -> KeyLogVector {
            let test = try headTest(comment, flags, line, logPublic, now, error?.rawValue)
            precondition(test.failure() == nil, "tree-head vector '\(comment)': \(test.failure() ?? "")")
            return test
        }
        func fields(_ line: String) -> [String] {
            line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        }
        func replacing(_ index: Int, with value: String, in line: String = head.text) -> String {
            var parts = fields(line)
            parts[index] = value
            return parts.joined(separator: " ")
        }
        /// The same bytes with an unused low bit of the last character set: a second spelling.
        func nonCanonical(_ text: String) -> String {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            let last = alphabet.firstIndex(of: text.last!)!
            return String(text.dropLast()) + String(alphabet[last + 1])
        }
        /// A line with these fields, signed as they are.
        func signedLine(size: UInt64, sizeText: String? = nil, timestamp: UInt64 = head.timestamp) throws -> String {
            let signature = try logKey.signature(
                program: head.program, size: size, root: head.root, timestamp: timestamp)
            return [
                "reciprocity-sth/v1", "acme", sizeText ?? String(size), Base64URL.encode(head.root),
                String(timestamp), Base64URL.encode(signature),
            ].joined(separator: " ")
        }
        let line = head.text
        let parts = fields(head.text)
        let grammar: [KeyLogVector] = try [
            test("size '+5'", ["Grammar"], replacing(2, with: "+5"), error: .invalidEncoding),
            test("size '05'", ["Grammar"], replacing(2, with: "05"), error: .invalidEncoding),
            test(
                "size '00' for an empty log", ["Grammar", "Empty"], replacing(2, with: "00", in: empty.text),
                error: .invalidEncoding),
            test(
                "size '-0' for an empty log", ["Grammar", "Empty"], replacing(2, with: "-0", in: empty.text),
                error: .invalidEncoding),
            test(
                "timestamp with a leading zero", ["Grammar"], replacing(4, with: "0" + parts[4]),
                error: .invalidEncoding),
            test(
                "timestamp '+1795000000000'", ["Grammar"], replacing(4, with: "+" + parts[4]), error: .invalidEncoding),
            test("a trailing space", ["Grammar"], line + " ", error: .invalidEncoding),
            test("a trailing line feed", ["Grammar"], line + "\n", error: .invalidEncoding),
            test("a trailing CR LF", ["Grammar"], line + "\r\n", error: .invalidEncoding),
            test("a leading space", ["Grammar"], " " + line, error: .invalidEncoding),
            test(
                "two spaces between fields", ["Grammar"], line.replacingOccurrences(of: " acme ", with: "  acme "),
                error: .invalidEncoding),
            test(
                "a tab between fields", ["Grammar"], line.replacingOccurrences(of: " acme ", with: "\tacme "),
                error: .invalidEncoding),
            test(
                "the label in upper case", ["Grammar"], replacing(0, with: "RECIPROCITY-STH/V1"),
                error: .invalidEncoding),
            test(
                "another version label", ["Grammar"], replacing(0, with: "reciprocity-sth/v2"), error: .invalidEncoding),
            test("an empty line", ["Grammar"], "", error: .invalidEncoding),
            test(
                "the largest size, 2^63 - 1", ["TreeHead", "MaxSize"],
                try logKey.sign(
                    program: head.program, size: SignedTreeHead.maxSize, root: head.root,
                    timestamp: head.timestamp
                ).text),
            test(
                "size 2^63, signed", ["Grammar"], try signedLine(size: SignedTreeHead.maxSize + 1),
                error: .invalidEncoding),
            test("size 2^64 - 1, signed", ["Grammar"], try signedLine(size: UInt64.max), error: .invalidEncoding),
            test("size 2^64", ["Grammar"], replacing(2, with: "18446744073709551616"), error: .invalidEncoding),
            test(
                "the largest timestamp, 2^64 - 1", ["TreeHead", "MaxTimestamp"],
                try logKey.sign(program: head.program, size: head.size, root: head.root, timestamp: UInt64.max).text),
            test("timestamp 2^64", ["Grammar"], replacing(4, with: "18446744073709551616"), error: .invalidEncoding),
            test(
                "root with an unused low bit set", ["Grammar"], replacing(3, with: nonCanonical(parts[3])),
                error: .invalidEncoding),
            test(
                "signature with an unused low bit set", ["Grammar"], replacing(5, with: nonCanonical(parts[5])),
                error: .invalidEncoding),
            test("root padded with '='", ["Grammar"], replacing(3, with: parts[3] + "="), error: .invalidEncoding),
            test(
                "signature in standard base64 ('+' and '/')", ["Grammar"],
                replacing(
                    5, with: parts[5].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")),
                error: .invalidEncoding),
            test(
                "a program name in upper case", ["Grammar", "InvalidProgram"], replacing(1, with: "Acme"),
                error: .invalidProgram),
            test(
                "an invalid program and size '+5': fields are checked left to right", ["Grammar", "CheckOrder"],
                replacing(2, with: "+5", in: replacing(1, with: "Acme")), error: .invalidProgram),
        ]
        let t = Int64(head.timestamp)
        let (hour, day, skew): (Int64, Int64, Int64) = (3_600_000, 86_400_000, 300_000)
        let other = try otherKey.sign(
            program: head.program, size: head.size, root: head.root, timestamp: head.timestamp)
        let times: [KeyLogVector] = try [
            test("checked at its own timestamp", ["Fresh"], line, now: t),
            test("an hour old", ["Fresh"], line, now: t + hour),
            test("exactly 24 hours old", ["Fresh"], line, now: t + day),
            test("24 hours and 1 ms old", ["StaleHead"], line, now: t + day + 1, error: .staleHead),
            test("30 days old", ["StaleHead"], line, now: t + 30 * day, error: .staleHead),
            test("a minute ahead of the clock", ["Fresh"], line, now: t - 60_000),
            test("exactly 5 minutes ahead", ["Fresh"], line, now: t - skew),
            test("5 minutes and 1 ms ahead", ["FutureHead"], line, now: t - skew - 1, error: .futureHead),
            test("a year ahead", ["FutureHead"], line, now: t - 365 * day, error: .futureHead),
            test(
                "timestamp 2^64 - 1", ["FutureHead", "MaxTimestamp"],
                try logKey.sign(program: head.program, size: head.size, root: head.root, timestamp: UInt64.max).text,
                now: t, error: .futureHead),
            test(
                "timestamp 0", ["StaleHead"],
                try logKey.sign(program: head.program, size: head.size, root: head.root, timestamp: 0).text, now: t,
                error: .staleHead),
            test("the empty log's head, fresh", ["Fresh", "Empty"], empty.text, now: t + hour),
            test(
                "signed by another key and stale: the signature is checked first", ["WrongKey", "CheckOrder"],
                other.text, now: t + 30 * day, error: .invalidSignature),
            test(
                "another program and a year ahead: the program is checked first", ["Tampered", "CheckOrder"],
                replacing(1, with: "acme2"), now: t - 365 * day, error: .invalidSignature),
            test(
                "size '05' and stale: the line is parsed first", ["Grammar", "CheckOrder"], replacing(2, with: "05"),
                now: t + 30 * day, error: .invalidEncoding),
        ]
        return (grammar, times)
    }
}
