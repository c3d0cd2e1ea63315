import Foundation
import ReciprocityCore

// How the generator writes `reciprocity_messages_v1_test.json`: each test is a script run through the real
// `Conversation` as it is written, so every output is what this implementation computes.

extension VectorGenerator {
    /// The two members of a match, the token their key schedule gives, and the program and epoch.
    private struct ConversationPair {
        var program = "acme-mentoring"
        var relation = Relation.mentorship
        var epoch: UInt32 = 0
        var first = "alice"
        var firstRole = Role.mentee
        var second = "bob"

        func token() throws -> [UInt8] {
            try KeySchedule.derive(
                context: InterestContext(program: ProgramID(program), relation: relation, epoch: epoch),
                me: PrivateKey(rawRepresentation: privateKey(first)), handle: Handle(first), role: firstRole,
                other: Party(handle: Handle(second), publicKey: publicKey(second))
            ).token.bytes
        }
    }

    private static let mentorship = ConversationPair()
    private static let peers = ConversationPair(
        program: "pydata.berlin_2026", relation: .peer, epoch: 4_294_967_295, first: "carol", firstRole: .peer,
        second: "dave")

    /// One test being written: each step runs as it is added.
    private struct Script {
        var test: MessageVector
        var run: MessageRun
        /// The handles of side A and side B.
        let a: String
        let b: String

        init(_ pair: ConversationPair, _ comment: String, _ flags: [String], bListedFirst: Bool = false) throws {
            var members = try [pair.first, pair.second].map {
                MessageMember(
                    handle: $0, privateKey: Hex.encode(try privateKey($0)),
                    publicKey: Hex.encode(try publicKey($0).bytes))
            }
            test = MessageVector(
                comment: comment, flags: flags, program: pair.program, epoch: Int64(pair.epoch),
                token: Hex.encode(try pair.token()), members: members,
                initialRatchetPrivateKey: Hex.encode(try privateKey("ratchet \(comment) initial")),
                firstRatchetPrivateKey: Hex.encode(try privateKey("ratchet \(comment) first")), steps: [],
                result: "valid")
            run = try MessageRun(test)
            a = run.side
            b = a == pair.first ? pair.second : pair.first
            if bListedFirst, members[0].handle == a {
                members.reverse()
                test.members = members
            }
            test.side = run.side
            test.staticSharedSecret = Hex.encode(run.staticSharedSecret)
            test.rootInfo = Hex.encode(run.rootInfo)
            test.rootSecret = Hex.encode(run.rootSecret)
        }

        @discardableResult
        mutating func send(_ who: String, _ payload: String, count: Int? = nil) throws -> [UInt8] {
            let step = try run.execute(MessageStep(member: who, action: "send", payload: payload, count: count))
            test.steps.append(step)
            return try Hex.decode(step.envelope!)
        }

        mutating func receive(_ who: String, _ envelope: [UInt8], error: ReciprocityError.Code? = nil) throws {
            let index = test.steps.count
            let comment = test.comment
            let step = try run.execute(MessageStep(member: who, action: "receive", envelope: Hex.encode(envelope))) {
                try PrivateKey(rawRepresentation: privateKey("ratchet \(comment) step \(index + 1)"))
            }
            precondition(step.error == error?.rawValue, "\(comment): step \(index + 1) gave \(step.error ?? "success")")
            test.steps.append(step)
            if let error, test.error == nil {
                test.result = "invalid"
                test.error = error.rawValue
            }
        }

        /// `who` starts again with no state (a restore from a key backup), drawing a new ratchet key.
        mutating func start(_ who: String) throws {
            let key = try privateKey("ratchet \(test.comment) step \(test.steps.count + 1)")
            test.steps.append(
                try run.execute(
                    MessageStep(member: who, action: "start", ratchetPrivateKey: Hex.encode([UInt8](key))))
            )
        }

        func forge(_ who: String, padded: [UInt8]) throws -> [UInt8] { try run.forge(who, padded: padded) }

        func finished() -> MessageVector {
            precondition(test.failure() == nil, "\(test.comment): \(test.failure()!)")
            return test
        }
    }

    static func messageFile() throws -> VectorFile<MessageVector> {
        VectorFile(
            algorithm: MessageVector.algorithm, schema: "reciprocity_messages_v1_test_schema.json",
            header: [
                "Reciprocity v1 conversations (Specs/messages.md): scripted Double Ratchet exchanges between two members.",
                "envelope = 0x01 || ratchet public key (32) || BE32(PN) || BE32(N) || ChaCha20-Poly1305(padded payload).",
                "Steps run in order; a refused receive names its error and leaves the receiver's state unchanged.",
                "Binary values are lowercase hex.",
            ],
            notes: messageNotes,
            groups: [
                VectorGroup(type: "ReciprocityConversationTest", comment: "conversations", tests: try validScripts()),
                VectorGroup(type: "ReciprocityConversationTest", comment: "refusals", tests: try invalidScripts()),
            ])
    }

    private static let messageNotes: [String: String] = [
        "AFirst": "Side A writes first.",
        "FirstChain": "Messages of side A's first chain (PN 0xFFFFFFFF), opened by B from SK and a0 alone.",
        "SecondStart":
            "Side A starts again with no state (a restore) and a new a0: no message key or nonce repeats.",
        "BFirst": "Side B writes first.",
        "BothFirst": "Both sides write before either reads.",
        "Reordered": "Envelopes are received out of order (skipped message keys).",
        "SkipWindowEdge": "The receiver skips exactly 100 message keys, the most allowed.",
        "LongRun": "One side writes many turns' worth of messages.",
        "SizeClass": "Payloads at the edges of the 256, 1,024 and 4,096-byte padded sizes.",
        "PayloadTypes": "Payloads of each type of Specs/messages.md section 9.",
        "MembersListedBFirst": "The members are listed with side B first.",
        "TamperedCiphertext": "One bit of the ciphertext changed. Error messageAuthenticationFailed.",
        "TamperedTag": "One bit of the tag changed. Error messageAuthenticationFailed.",
        "TamperedHeader": "One bit of PN or N changed. Error messageAuthenticationFailed.",
        "TamperedRatchetKey":
            "One bit of the ratchet key changed (still a valid key). Error messageAuthenticationFailed.",
        "MovedToAnotherEpoch":
            "Sealed in the same pair's conversation of another epoch. Error messageAuthenticationFailed.",
        "MovedToAnotherMatch": "Sealed by the same sender in another match. Error messageAuthenticationFailed.",
        "Replay": "A message already read. Error messageReplayed.",
        "OutsideWindow": "More than 100 messages ahead of its chain. Error messageOutsideWindow.",
        "WrongSide": "The receiver's own envelope, reflected back. Error messageWrongSide.",
        "Malformed": "Wrong length or version, or an invalid ratchet key. Error messageMalformed.",
        "BadPadding": "Authentic, but the padded plaintext is malformed. Error invalidMessagePadding.",
        "StateUnchanged": "After the refusal, the genuine envelope still opens.",
        "RestoredCannotRead":
            "A restored side A cannot read B's messages on B's later chains. Error messageAuthenticationFailed.",
        "StartLimit": "B reads the first chains of 20 starts of A; a 21st is refused. Error messageOutsideWindow.",
        "ForgottenKey":
            "A reflected envelope whose ratchet key is older than the 20 own keys remembered. Error messageAuthenticationFailed.",
    ]

    private static func validScripts() throws -> [MessageVector] {
        var tests: [MessageVector] = []

        var s = try Script(mentorship, "A writes first, then the turns alternate", ["AFirst"])
        for turn in 1...3 {
            try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"A's turn \#(turn)"}"#))
            try s.receive(s.a, s.send(s.b, #"{"type":"text","text":"B's turn \#(turn)"}"#))
        }
        tests.append(s.finished())

        s = try Script(
            mentorship, "B writes first, then the turns alternate", ["BFirst", "MembersListedBFirst"],
            bListedFirst: true)
        for turn in 1...3 {
            try s.receive(s.a, s.send(s.b, #"{"type":"text","text":"B's turn \#(turn)"}"#))
            try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"A's turn \#(turn)"}"#))
        }
        tests.append(s.finished())

        s = try Script(peers, "both write twice before either reads, then the turns go on", ["BothFirst"])
        let a1 = try s.send(s.a, #"{"type":"text","text":"coffee?"}"#)
        let b1 = try s.send(s.b, #"{"type":"text","text":"hello!"}"#)
        let a2 = try s.send(s.a, #"{"type":"text","text":"or tea"}"#)
        let b2 = try s.send(s.b, #"{"type":"text","text":"when suits you?"}"#)
        try s.receive(s.a, b1)
        try s.receive(s.b, a1)
        try s.receive(s.b, a2)
        try s.receive(s.a, b2)
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"Thursday"}"#))
        try s.receive(s.a, s.send(s.b, #"{"type":"text","text":"Thursday it is"}"#))
        tests.append(s.finished())

        s = try Script(peers, "three envelopes of one chain read in the order 3, 1, 2", ["Reordered", "BFirst"])
        let chain = try (1...3).map { try s.send(s.b, #"{"type":"text","text":"part \#($0)"}"#) }
        for index in [2, 0, 1] { try s.receive(s.a, chain[index]) }
        tests.append(s.finished())

        s = try Script(mentorship, "a late message of a closed chain, found through PN", ["Reordered", "BFirst"])
        let early = try s.send(s.b, #"{"type":"text","text":"one"}"#)
        let late = try s.send(s.b, #"{"type":"text","text":"two (late)"}"#)
        try s.receive(s.a, early)
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"got one"}"#))
        try s.receive(s.a, s.send(s.b, #"{"type":"text","text":"three, in a new chain"}"#))
        try s.receive(s.a, late)
        tests.append(s.finished())

        s = try Script(
            peers, "A's first chain read in the order 3, 1, 2, and a late one after A's first turn",
            ["FirstChain", "Reordered", "AFirst"])
        let firsts = try (1...4).map { try s.send(s.a, #"{"type":"text","text":"first chain \#($0)"}"#) }
        for index in [2, 0, 1] { try s.receive(s.b, firsts[index]) }
        try s.receive(s.a, s.send(s.b, #"{"type":"text","text":"read three"}"#))
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"main chain now"}"#))
        try s.receive(s.b, firsts[3])
        tests.append(s.finished())

        s = try Script(
            mentorship, "A starts again (restored) after the turns went on; B reads its new first chain",
            ["SecondStart", "FirstChain", "AFirst"])
        let before = try s.send(s.a, #"{"type":"text","text":"hello"}"#)
        try s.receive(s.b, before)
        for turn in 1...2 {
            try s.receive(s.a, s.send(s.b, #"{"type":"text","text":"B's turn \#(turn)"}"#))
            try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"A's turn \#(turn)"}"#))
        }
        try s.start(s.a)
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"hello"}"#))
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"I restored my key backup"}"#))
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"hello again"}"#))
        tests.append(s.finished())

        s = try Script(peers, "message 101 of a chain read first: 100 keys skipped", ["SkipWindowEdge", "AFirst"])
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"the 101st"}"#, count: 101))
        tests.append(s.finished())

        s = try Script(mentorship, "a long one-sided run, then a reply", ["LongRun", "BFirst"])
        for index in 1...12 { try s.receive(s.a, s.send(s.b, #"{"type":"text","text":"update \#(index)"}"#)) }
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"thanks for all the updates"}"#))
        tests.append(s.finished())

        s = try Script(mentorship, "payloads at the edges of each size class", ["SizeClass", "AFirst"])
        for length in [0, 254, 255, 1022, 1023, Conversation.maxPayloadBytes] {
            try s.receive(s.b, s.send(s.a, String(repeating: "x", count: length)))
        }
        try s.receive(s.b, s.send(s.a, String(repeating: "é", count: 127) + "€"))
        tests.append(s.finished())

        s = try Script(peers, "one payload of each type, and non-ASCII text", ["PayloadTypes", "AFirst"])
        let payloads = [
            #"{"type":"text","text":"Grüße 👋 — 你好\nline two"}"#,
            #"{"type":"contact","email":"carol@example.org","chat":"@carol:matrix.org","note":"evenings are best"}"#,
            #"{"type":"meeting","id":"q3Vb1Xy2Za8Rt5Lm0Np7Qw","start":"2026-12-10T09:30:00Z","minutes":45,"topic":"coffee and VDI","place":"Café Central"}"#,
            #"{"type":"meeting-reply","id":"q3Vb1Xy2Za8Rt5Lm0Np7Qw","answer":"accept"}"#,
        ]
        for (index, payload) in payloads.enumerated() {
            let (from, to) = index % 2 == 0 ? (s.a, s.b) : (s.b, s.a)
            try s.receive(to, s.send(from, payload))
        }
        tests.append(s.finished())
        return tests
    }

    private static func invalidScripts() throws -> [MessageVector] {
        var tests: [MessageVector] = []
        let hello = #"{"type":"text","text":"hello"}"#

        /// One envelope from A, changed by `change` and refused with `code`; then the genuine one opens.
        func tampered(
            _ comment: String, _ flag: String, _ code: ReciprocityError.Code, from sender: Bool = true,
            _ change: (inout [UInt8]) -> Void
        ) throws -> MessageVector {
            var s = try Script(mentorship, comment, [flag, "StateUnchanged"])
            if !sender { try s.receive(s.a, s.send(s.b, hello)) }
            let (from, to) = sender ? (s.a, s.b) : (s.b, s.a)
            let genuine = try s.send(from, hello)
            var bytes = genuine
            change(&bytes)
            try s.receive(to, bytes, error: code)
            try s.receive(to, genuine)
            return s.finished()
        }
        let auth = ReciprocityError.Code.messageAuthenticationFailed
        tests += [
            try tampered("a ciphertext bit flipped", "TamperedCiphertext", auth) { $0[100] ^= 0x01 },
            try tampered("a tag bit flipped", "TamperedTag", auth) { $0[$0.count - 1] ^= 0x80 },
            try tampered("the message number changed", "TamperedHeader", auth) { $0[40] ^= 0x01 },
            try tampered("PN changed", "TamperedHeader", auth) { $0[36] ^= 0x01 },
            try tampered("a ratchet-key bit flipped, in a new chain", "TamperedRatchetKey", auth, from: false) {
                $0[5] ^= 0x02
            },
            try tampered("version 2", "Malformed", .messageMalformed) { $0[0] = 2 },
            try tampered("one byte short", "Malformed", .messageMalformed) { $0.removeLast() },
            try tampered("one byte over", "Malformed", .messageMalformed) { $0.append(0) },
            try tampered("empty", "Malformed", .messageMalformed) { $0 = [] },
            try tampered("the longest envelope plus one byte", "Malformed", .messageMalformed) {
                $0 += [UInt8](repeating: 0, count: MessageEnvelope.maxLength + 1 - $0.count)
            },
            try tampered("a ratchet key of small order (zero)", "Malformed", .messageMalformed) {
                $0.replaceSubrange(1..<33, with: [UInt8](repeating: 0, count: 32))
            },
            try tampered("a non-canonical ratchet key (top bit set)", "Malformed", .messageMalformed) {
                $0[32] |= 0x80
            },
        ]

        for (epoch, flag, comment) in [
            (UInt32(1), "MovedToAnotherEpoch", "sealed in the same pair's conversation of epoch 1"),
            (0, "MovedToAnotherMatch", "sealed by the same sender for a third member"),
        ] {
            // Side A's first-chain message, moved: in the other match the sender is side A too.
            var s = try Script(mentorship, comment, [flag, "FirstChain", "StateUnchanged"])
            var other = mentorship
            other.epoch = epoch
            if flag == "MovedToAnotherMatch" {
                if other.first == s.b { other.first = "erin" } else { other.second = "erin" }
            }
            var elsewhere = try Script(other, "elsewhere: " + comment, [])
            precondition(elsewhere.a == s.a, "the moved message is not a first-chain message")
            let moved = try elsewhere.send(s.a, hello)
            try s.receive(s.b, moved, error: auth)
            try s.receive(s.b, s.send(s.a, hello))
            tests.append(s.finished())
        }

        var s = try Script(
            peers, "a first-chain message replayed, at once and after B's turns", ["Replay", "FirstChain"])
        let firstChain = try s.send(s.a, hello)
        try s.receive(s.b, firstChain)
        try s.receive(s.b, firstChain, error: .messageReplayed)
        try s.receive(s.a, s.send(s.b, hello))
        try s.receive(s.b, s.send(s.a, hello))
        try s.receive(s.a, s.send(s.b, hello))
        try s.receive(s.b, firstChain, error: .messageReplayed)
        tests.append(s.finished())

        s = try Script(
            mentorship, "a restored A cannot read B's reply on B's later chain", ["RestoredCannotRead", "SecondStart"])
        try s.receive(s.b, s.send(s.a, hello))
        try s.receive(s.a, s.send(s.b, hello))
        try s.receive(s.b, s.send(s.a, hello))
        try s.start(s.a)
        try s.receive(s.b, s.send(s.a, #"{"type":"text","text":"restored"}"#))
        try s.receive(s.a, s.send(s.b, #"{"type":"text","text":"welcome back"}"#), error: auth)
        tests.append(s.finished())

        s = try Script(peers, "the first chain of a 21st start of A", ["StartLimit", "SecondStart", "StateUnchanged"])
        var twentieth: [UInt8] = []
        for _ in 1...Conversation.maxFirstChains {
            try s.receive(s.b, s.send(s.a, hello))
            twentieth = try s.send(s.a, hello)
            try s.start(s.a)
        }
        try s.receive(s.b, s.send(s.a, hello), error: .messageOutsideWindow)
        try s.receive(s.b, twentieth)
        tests.append(s.finished())

        s = try Script(mentorship, "the same envelope twice", ["Replay"])
        let once = try s.send(s.a, hello)
        try s.receive(s.b, once)
        try s.receive(s.b, once, error: .messageReplayed)
        tests.append(s.finished())

        s = try Script(peers, "a skipped message read, then replayed", ["Replay", "Reordered"])
        let (first, second) = (try s.send(s.b, hello), try s.send(s.b, hello))
        try s.receive(s.a, second)
        try s.receive(s.a, first)
        try s.receive(s.a, first, error: .messageReplayed)
        tests.append(s.finished())

        s = try Script(mentorship, "a message of a chain the receiver has closed, replayed", ["Replay"])
        let old = try s.send(s.a, hello)
        try s.receive(s.b, old)
        try s.receive(s.a, s.send(s.b, hello))
        try s.receive(s.b, s.send(s.a, hello))
        try s.receive(s.b, old, error: .messageReplayed)
        tests.append(s.finished())

        s = try Script(mentorship, "message 102 of A's first chain read first", ["OutsideWindow", "FirstChain"])
        try s.receive(s.b, s.send(s.a, hello, count: 102), error: .messageOutsideWindow)
        tests.append(s.finished())

        s = try Script(peers, "message 102 of a new chain read first", ["OutsideWindow"])
        try s.receive(s.a, s.send(s.b, hello, count: 102), error: .messageOutsideWindow)
        tests.append(s.finished())

        s = try Script(mentorship, "a new chain whose PN leaves 102 unread messages behind", ["OutsideWindow"])
        try s.receive(s.b, s.send(s.a, hello))
        try s.receive(s.a, s.send(s.b, hello))
        try s.receive(s.b, s.send(s.a, hello))
        try s.send(s.a, hello, count: 102)
        try s.receive(s.a, s.send(s.b, hello))
        try s.receive(s.b, s.send(s.a, hello), error: .messageOutsideWindow)
        tests.append(s.finished())

        s = try Script(mentorship, "A receives its own first-chain envelope", ["WrongSide", "FirstChain"])
        try s.receive(s.a, s.send(s.a, hello), error: .messageWrongSide)
        tests.append(s.finished())

        s = try Script(peers, "B receives its own envelope", ["WrongSide"])
        try s.receive(s.b, s.send(s.b, hello), error: .messageWrongSide)
        tests.append(s.finished())

        s = try Script(mentorship, "B receives its own envelope of a chain it has retired", ["WrongSide"])
        let retired = try s.send(s.b, hello)
        try s.receive(s.a, retired)
        try s.receive(s.b, s.send(s.a, hello))
        try s.receive(s.b, retired, error: .messageWrongSide)
        tests.append(s.finished())

        // RETIRED_OWN keeps 20 keys: after 20 of B's DH ratchet steps b1 is still named, after 21 it is not.
        for (steps, code, flag) in [
            (Conversation.maxRememberedKeys, ReciprocityError.Code.messageWrongSide, "WrongSide"),
            (Conversation.maxRememberedKeys + 1, .messageAuthenticationFailed, "ForgottenKey"),
        ] {
            var s = try Script(
                peers, "B's own first envelope, reflected after \(steps) of its ratchet steps", [flag, "LongRun"])
            let ancient = try s.send(s.b, hello)
            try s.receive(s.a, ancient)
            for _ in 0..<steps {
                try s.receive(s.b, s.send(s.a, hello))
                try s.receive(s.a, s.send(s.b, hello))
            }
            try s.receive(s.b, ancient, error: code)
            tests.append(s.finished())
        }

        let body = Array("hello".utf8)
        for (comment, padded) in [
            ("a padding byte is not zero", [0, 5] + body + [0, 1] + [UInt8](repeating: 0, count: 247)),
            ("the length says 255 in a 256-byte size class", [0, 255] + [UInt8](repeating: 0x78, count: 254)),
            ("a 5-byte payload padded to 1,024 bytes", [0, 5] + body + [UInt8](repeating: 0, count: 1017)),
            ("the payload is not UTF-8", [0, 2, 0xc3, 0x28] + [UInt8](repeating: 0, count: 252)),
        ] as [(String, [UInt8])] {
            var s = try Script(peers, comment, ["BadPadding", "StateUnchanged"])
            try s.receive(s.b, s.forge(s.a, padded: padded), error: .invalidMessagePadding)
            try s.receive(s.b, s.send(s.a, hello))
            tests.append(s.finished())
        }
        return tests
    }
}
