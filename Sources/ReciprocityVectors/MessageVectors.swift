import Foundation
import ReciprocityCore

// The conversation vectors (`reciprocity_messages_v1_test.json`, Specs/messages.md section 10): the test type,
// how this implementation replays a test's script, and (MessageScripts.swift) how the generator writes them.

/// A member of a scripted conversation.
public struct MessageMember: Codable, Sendable {
    public var handle: String
    public var privateKey: String
    public var publicKey: String
}

/// One step of a script: `member` sends, receives, or starts again with no state (a restore).
public struct MessageStep: Codable, Sendable {
    public var member: String
    /// `send`, `receive` or `start`.
    public var action: String
    /// Input of a send (sealed `count` times), output of a receive.
    public var payload: String?
    public var count: Int?
    /// Output of a send (the last one sealed), input of a receive.
    public var envelope: String?
    public var associatedData: String?
    public var aeadKey: String?
    public var aeadNonce: String?
    /// The ratchet key a receive generates when it performs a DH ratchet step, or the one a start generates.
    public var ratchetPrivateKey: String?
    /// The code a refused receive reports (the state stays as it was and the script goes on).
    public var error: String?
}

public struct MessageVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    public var program: String
    public var epoch: Int64
    public var token: String
    public var members: [MessageMember]
    /// The ratchet keys the two starts generate: B's b1, and A's a0 (its first chain).
    public var initialRatchetPrivateKey: String
    public var firstRatchetPrivateKey: String
    // Outputs.
    public var side: String?
    public var staticSharedSecret: String?
    public var rootInfo: String?
    public var rootSecret: String?
    public var steps: [MessageStep]
    public var result: String
    /// The code of the first refused step.
    public var error: String?
}

/// Two live conversations and the steps that drive them: what both the verifier and the generator run.
struct MessageRun {
    private var conversations: [String: Conversation] = [:]
    /// How each member starts (again), given the ratchet key the start generates.
    private var starts: [String: (PrivateKey) throws -> Conversation] = [:]
    let side: String
    let staticSharedSecret: [UInt8]
    let rootInfo: [UInt8]
    let rootSecret: [UInt8]

    init(_ test: MessageVector) throws {
        guard test.members.count == 2 else { throw ReciprocityError(.malformedVectors, "a test has two members") }
        let program = try ProgramID(test.program)
        let epoch = try InterestContext.epoch(test.epoch)
        let token = try InterestToken(rawRepresentation: Hex.decode(test.token))
        let keys = try test.members.map { try PrivateKey(rawRepresentation: Hex.decode($0.privateKey)) }
        let parties = try zip(test.members, keys).map { member, key in
            let stated = try PublicKey(rawRepresentation: Hex.decode(member.publicKey))
            guard stated == key.publicKey else {
                throw ReciprocityError(
                    .malformedVectors, "\(member.handle)'s public key does not match its private key")
            }
            return Party(handle: try Handle(member.handle), publicKey: stated)
        }
        let aIndex = parties[0].publicKey < parties[1].publicKey ? 0 : 1
        for index in 0..<2 {
            let handle = test.members[index].handle
            starts[handle] = { key in
                try Conversation(
                    program: program, epoch: epoch, token: token, me: keys[index], handle: parties[index].handle,
                    peer: parties[1 - index], ratchetKey: { key })
            }
            let initial = index == aIndex ? test.firstRatchetPrivateKey : test.initialRatchetPrivateKey
            conversations[handle] = try starts[handle]!(PrivateKey(rawRepresentation: Hex.decode(initial)))
        }
        side = test.members[aIndex].handle
        staticSharedSecret = try ConversationKeys.staticSecret(keys[0], parties[1].publicKey)
        rootInfo = ConversationKeys.rootInfo(
            program: program, epoch: epoch, a: parties[aIndex], b: parties[1 - aIndex])
        rootSecret = try ConversationKeys.rootSecret(
            token: token.bytes, sharedSecret: staticSharedSecret, info: rootInfo)
    }

    /// Runs `step` and returns it with its outputs (and, for a refused receive, its `error`). `newKey` makes the
    /// key of a DH ratchet step when the step does not give one (the generator's case).
    mutating func execute(_ step: MessageStep, newKey: (() throws -> PrivateKey)? = nil) throws -> MessageStep {
        guard var conversation = conversations[step.member] else {
            throw ReciprocityError(.malformedVectors, "no member \(step.member)")
        }
        var out = step
        switch step.action {
        case "send":
            let padded = try ConversationKeys.pad(Array((step.payload ?? "").utf8))
            // A vector file comes from anyone: a count outside 1...1,000 is a malformed test, not a trap or a hang.
            let count = step.count ?? 1
            guard (1...1000).contains(count) else {
                throw ReciprocityError(.malformedVectors, "a send's count is 1 to 1,000")
            }
            var sealed: Conversation.Sealed?
            for _ in 0..<count { sealed = try conversation.sealPadded(padded) }
            guard let sealed else { throw ReciprocityError(.malformedVectors, "a send without a message") }
            out.envelope = Hex.encode(sealed.envelope)
            out.associatedData = Hex.encode(sealed.associatedData)
            out.aeadKey = Hex.encode(sealed.key)
            out.aeadNonce = Hex.encode(sealed.nonce)
        case "receive":
            var used: PrivateKey?
            do {
                out.payload = try conversation.open(Hex.decode(step.envelope ?? "")) {
                    if let newKey {
                        used = try newKey()
                    } else if let given = step.ratchetPrivateKey {
                        used = try PrivateKey(rawRepresentation: Hex.decode(given))
                    } else {
                        throw ReciprocityError(.malformedVectors, "a DH ratchet step without a ratchetPrivateKey")
                    }
                    return used!
                }
                out.error = nil
            } catch let error as ReciprocityError where error.code != .malformedVectors {
                out.payload = nil
                out.error = error.code.rawValue
            }
            out.ratchetPrivateKey = used.map { Hex.encode([UInt8]($0.rawRepresentation)) }
        case "start":
            guard let given = step.ratchetPrivateKey else {
                throw ReciprocityError(.malformedVectors, "a start without a ratchetPrivateKey")
            }
            conversation = try starts[step.member]!(PrivateKey(rawRepresentation: Hex.decode(given)))
        default:
            throw ReciprocityError(.malformedVectors, "unknown action \(step.action)")
        }
        conversations[step.member] = conversation
        return out
    }

    /// A copy of `member`'s conversation seals `padded` as its next message; the run itself is not changed.
    func forge(_ member: String, padded: [UInt8]) throws -> [UInt8] {
        var copy = conversations[member]!
        return try copy.sealPadded(padded).envelope
    }
}

extension MessageVector: CheckableVector {
    static let algorithm = "RECIPROCITY-MESSAGES-V1"

    func failure() -> String? {
        do {
            var run = try MessageRun(self)
            var wrong: [String] = []
            if side != run.side { wrong.append("side") }
            if staticSharedSecret != Hex.encode(run.staticSharedSecret) { wrong.append("staticSharedSecret") }
            if rootInfo != Hex.encode(run.rootInfo) { wrong.append("rootInfo") }
            if rootSecret != Hex.encode(run.rootSecret) { wrong.append("rootSecret") }
            for (index, step) in steps.enumerated() {
                let out = try run.execute(step)
                let pairs: [(String, String?, String?)] = [
                    ("envelope", step.envelope, out.envelope),
                    ("associatedData", step.associatedData, out.associatedData),
                    ("aeadKey", step.aeadKey, out.aeadKey), ("aeadNonce", step.aeadNonce, out.aeadNonce),
                    ("payload", step.payload, out.payload),
                    ("ratchetPrivateKey", step.ratchetPrivateKey, out.ratchetPrivateKey),
                    ("error", step.error, out.error),
                ]
                wrong += pairs.filter { $0.1 != $0.2 }.map { "step \(index + 1) \($0.0)" }
            }
            let firstError = steps.compactMap(\.error).first
            if result != (firstError == nil ? "valid" : "invalid") || error != firstError { wrong.append("result") }
            return wrong.isEmpty ? nil : "mismatch in " + wrong.joined(separator: ", ")
        } catch {
            return "cannot run: \(error)"
        }
    }
}
