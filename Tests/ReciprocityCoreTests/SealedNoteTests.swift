import Foundation
import Testing

@testable import ReciprocityCore

@Suite struct SealedNoteTests {
    func pair() throws -> (PairwiseMark, PairwiseMark) {
        let alice = try PrivateKey()
        let bob = try PrivateKey()
        let context = InterestContext(program: try ProgramID("acme"), relation: .mentorship, epoch: 3)
        let a = try KeySchedule.derive(
            context: context, me: alice, handle: Handle("alice"), role: .mentee,
            other: Party(handle: Handle("bob"), publicKey: bob.publicKey))
        let b = try KeySchedule.derive(
            context: context, me: bob, handle: Handle("bob"), role: .mentor,
            other: Party(handle: Handle("alice"), publicKey: alice.publicKey))
        return (a, b)
    }

    @Test func onlyTheCounterpartOpensANoteAndEverySealingLooksDifferent() throws {
        let (alice, bob) = try pair()
        let text = "I admire how your team rolled out VDI; coffee? ☕️"
        let first = try alice.sealNote(text)
        let second = try alice.sealNote(text)
        #expect(first.bytes.count == SealedNote.byteCount && second.bytes.count == SealedNote.byteCount)
        // A fresh nonce per sealing: the same note never produces the same bytes.
        #expect(first.bytes.prefix(12) != second.bytes.prefix(12) && first != second)
        #expect(try bob.openCounterpartNote(first) == text)
        #expect(try bob.openCounterpartNote(second) == text)
        // alice cannot open her own note as if it were bob's (the keys are per writer role).
        #expect(throws: ReciprocityError.self) { try alice.openCounterpartNote(first) }
        // An empty note and the longest note are the same size as any other.
        #expect(try alice.sealNote("").bytes.count == SealedNote.byteCount)
        let longest = String(repeating: "é", count: SealedNote.maxNoteBytes / 2)
        #expect(try bob.openCounterpartNote(alice.sealNote(longest)) == longest)
        let error = #expect(throws: ReciprocityError.self) { try alice.sealNote(longest + "x") }
        #expect(error?.code == .noteTooLong)
    }

    @Test func tamperingIsDetectedAndLeavesNoOpenSSLErrorBehind() throws {
        let (alice, bob) = try pair()
        let sealed = try alice.sealNote("hello")
        for index in [0, 11, 12, 300, SealedNote.byteCount - 1] {
            var bytes = sealed.bytes
            bytes[index] ^= 0x80
            let error = #expect(throws: ReciprocityError.self) {
                try bob.openCounterpartNote(SealedNote(rawRepresentation: bytes))
            }
            #expect(error?.code == .noteAuthenticationFailed)
        }
        // The failed verifications above must not leave an error that a later, good call would report.
        #expect(try bob.openCounterpartNote(sealed) == "hello")
        #expect(throws: ReciprocityError.self) { try SealedNote(rawRepresentation: sealed.bytes.dropLast()) }
        #expect(try SealedNote(base64URL: sealed.base64URL) == sealed)
    }
}
