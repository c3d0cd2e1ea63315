import Foundation
import ReciprocityCore

extension VectorGenerator {
    /// The vectors of Specs/backup.md section 2.1 (how a reader reads JSON), on the typical backup `good` and on
    /// authentic files with unusual payloads: numbers written with a fraction or an exponent, integers of any size,
    /// duplicate names (the last counts), the byte order mark, the depth limit, escapes, and bytes that are not UTF-8.
    static func backupReadingVectors(good: KeyBackup.Envelope, passphrase: String, payload: String)
        throws -> (opening: [BackupVector], refused: [BackupVector])
    {
        let text = good.text
        let key = Base64URL.encode(try privateKey("alice"))
        func opens(
            _ comment: String, _ file: String, sealed: KeyBackup.Envelope = good, payload plain: String = payload
        )
            throws -> BackupVector
        {
            let privateKey = try KeyBackup.checkPayload(Array(plain.utf8)).privateKey
            return BackupVector(
                comment: comment, flags: ["JSON"], passphrase: passphrase, backup: file, payload: plain,
                associatedData: String(decoding: sealed.associatedData, as: UTF8.self),
                derivedKey: Hex.encode(
                    try KeyBackup.deriveKey(passphrase: passphrase, salt: sealed.salt, iterations: sealed.iterations)),
                privateKey: Hex.encode(privateKey),
                publicKey: Hex.encode(try PrivateKey(rawRepresentation: privateKey).publicKey.bytes), result: "valid")
        }
        /// An authentic file holding `plain` as its payload, which opens.
        func opensSealed(_ comment: String, label: String, _ plain: String) throws -> BackupVector {
            let sealed = try sealedUnchecked("json \(label)", passphrase: passphrase, Array(plain.utf8))
            return try opens(comment, sealed.text, sealed: sealed, payload: plain)
        }
        func refused(_ comment: String, _ file: String, _ error: ReciprocityError.Code) -> BackupVector {
            BackupVector(
                comment: comment, flags: ["JSON"], passphrase: passphrase, backup: file, result: "invalid",
                error: error.rawValue)
        }
        func refusedBytes(_ comment: String, _ bytes: [UInt8], _ error: ReciprocityError.Code) -> BackupVector {
            BackupVector(
                comment: comment, flags: ["JSON"], passphrase: passphrase, backupHex: Hex.encode(bytes),
                result: "invalid", error: error.rawValue)
        }
        func sealedRefused(_ comment: String, label: String, _ plain: [UInt8]) throws -> BackupVector {
            refused(
                comment, try sealedUnchecked("json \(label)", passphrase: passphrase, plain).text, .backupInvalidPayload
            )
        }
        /// The typical file with its `"version": 1,` or `"iterations": 1000,` written otherwise.
        func version(_ written: String, in file: String = text) -> String {
            file.replacingOccurrences(of: "\"version\": 1,", with: "\"version\": \(written),")
        }
        func iterations(_ written: String) -> String {
            text.replacingOccurrences(of: "\"iterations\": 1000,", with: "\"iterations\": \(written),")
        }
        /// A version 2 file with one more member: section 5 step 1 (JSON) comes before step 2 (the version).
        func version2(_ member: String) -> String { version("2, \(member)") }  // member: `"x": value`
        func nested(_ levels: Int) -> String {
            String(repeating: "[", count: levels) + String(repeating: "]", count: levels)
        }
        func payloadWith(_ state: String) -> String { "{\"privateKey\":\"\(key)\",\"state\":\(state)}" }

        let opening = [
            try opens("version 1.0 is the integer 1", version("1.0")),
            try opens("version 1e0 is the integer 1", version("1e0")),
            try opens("version 1.0000000000000001 rounds to the integer 1", version("1.0000000000000001")),
            try opens("iterations 1000.0: the associated data writes 1000", iterations("1000.0")),
            try opens("iterations 1E3", iterations("1E3")),
            try opens("version 2, then version 1: the last of duplicate names counts", version("2, \"version\": 1")),
            try opens(
                "a first format of another name, then the right one",
                text.replacingOccurrences(of: "{\n", with: "{\"format\": \"x\",\n")),
            try opens(
                "iterations 1001, then 1000: the first one changes nothing",
                text.replacingOccurrences(of: "\"version\": 1,", with: "\"version\": 1, \"iterations\": 1001,")),
            try opens("a byte order mark before the object", "\u{FEFF}" + text),
            try opens("whitespace after the object", text + " \t\r\n\n"),
            try opens(
                "the format's name with an escape",
                text.replacingOccurrences(of: "reciprocity-key-backup\"", with: "reciprocity-key-backu\\u0070\"")),
            try opensSealed(
                "a state member of 1e400 (an infinity, allowed where nothing needs an integer)", label: "infinity",
                payloadWith("{\"x\":1e400}")),
            try opensSealed(
                "a state member with an escaped lone surrogate", label: "surrogate", payloadWith("{\"x\":\"\\ud800\"}")),
            try opensSealed(
                "privateKey not base64url, then the key: the last counts", label: "duplicate key",
                "{\"privateKey\":\"bad\",\"privateKey\":\"\(key)\",\"state\":{}}"),
            try opensSealed(
                "state a string, then an object: the last counts", label: "duplicate state",
                "{\"privateKey\":\"\(key)\",\"state\":\"x\",\"state\":{}}"),
            try opensSealed(
                "a byte order mark before the payload", label: "payload bom", "\u{FEFF}" + payloadWith("{}")),
            try opensSealed(
                "a payload nested 512 levels deep", label: "deep 512", payloadWith("{\"x\":\(nested(510))}")),
        ]
        let refusals = [
            refused("version 01 (a leading zero is not JSON)", version("01"), .backupMalformed),
            refused("version 1.5", version("1.5"), .backupMalformed),
            refused("version 1e400 (an infinity)", version("1e400"), .backupMalformed),
            refused(
                "version 1 followed by 400 zeros (an infinity)", version("1" + String(repeating: "0", count: 400)),
                .backupMalformed),
            refused("version NaN", version("NaN"), .backupMalformed),
            refused("version true", version("true"), .backupMalformed),
            refused("version null", version("null"), .backupMalformed),
            refused("version -0 is the integer 0", version("-0"), .backupUnsupportedVersion),
            refused("version 2.0 is the integer 2", version("2.0"), .backupUnsupportedVersion),
            refused("version 2^53 + 1", version("9007199254740993"), .backupUnsupportedVersion),
            refused("version 2^64", version("18446744073709551616"), .backupUnsupportedVersion),
            refused("version 1, then version 2", version("1, \"version\": 2"), .backupUnsupportedVersion),
            refused(
                "iterations 1000.0000000000001 is not an integer", iterations("1000.0000000000001"), .backupMalformed),
            refused("iterations 1e400", iterations("1e400"), .backupMalformed),
            refused("iterations Infinity", iterations("Infinity"), .backupMalformed),
            refused("iterations 01000", iterations("01000"), .backupMalformed),
            refused("iterations +1000", iterations("+1000"), .backupMalformed),
            refused("iterations 1000.", iterations("1000."), .backupMalformed),
            refused("iterations -0", iterations("-0"), .backupIterationsOutOfRange),
            refused("iterations 2^53 + 1", iterations("9007199254740993"), .backupIterationsOutOfRange),
            refused("iterations 2^63", iterations("9223372036854775808"), .backupIterationsOutOfRange),
            refused("iterations 2^64", iterations("18446744073709551616"), .backupIterationsOutOfRange),
            refused("iterations 1e20", iterations("1e20"), .backupIterationsOutOfRange),
            refused(
                "iterations 1000, then 1001: the last counts, and the checksum covers 1000",
                iterations("1000, \"iterations\": 1001"), .backupDamaged),
            refused(
                "the right format, then another",
                text.replacingOccurrences(of: "\"version\": 1,", with: "\"version\": 1, \"format\": \"x\","),
                .backupMalformed),
            refused("version 2 and NaN in a member a reader ignores", version2("\"x\": NaN"), .backupMalformed),
            refused("version 2 and -Infinity in a member", version2("\"x\": -Infinity"), .backupMalformed),
            refused(
                "version 2 and 1e400 in a member (that is JSON, so the version decides)", version2("\"x\": 1e400"),
                .backupUnsupportedVersion),
            refused(
                "version 2 and an escaped lone surrogate", version2("\"x\": \"\\ud800\""), .backupUnsupportedVersion),
            refused(
                "version 2 and a member nested to level 512", version2("\"x\": \(nested(511))"),
                .backupUnsupportedVersion),
            refused("version 2 and a member nested to level 513", version2("\"x\": \(nested(512))"), .backupMalformed),
            refused("version 2 and a string in single quotes", version2("\"x\": 'y'"), .backupMalformed),
            refused("version 2 and a comment", version("2 /* x */"), .backupMalformed),
            refused("version 2 and a raw NUL inside a string", version2("\"x\": \"a\u{0}b\""), .backupMalformed),
            refused("version 2 and a raw tab inside a string", version2("\"x\": \"a\tb\""), .backupMalformed),
            refused("a trailing comma", text.replacingOccurrences(of: "\"\n}", with: "\",\n}"), .backupMalformed),
            refused("something after the object", text + "x", .backupMalformed),
            refused("a form feed after the object (not JSON whitespace)", text + "\u{C}", .backupMalformed),
            refused("two byte order marks", "\u{FEFF}\u{FEFF}" + text, .backupMalformed),
            refusedBytes(
                "version 2 and a byte 0xFF in a string",
                Array(version2("\"x\": \"\u{1}\"").utf8).map { $0 == 1 ? 0xFF : $0 },
                .backupMalformed),
            refusedBytes(
                "version 2 and an encoded surrogate (ED A0 80) in a string",
                Array(version2("\"x\": \"\u{1}\"").utf8).flatMap { $0 == 1 ? [0xED, 0xA0, 0x80] : [$0] },
                .backupMalformed),
            refusedBytes(
                "version 2 and an overlong slash (C0 AF) in a string",
                Array(version2("\"x\": \"\u{1}\"").utf8).flatMap { $0 == 1 ? [0xC0, 0xAF] : [$0] }, .backupMalformed),
            refusedBytes(
                "the typical file in UTF-16 with a byte order mark",
                [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }, .backupMalformed),
            try sealedRefused("a state member NaN", label: "nan", Array(payloadWith("{\"x\":NaN}").utf8)),
            try sealedRefused(
                "the key, then a privateKey not base64url: the last counts", label: "duplicate key 2",
                Array("{\"privateKey\":\"\(key)\",\"privateKey\":\"bad\",\"state\":{}}".utf8)),
            try sealedRefused(
                "privateKey a number", label: "number key", Array("{\"privateKey\":5,\"state\":{}}".utf8)),
            try sealedRefused(
                "a payload nested 513 levels deep", label: "deep 513", Array(payloadWith("{\"x\":\(nested(511))}").utf8)
            ),
            try sealedRefused(
                "a payload with a byte 0xFF in a string", label: "payload ff",
                Array(payloadWith("{\"x\":\"\u{1}\"}").utf8).map { $0 == 1 ? 0xFF : $0 }),
            try sealedRefused(
                "something after the payload", label: "payload trailing", Array((payloadWith("{}") + "x").utf8)),
        ]
        return (opening, refusals)
    }
}
