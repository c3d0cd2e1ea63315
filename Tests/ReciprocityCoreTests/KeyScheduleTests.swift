import Foundation
import Testing

@testable import ReciprocityCore

@Suite struct KeyScheduleTests {
    let program = try! ProgramID("acme-mentoring")

    func context(_ relation: Relation, epoch: UInt32 = 0) -> InterestContext {
        InterestContext(program: program, relation: relation, epoch: epoch)
    }

    @Test func mentorAndMenteeDeriveTheSameTokenAndEachOthersTags() throws {
        let alice = try PrivateKey()
        let bob = try PrivateKey()
        let aliceHandle = try Handle("alice")
        let bobHandle = try Handle("bob")
        // alice wants bob as her mentor; bob wants to mentor alice.
        let fromAlice = try KeySchedule.derive(
            context: context(.mentorship), me: alice, handle: aliceHandle, role: .mentee,
            other: Party(handle: bobHandle, publicKey: bob.publicKey))
        let fromBob = try KeySchedule.derive(
            context: context(.mentorship), me: bob, handle: bobHandle, role: .mentor,
            other: Party(handle: aliceHandle, publicKey: alice.publicKey))
        #expect(fromAlice.token == fromBob.token)
        #expect(fromAlice.ownPosition == .second && fromBob.ownPosition == .first)
        #expect(fromAlice.verifies(counterpartTag: fromBob.ownTag))
        #expect(fromBob.verifies(counterpartTag: fromAlice.ownTag))
        #expect(fromAlice.ownTag != fromBob.ownTag)
        #expect(fromAlice.token.bytes != fromAlice.ownTag.bytes)
        // A tag the server made up, or the submitter's own tag echoed back, does not verify.
        #expect(!fromAlice.verifies(counterpartTag: try .random()))
        #expect(!fromAlice.verifies(counterpartTag: fromAlice.ownTag))
    }

    @Test func directionEpochProgramAndRelationEachChangeTheToken() throws {
        let alice = try PrivateKey()
        let bob = try PrivateKey()
        let bobParty = Party(handle: try Handle("bob"), publicKey: bob.publicKey)
        let handle = try Handle("alice")
        func token(_ context: InterestContext, _ role: Role) throws -> InterestToken {
            try KeySchedule.derive(context: context, me: alice, handle: handle, role: role, other: bobParty).token
        }
        let base = try token(context(.mentorship), .mentee)
        let variants = [
            try token(context(.mentorship), .mentor),
            try token(context(.mentorship, epoch: 1), .mentee),
            try token(InterestContext(program: ProgramID("other-program"), relation: .mentorship, epoch: 0), .mentee),
            try token(context(.peer), .peer),
        ]
        #expect(Set(variants + [base]).count == 5)
        #expect(try token(context(.mentorship), .mentee) == base)
    }

    @Test func peersDeriveTheSameTokenRegardlessOfWhoStarts() throws {
        let dave = try PrivateKey()
        let erin = try PrivateKey()
        let daveHandle = try Handle("dave")
        let erinHandle = try Handle("erin")
        let a = try KeySchedule.derive(
            context: context(.peer), me: dave, handle: daveHandle, role: .peer,
            other: Party(handle: erinHandle, publicKey: erin.publicKey))
        let b = try KeySchedule.derive(
            context: context(.peer), me: erin, handle: erinHandle, role: .peer,
            other: Party(handle: daveHandle, publicKey: dave.publicKey))
        #expect(a.token == b.token)
        #expect(a.ownPosition == b.ownPosition.other)
        #expect(a.ownPosition == (dave.publicKey < erin.publicKey ? .first : .second))
        #expect(a.verifies(counterpartTag: b.ownTag) && b.verifies(counterpartTag: a.ownTag))
    }

    @Test func selfMarksAndMisplacedRolesAreRejected() throws {
        let alice = try PrivateKey()
        let other = try PrivateKey()
        let handle = try Handle("alice")
        let cases: [(Role, Party, Relation, ReciprocityError.Code)] = [
            (.mentee, Party(handle: handle, publicKey: other.publicKey), .mentorship, .selfMark),
            (.mentee, Party(handle: try Handle("alias"), publicKey: alice.publicKey), .mentorship, .selfMark),
            (.peer, Party(handle: try Handle("bob"), publicKey: other.publicKey), .mentorship, .invalidRole),
            (.mentor, Party(handle: try Handle("bob"), publicKey: other.publicKey), .peer, .invalidRole),
        ]
        for (role, party, relation, code) in cases {
            let error = #expect(throws: ReciprocityError.self) {
                try KeySchedule.derive(context: context(relation), me: alice, handle: handle, role: role, other: party)
            }
            #expect(error?.code == code)
        }
    }

    @Test func privateKeyRoundTripsAndNeverPrintsItsBytes() throws {
        let key = try PrivateKey()
        let copy = try PrivateKey(rawRepresentation: key.rawRepresentation)
        #expect(copy.publicKey == key.publicKey)
        #expect(key.rawRepresentation.count == 32)
        let hexKey = Hex.encode(key.rawRepresentation)
        let b64Key = Base64URL.encode(key.rawRepresentation)
        for text in [key.description, "\(key)", String(reflecting: key.description)] {
            #expect(!text.contains(hexKey) && !text.contains(b64Key))
            #expect(text.contains("redacted"))
        }
        let token = try InterestToken.random()
        #expect(!"\(token)".contains(token.base64URL))
        #expect(try PrivateKey().publicKey != key.publicKey)
    }
}

@Suite struct InputValidationTests {
    @Test(arguments: ["abc", "a.b", "0-9", "zz_", String(repeating: "x", count: 64), "alice.smith-2"])
    func validNames(_ name: String) throws {
        #expect(try Handle(name).rawValue == name)
        #expect(try ProgramID(name).rawValue == name)
    }

    @Test(arguments: [
        "", "ab", String(repeating: "x", count: 65), "Alice", ".abc", "-abc", "_abc", "a b", "ab\u{00E9}",
        "abc\n", "ab\u{0000}", "ａbc",
    ])
    func invalidNames(_ name: String) {
        #expect(throws: ReciprocityError(.invalidHandle, "handle must be \(NameRule.explanation)")) { try Handle(name) }
        #expect(throws: ReciprocityError(.invalidProgram, "program name must be \(NameRule.explanation)")) {
            try ProgramID(name)
        }
    }

    @Test func publicKeyValidation() throws {
        for length in [0, 31, 33] {
            let error = #expect(throws: ReciprocityError.self) {
                try PublicKey(rawRepresentation: [UInt8](repeating: 9, count: length))
            }
            #expect(error?.code == .invalidLength)
        }
        for point in PublicKey.smallOrderPoints {
            let error = #expect(throws: ReciprocityError.self) { try PublicKey(rawRepresentation: point) }
            #expect(error?.code == .lowOrderPublicKey)
        }
        var highBit = try PrivateKey().publicKey.bytes
        highBit[31] |= 0x80
        #expect(throws: ReciprocityError.self) { try PublicKey(rawRepresentation: highBit) }
        #expect(throws: ReciprocityError.self) { try PrivateKey(rawRepresentation: [UInt8](repeating: 1, count: 31)) }
    }

    @Test func everySmallOrderPointReallyGivesAZeroSecret() throws {
        // The rejection list is exactly the set of points X25519 sends to zero: check it against OpenSSL.
        let key = try PrivateKey()
        for point in PublicKey.smallOrderPoints {
            #expect(throws: ReciprocityError.self) { try X25519.sharedSecret(key.handle, peer: point) }
        }
    }

    @Test func base64URLRoundTripAndStrictness() throws {
        for _ in 0..<64 {
            let token = try InterestToken.random()
            #expect(try InterestToken(base64URL: token.base64URL) == token)
            #expect(token.base64URL.count == 43)
        }
        let good = try InterestToken.random().base64URL
        for bad in [good + "=", String(good.dropLast()), good + "A", "+" + good.dropFirst(), " " + good.dropFirst()] {
            let error = #expect(throws: ReciprocityError.self) { try InterestToken(base64URL: bad) }
            #expect(error?.code == .invalidEncoding)
            #expect(error.map { !$0.reason.contains(bad) } == true)
        }
        #expect(throws: ReciprocityError.self) {
            try InterestToken(rawRepresentation: [UInt8](repeating: 0, count: 16))
        }
    }

    @Test func dummyMarksAreFreshAndWellFormed() throws {
        let marks = try (0..<100).map { _ in try Mark.dummy() }
        #expect(Set(marks.map(\.token)).count == 100)
        #expect(marks.allSatisfy { $0.token.bytes.count == 32 && $0.tag.bytes.count == 32 })
    }
}
