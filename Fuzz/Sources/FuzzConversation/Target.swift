import Foundation
import ReciprocityCore

/// Envelopes come from the server, and so from anyone: every input is opened by both sides of a fixed
/// conversation (after a genuine exchange, so A's first chain as B reads it, both main chains and skipped keys
/// of each exist) and read as a stored state.
/// Each must be a payload or a refusal with a code of Specs/messages.md section 7, never a crash; a refusal must
/// leave the state able to read the genuine envelope that follows.
private let conversations: (Conversation, Conversation, [UInt8], [UInt8]) = {
    let program = try! ProgramID("acme-mentoring")
    let token = InterestToken(uncheckedBytes: [UInt8](repeating: 7, count: 32))
    let alice = try! PrivateKey(rawRepresentation: [UInt8](repeating: 1, count: 32))
    let bob = try! PrivateKey(rawRepresentation: [UInt8](repeating: 2, count: 32))
    let x = try! Conversation(
        program: program, epoch: 1, token: token, me: alice, handle: Handle("alice"),
        peer: Party(handle: Handle("bob"), publicKey: bob.publicKey))
    let y = try! Conversation(
        program: program, epoch: 1, token: token, me: bob, handle: Handle("bob"),
        peer: Party(handle: Handle("alice"), publicKey: alice.publicKey))
    var (a, b) = x.side == .a ? (x, y) : (y, x)
    _ = try! a.seal("first chain, skipped")
    _ = try! b.open(a.seal("hello"))
    _ = try! a.open(b.seal("hi"))
    _ = try! a.seal("skipped")
    let next = try! a.seal("next")
    return (a, b, next, try! b.seal("to alice"))
}()

private let refusals: Set<ReciprocityError.Code> = [
    .messageMalformed, .messageWrongSide, .messageReplayed, .messageOutsideWindow, .messageAuthenticationFailed,
    .invalidMessagePadding,
]

func fuzzOne(_ bytes: [UInt8]) {
    let (a, b, toBob, toAlice) = conversations
    for (conversation, genuine) in [(b, toBob), (a, toAlice)] {
        var side = conversation
        do {
            _ = try side.open(bytes)
        } catch let error as ReciprocityError {
            precondition(refusals.contains(error.code), "unexpected code \(error.code)")
            precondition((try? side.open(genuine)) != nil, "a refusal changed the state")
        } catch {
            preconditionFailure("not a ReciprocityError: \(error)")
        }
    }
    if var stored = try? Conversation(encoded: Data(bytes)) {
        _ = try? stored.seal("x")
        _ = try? stored.open(toBob)
    }
}
