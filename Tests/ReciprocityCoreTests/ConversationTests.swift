import Foundation
import Testing

@testable import ReciprocityCore

/// The conversation ratchet (Specs/messages.md) with real X25519, HKDF and ChaCha20-Poly1305 through OpenSSL.
@Suite struct ConversationTests {
    struct Pair {
        var alice: Conversation
        var bob: Conversation
        let aliceKey: PrivateKey
        let bobKey: PrivateKey
        let token: InterestToken
    }

    static func pair(epoch: UInt32 = 7, token: InterestToken? = nil, alice: PrivateKey? = nil, bob: PrivateKey? = nil)
        throws -> Pair
    {
        let aliceKey = try alice ?? PrivateKey()
        let bobKey = try bob ?? PrivateKey()
        let token = try token ?? InterestToken(uncheckedBytes: SecureBytes.random(count: 32))
        let program = try ProgramID("acme-mentoring")
        let a = try Conversation(
            program: program, epoch: epoch, token: token, me: aliceKey, handle: Handle("alice"),
            peer: Party(handle: Handle("bob"), publicKey: bobKey.publicKey))
        let b = try Conversation(
            program: program, epoch: epoch, token: token, me: bobKey, handle: Handle("bob"),
            peer: Party(handle: Handle("alice"), publicKey: aliceKey.publicKey))
        return Pair(alice: a, bob: b, aliceKey: aliceKey, bobKey: bobKey, token: token)
    }

    func code(_ body: () throws -> Void) -> ReciprocityError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? ReciprocityError)?.code
        }
    }

    @Test func theSidesAreOrderedByPublicKeyAndBothMayWriteFirstAtOnce() throws {
        var pair = try Self.pair()
        #expect(pair.alice.side != pair.bob.side)
        #expect((pair.alice.side == .a) == (pair.aliceKey.publicKey < pair.bobKey.publicKey))
        // Both write before either reads: neither state diverges.
        let fromAlice = try (0..<3).map { try pair.alice.seal("alice \($0)") }
        let fromBob = try (0..<3).map { try pair.bob.seal("bob \($0)") }
        #expect(try fromBob.map { try pair.alice.open($0) } == ["bob 0", "bob 1", "bob 2"])
        #expect(try fromAlice.map { try pair.bob.open($0) } == ["alice 0", "alice 1", "alice 2"])
        // And the turns that follow still open on both sides.
        for turn in 0..<4 {
            #expect(try pair.bob.open(pair.alice.seal("a\(turn)")) == "a\(turn)")
            #expect(try pair.alice.open(pair.bob.seal("b\(turn)")) == "b\(turn)")
        }
    }

    /// Random interleavings: each side writes runs of messages, and the other reads them in a shuffled order
    /// (within the skip window), across many ratchet steps.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomInterleavingsAndReorderingsAllOpen(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var pair = try Self.pair()
        var toBob: [([UInt8], String)] = []
        var toAlice: [([UInt8], String)] = []
        var opened = 0
        for step in 0..<120 {
            switch random.next() % 4 {
            case 0:
                let text = "a\(step)"
                toBob.append((try pair.alice.seal(text), text))
            case 1:
                let text = "b\(step)"
                toAlice.append((try pair.bob.seal(text), text))
            case 2 where !toBob.isEmpty:
                let (envelope, text) = toBob.remove(at: Int(random.next() % UInt64(toBob.count)))
                #expect(try pair.bob.open(envelope) == text)
                opened += 1
            case 3 where !toAlice.isEmpty:
                let (envelope, text) = toAlice.remove(at: Int(random.next() % UInt64(toAlice.count)))
                #expect(try pair.alice.open(envelope) == text)
                opened += 1
            default: break
            }
        }
        for (envelope, text) in toBob.shuffled(using: &random) { #expect(try pair.bob.open(envelope) == text) }
        for (envelope, text) in toAlice.shuffled(using: &random) { #expect(try pair.alice.open(envelope) == text) }
        #expect(opened > 20)
    }

    @Test func longOneSidedRunsAndTheSkipWindowsEdges() throws {
        var pair = try Self.pair()
        let run = try (0...Conversation.maxSkip + 1).map { try pair.alice.seal("m\($0)") }
        // Message 100 arrives first: the 100 keys before it are skipped and kept, then the rest open.
        #expect(try pair.bob.open(run[Int(Conversation.maxSkip)]) == "m100")
        for index in 0..<Int(Conversation.maxSkip) { #expect(try pair.bob.open(run[index]) == "m\(index)") }
        #expect(try pair.bob.open(run[101]) == "m101")
        // A fresh receiver cannot skip 101 keys.
        var fresh = try Self.pair(token: pair.token, alice: pair.aliceKey, bob: pair.bobKey)
        let far = try (0...Conversation.maxSkip + 1).map { try fresh.alice.seal("m\($0)") }.last!
        #expect(code { _ = try fresh.bob.open(far) } == .messageOutsideWindow)
        // A whole chain of 300 read in order, from each side.
        var long = try Self.pair()
        for index in 0..<300 { #expect(try long.bob.open(long.alice.seal("n\(index)")) == "n\(index)") }
        for index in 0..<300 { #expect(try long.alice.open(long.bob.seal("o\(index)")) == "o\(index)") }
    }

    /// Eleven chains that each leave 100 messages unread: 1,100 skipped keys, of which the oldest 100 are dropped.
    @Test func skippedKeysAreBoundedAndTheOldestGoFirst() throws {
        var pair = try Self.pair()
        var (a, b) = pair.alice.side == .a ? (pair.alice, pair.bob) : (pair.bob, pair.alice)
        var firstOfChain: [[UInt8]] = []
        for round in 0..<11 {
            let run = try (0...Conversation.maxSkip).map { try a.seal("r\(round) m\($0)") }
            firstOfChain.append(run[0])
            #expect(try b.open(run.last!) == "r\(round) m100")
            #expect(try a.open(b.seal("ok \(round)")) == "ok \(round)")
        }
        #expect(b.state.skipped.count == Conversation.maxSkippedKeys)
        #expect(code { _ = try b.open(firstOfChain[0]) } == .messageReplayed)
        #expect(try b.open(firstOfChain[1]) == "r1 m0")
        #expect(try b.open(firstOfChain[10]) == "r10 m0")
        pair.alice = a
    }

    @Test func everyRefusalHasItsCodeAndLeavesTheStateUnchanged() throws {
        var pair = try Self.pair()
        let first = try pair.alice.seal("hello")
        var altered = first
        altered[100] ^= 0x01
        #expect(code { _ = try pair.bob.open(altered) } == .messageAuthenticationFailed)
        var alteredHeader = first
        alteredHeader[40] ^= 0x01  // the message number
        #expect(code { _ = try pair.bob.open(alteredHeader) } == .messageAuthenticationFailed)
        // Moved to another epoch of the same pair, or to another match of the sender.
        var otherEpoch = try Self.pair(epoch: 8, token: pair.token, alice: pair.aliceKey, bob: pair.bobKey)
        #expect(code { _ = try otherEpoch.bob.open(first) } == .messageAuthenticationFailed)
        // The other match's peer sits on the same side as Bob, or the refusal would be the side rule's instead.
        var otherMatch = try Self.pair(alice: pair.aliceKey)
        while otherMatch.bob.side != pair.bob.side { otherMatch = try Self.pair(alice: pair.aliceKey) }
        #expect(code { _ = try otherMatch.bob.open(first) } == .messageAuthenticationFailed)
        // Reflected to its sender.
        #expect(code { _ = try pair.alice.open(first) } == .messageWrongSide)
        // Malformed shapes.
        #expect(code { _ = try pair.bob.open(first.dropLast()) } == .messageMalformed)
        #expect(code { _ = try pair.bob.open([2] + first.dropFirst()) } == .messageMalformed)
        #expect(code { _ = try pair.bob.open([UInt8]()) } == .messageMalformed)
        var lowOrder = first
        lowOrder.replaceSubrange(1..<33, with: [UInt8](repeating: 0, count: 32))
        #expect(code { _ = try pair.bob.open(lowOrder) } == .messageMalformed)
        // None of it moved the state: the genuine envelope still opens, once.
        #expect(try pair.bob.open(first) == "hello")
        #expect(code { _ = try pair.bob.open(first) } == .messageReplayed)
        // A replay from a chain the receiver has since closed.
        let reply = try pair.bob.seal("hi")
        #expect(try pair.alice.open(reply) == "hi")
        #expect(try pair.bob.open(pair.alice.seal("next turn")) == "next turn")
        #expect(code { _ = try pair.bob.open(first) } == .messageReplayed)
        #expect(code { _ = try pair.alice.open(reply) } == .messageReplayed)
        // Far ahead in a new chain.
        var ahead = try Self.pair()
        let envelopes = try (0...Conversation.maxSkip + 1).map { _ in try ahead.bob.seal("x") }
        #expect(code { _ = try ahead.alice.open(envelopes.last!) } == .messageOutsideWindow)
        #expect(try ahead.alice.open(envelopes[0]) == "x")
    }

    /// Random bytes in every envelope shape, and random changes to genuine envelopes, are refused with a code of
    /// section 7, never a crash, and leave the receiver able to read the genuine envelope.
    @Test func randomEnvelopesAreRefusedWithACode() throws {
        var random = SplitMix64(seed: 26)
        var pair = try Self.pair()
        let codes: Set<ReciprocityError.Code> = [
            .messageMalformed, .messageWrongSide, .messageReplayed, .messageOutsideWindow,
            .messageAuthenticationFailed, .invalidMessagePadding,
        ]
        let genuine = try pair.alice.seal("genuine")
        for round in 0..<600 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0: bytes = [1] + random.bytes(MessageEnvelope.lengths[round % 9 / 3] - 1)
            case 1:
                bytes = genuine
                for _ in 0...(random.next() % 4) {
                    bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(1 + random.next() % 255)
                }
            default: bytes = random.bytes(Int(random.next() % 400))
            }
            let failure = code { _ = try pair.bob.open(bytes) }
            #expect(failure.map(codes.contains) == true, "round \(round): \(String(describing: failure))")
        }
        #expect(try pair.bob.open(genuine) == "genuine")
    }

    @Test func paddingHidesAllButTheSizeClass() throws {
        var pair = try Self.pair()
        for (length, padded) in [(0, 256), (254, 256), (255, 1024), (1022, 1024), (1023, 4096), (4094, 4096)] {
            let text = String(repeating: "é", count: length / 2) + (length % 2 == 1 ? "x" : "")
            let envelope = try pair.alice.seal(text)
            #expect(envelope.count == MessageEnvelope.headerLength + padded + MessageEnvelope.tagLength)
            #expect(MessageEnvelope.isWellFormed(envelope))
            #expect(try pair.bob.open(envelope) == text)
        }
        #expect(code { _ = try pair.alice.seal(String(repeating: "x", count: 4095)) } == .messageTooLong)
        #expect(try pair.bob.open(pair.alice.seal("after")) == "after")
    }

    @Test func aStoredStateContinuesAndAMalformedOneIsRefused() throws {
        var pair = try Self.pair()
        #expect(try pair.bob.open(pair.alice.seal("one")) == "one")
        var bob = try Conversation(encoded: pair.bob.encoded())
        #expect(try pair.alice.open(bob.seal("two")) == "two")
        #expect(try bob.open(pair.alice.seal("three")) == "three")
        #expect(!"\(bob)".contains(Base64URL.encode(pair.bobKey.rawRepresentation)))
        for bad in [
            Data(), Data("{}".utf8),
            Data(
                String(decoding: try bob.encoded(), as: UTF8.self)
                    .replacingOccurrences(of: "\"rootKey\":[", with: "\"rootKey\":[1,").utf8),
        ] {
            #expect(code { _ = try Conversation(encoded: bad) } == .invalidConversationState)
        }
    }

    /// Two starts of side A for one match (a restore from a key backup made before the conversation, or that backup
    /// imported on a second device) never seal two messages under one AEAD key and nonce, and B reads both starts.
    @Test func twoStartsOfANeverRepeatAKeyAndNonce() throws {
        let pair = try Self.pair()
        var b = pair.alice.side == .b ? pair.alice : pair.bob
        var pairs: Set<[UInt8]> = []
        var keys: Set<[UInt8]> = []
        for start in 0..<2 {
            let again = try Self.pair(epoch: 7, token: pair.token, alice: pair.aliceKey, bob: pair.bobKey)
            var a = again.alice.side == .a ? again.alice : again.bob
            for index in 0..<5 {
                let sealed = try a.sealPadded(ConversationKeys.pad(Array("start \(start) message \(index)".utf8)))
                #expect(pairs.insert(sealed.key + sealed.nonce).inserted, "start \(start) message \(index)")
                #expect(keys.insert(sealed.key).inserted)
                #expect(try b.open(sealed.envelope) == "start \(start) message \(index)")
            }
        }
    }

    /// What a restored side A can and cannot do (Specs/messages.md section 5): its new first chain opens on B however
    /// far B has gone, and only once; B's messages on B's later chains do not open on it; B reads at most 20 starts.
    @Test func aRestoredAWritesAgainButCannotReadBsLaterChains() throws {
        let pair = try Self.pair()
        let aliceIsA = pair.alice.side == .a
        var a = aliceIsA ? pair.alice : pair.bob
        var b = aliceIsA ? pair.bob : pair.alice
        for turn in 0..<3 {
            #expect(try b.open(a.seal("a\(turn)")) == "a\(turn)")
            #expect(try a.open(b.seal("b\(turn)")) == "b\(turn)")
        }
        func restart() throws -> Conversation {
            let again = try Self.pair(epoch: 7, token: pair.token, alice: pair.aliceKey, bob: pair.bobKey)
            return aliceIsA ? again.alice : again.bob
        }
        var restored = try restart()
        let hello = try restored.seal("restored")
        #expect(try b.open(hello) == "restored")
        #expect(code { _ = try b.open(hello) } == .messageReplayed)
        // B's reply on its current chain: the restored A has not the root it hangs off.
        let reply = try b.seal("welcome back")
        #expect(code { _ = try restored.open(reply) } == .messageAuthenticationFailed)
        // The old A (its state kept) still reads it: the restore changed nothing on B's main chain.
        #expect(try a.open(reply) == "welcome back")
        // A's first chain keeps a0's public key only: the private half is gone from the stored state.
        let chosen = try PrivateKey()
        let fresh = try Conversation(
            program: ProgramID("acme-mentoring"), epoch: 7, token: pair.token,
            me: aliceIsA ? pair.aliceKey : pair.bobKey,
            handle: Handle(aliceIsA ? "alice" : "bob"),
            peer: Party(
                handle: Handle(aliceIsA ? "bob" : "alice"),
                publicKey: (aliceIsA ? pair.bobKey : pair.aliceKey).publicKey),
            ratchetKey: { chosen })
        let stored = String(decoding: try fresh.encoded(), as: UTF8.self)
        let numbers = { (bytes: [UInt8]) in bytes.map(String.init).joined(separator: ",") }
        #expect(stored.contains(numbers(chosen.publicKey.bytes)))
        #expect(!stored.contains(numbers([UInt8](chosen.rawRepresentation))))
        // B reads the first chains of 20 starts, and refuses a 21st without changing its state.
        for _ in b.state.firstChains.count..<Conversation.maxFirstChains {
            restored = try restart()
            #expect(try b.open(restored.seal("again")) == "again")
        }
        restored = try restart()
        #expect(code { _ = try b.open(restored.seal("once too often")) } == .messageOutsideWindow)
        #expect(try a.open(b.seal("still here")) == "still here")
    }

    /// What Specs/messages.md section 8 claims: a later compromise of a device (its static key and its current
    /// state) does not open messages read before; A's first-chain messages stay open to whoever later holds B's
    /// static private key (not A's: a0 is gone, aRestoredAWritesAgainButCannotReadBsLaterChains shows it), and
    /// B's first-chain messages to whoever later holds A's.
    @Test func forwardSecrecyIsExactlyWhatTheSpecSays() throws {
        let pair = try Self.pair()
        let aliceIsA = pair.alice.side == .a
        var a = aliceIsA ? pair.alice : pair.bob
        var b = aliceIsA ? pair.bob : pair.alice
        let bKey = aliceIsA ? pair.bobKey : pair.aliceKey
        let aParty = Party(
            handle: try Handle(aliceIsA ? "alice" : "bob"),
            publicKey: (aliceIsA ? pair.aliceKey : pair.bobKey).publicKey)
        let bHandle = try Handle(aliceIsA ? "bob" : "alice")
        let beforeReply = try a.seal("sent before any reply")
        let fromB = try b.seal("b's first")
        #expect(try b.open(beforeReply) == "sent before any reply")
        #expect(try a.open(fromB) == "b's first")
        let afterTurn = try a.seal("after a turn")
        #expect(try b.open(afterTurn) == "after a turn")
        // A thief with B's device now: its current state no longer holds those message keys.
        var stolen = try Conversation(encoded: b.encoded())
        #expect(code { _ = try stolen.open(afterTurn) } == .messageReplayed)
        #expect(code { _ = try stolen.open(beforeReply) } == .messageReplayed)
        // A thief with B's static private key who starts over: A's first-chain message opens (SK and
        // X25519(B static, a0)); the one after the first turn does not.
        var restarted = try Conversation(
            program: ProgramID("acme-mentoring"), epoch: 7, token: pair.token, me: bKey, handle: bHandle, peer: aParty)
        #expect(try restarted.open(beforeReply) == "sent before any reply")
        #expect(code { _ = try restarted.open(afterTurn) } == .messageAuthenticationFailed)
        // A thief with A's static private key who starts over reads B's first chain (it depends on A's static key
        // and b1's public key), but not B's chain after B has read A's second chain.
        #expect(try b.open(a.seal("another")) == "another")
        let bSecondChain = try b.seal("b's second chain")
        let aKey = aliceIsA ? pair.aliceKey : pair.bobKey
        var restartedA = try Conversation(
            program: ProgramID("acme-mentoring"), epoch: 7, token: pair.token, me: aKey, handle: aParty.handle,
            peer: Party(handle: bHandle, publicKey: bKey.publicKey))
        #expect(try restartedA.open(fromB) == "b's first")
        #expect(code { _ = try restartedA.open(bSecondChain) } == .messageAuthenticationFailed)
    }
}
