import Foundation
import ReciprocityCore

/// One test of `reciprocity_backup_v1_test.json` (Specs/backup.md). In a `ReciprocityBackupImportTest` group the
/// reader opens `backup` with `passphrase`; in a `ReciprocityBackupExportTest` group the writer seals `payload`
/// with `passphrase`, `iterations`, `salt` and `nonce`, and must produce `backup` exactly.
public struct BackupVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    public var passphrase: String
    /// Given where the passphrase holds a lone surrogate, which a JSON text can carry and a Swift `String` cannot:
    /// its UTF-16 code units (hex, four digits each), the input of a reader or writer whose strings can hold one.
    /// `passphrase` is then the same with each lone surrogate replaced by U+FFFD (Specs/backup.md section 4 step 1).
    public var passphraseUTF16: String?
    /// The backup file's text: input when importing, output when exporting.
    public var backup: String?
    /// Import input instead of `backup`: the file's bytes (hex), for files that are not UTF-8 text.
    public var backupHex: String?
    // Inputs of an export test.
    public var iterations: Int?
    public var salt: String?
    public var nonce: String?
    /// The decrypted payload (JSON text): output when importing, input when exporting.
    public var payload: String?
    // Outputs, present when result is "valid".
    /// The AES-GCM associated data, an ASCII line.
    public var associatedData: String?
    /// The PBKDF2 output, the AES-256 key (hex).
    public var derivedKey: String?
    /// The private key the payload holds, and its X25519 public key (hex); import tests only.
    public var privateKey: String?
    public var publicKey: String?
    public var result: String
    public var error: String?
}

extension BackupVector: CheckableVector {
    static let algorithm = "RECIPROCITY-BACKUP-V1"
    static let importGroupType = "ReciprocityBackupImportTest"
    static let exportGroupType = "ReciprocityBackupExportTest"

    func failure() -> String? { failure(groupType: Self.importGroupType) }

    func failure(groupType: String) -> String? {
        let exporting = groupType == Self.exportGroupType
        return compare(
            result: result, expectedError: error,
            Result {
                let out = try exporting ? computeExport() : computeImport()
                var fields = [
                    field("associatedData", associatedData, out.associatedData!),
                    field("derivedKey", derivedKey, out.derivedKey!),
                    field("backup", backup, out.backup!),
                ]
                if !exporting {
                    fields += [
                        field("payload", payload, out.payload!), field("privateKey", privateKey, out.privateKey!),
                        field("publicKey", publicKey, out.publicKey!),
                    ]
                }
                return fields
            })
    }

    /// The passphrase typed: `passphraseUTF16` where given, decoded as Swift decodes UTF-16 (each lone surrogate
    /// becomes U+FFFD), else `passphrase`.
    var typedPassphrase: String {
        guard let hex = passphraseUTF16, let bytes = try? Hex.decode(hex), bytes.count % 2 == 0 else {
            return passphrase
        }
        let units = stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        return String(decoding: units, as: UTF16.self)
    }

    func computeImport() throws -> BackupVector {
        let passphrase = typedPassphrase
        let data = try backupHex.map { Data(try Hex.decode($0)) } ?? Data((backup ?? "").utf8)
        let opened = try KeyBackup.open(data, passphrase: passphrase)
        let envelope = try KeyBackup.parse(data)
        var out = self
        out.associatedData = String(decoding: envelope.associatedData, as: UTF8.self)
        out.derivedKey = Hex.encode(
            try KeyBackup.deriveKey(passphrase: passphrase, salt: envelope.salt, iterations: envelope.iterations))
        out.payload = String(decoding: opened.payload, as: UTF8.self)
        out.privateKey = Hex.encode(opened.privateKey)
        out.publicKey = Hex.encode(try PrivateKey(rawRepresentation: opened.privateKey).publicKey.bytes)
        return out
    }

    func computeExport() throws -> BackupVector {
        let passphrase = typedPassphrase
        let salt = try Hex.decode(salt ?? "")
        let nonce = try Hex.decode(nonce ?? "")
        guard salt.count == KeyBackup.saltLength, nonce.count == KeyBackup.nonceLength else {
            throw ReciprocityError(.invalidLength, "a salt is 16 bytes and a nonce 12")
        }
        let envelope = try KeyBackup.seal(
            payload: Array((payload ?? "").utf8), passphrase: passphrase, iterations: iterations ?? 0, salt: salt,
            nonce: nonce)
        var out = self
        out.backup = envelope.text
        out.associatedData = String(decoding: envelope.associatedData, as: UTF8.self)
        out.derivedKey = Hex.encode(
            try KeyBackup.deriveKey(passphrase: passphrase, salt: salt, iterations: envelope.iterations))
        return out
    }
}

extension VectorGenerator {
    /// Deterministic bytes for a label (salts and nonces of the vectors).
    static func backupBytes(_ label: String, count: Int) throws -> [UInt8] {
        Array(try SecureBytes.sha256(Array("reciprocity test vector backup: \(label)".utf8)).prefix(count))
    }

    /// UTF-16 code units as `passphraseUTF16` writes them.
    static func utf16Hex(_ units: [UInt16]) -> String {
        units.map { String(repeating: "0", count: 4 - String($0, radix: 16).count) + String($0, radix: 16) }.joined()
    }

    /// An authentic file (1000 iterations) of `plaintext`, which the sealer would refuse if it is not a payload.
    static func sealedUnchecked(_ label: String, passphrase: String, _ plaintext: [UInt8]) throws -> KeyBackup.Envelope
    {
        let salt = try backupBytes("salt \(label)", count: KeyBackup.saltLength)
        let nonce = try backupBytes("nonce \(label)", count: KeyBackup.nonceLength)
        var out = KeyBackup.Envelope(iterations: 1_000, salt: salt, nonce: nonce, ciphertext: [], checksum: [])
        let key = try KeyBackup.deriveKey(passphrase: passphrase, salt: salt, iterations: 1_000)
        out.ciphertext = try AESGCM.seal(
            key: key, nonce: nonce, plaintext: plaintext, associatedData: out.associatedData)
        out.checksum = try KeyBackup.checksum(out)
        return out
    }

    /// A payload as the command line and the web page write it: the private key and a member's state, with a
    /// pending interest, a dummy and a match.
    static func backupPayload(privateKeyName: String) throws -> String {
        let key = Base64URL.encode(try privateKey(privateKeyName))
        let bob = try publicKey("bob").base64URL
        let carol = try publicKey("carol").base64URL
        func b64(_ label: String) throws -> String { Base64URL.encode(try backupBytes(label, count: 32)) }
        let marks = [
            "{\"counterpartTag\":\"\(try b64("tag-bob-2"))\",\"createdAt\":\"2026-11-20T09:00:00Z\",\"epoch\":3,\"handle\":\"bob\",\"note\":\"Coffee next week?\",\"ownTag\":\"\(try b64("tag-bob-1"))\",\"token\":\"\(try b64("token-bob"))\",\"wants\":\"mentor\"}",
            "{\"createdAt\":\"2026-11-20T09:00:00Z\",\"epoch\":3,\"ownTag\":\"\(try b64("tag-dummy"))\",\"token\":\"\(try b64("token-dummy"))\"}",
            "{\"counterpartTag\":\"\(try b64("tag-carol-2"))\",\"createdAt\":\"2026-11-21T10:30:00Z\",\"epoch\":3,\"handle\":\"carol\",\"matchedAt\":\"2026-11-22T08:15:00Z\",\"ownTag\":\"\(try b64("tag-carol-1"))\",\"token\":\"\(try b64("token-carol"))\",\"wants\":\"peer\"}",
        ]
        let state =
            "{\"credential\":\"rcpc_\(try b64("credential"))\",\"epoch\":3,\"handle\":\"alice\",\"logKey\":\"\(try b64("log-key"))\",\"marks\":[\(marks.joined(separator: ","))],\"padTo\":3,\"pinnedKeys\":{\"bob\":\"\(bob)\",\"carol\":\"\(carol)\"},\"program\":\"acme-mentoring\",\"server\":\"https://reciprocity.example\"}"
        return "{\"privateKey\":\"\(key)\",\"state\":\(state)}"
    }

    static func backupFile() throws -> VectorFile<BackupVector> {
        let passphrase = "correct horse battery staple"
        let payload = try backupPayload(privateKeyName: "alice")
        let backupPayloadDefault = payload
        func envelope(_ label: String, passphrase: String = passphrase, iterations: Int = 1_000, payload: String? = nil)
            throws -> KeyBackup.Envelope
        {
            try KeyBackup.seal(
                payload: Array((payload ?? backupPayloadDefault).utf8), passphrase: passphrase, iterations: iterations,
                salt: backupBytes("salt \(label)", count: KeyBackup.saltLength),
                nonce: backupBytes("nonce \(label)", count: KeyBackup.nonceLength))
        }
        func valid(
            _ comment: String, _ flags: [String], _ sealed: KeyBackup.Envelope, passphrase opening: String = passphrase,
            payload: String? = nil, text: String? = nil
        ) throws -> BackupVector {
            let payload = payload ?? backupPayloadDefault
            let key = try KeyBackup.checkPayload(Array(payload.utf8)).privateKey
            return BackupVector(
                comment: comment, flags: flags, passphrase: opening, backup: text ?? sealed.text, payload: payload,
                associatedData: String(decoding: sealed.associatedData, as: UTF8.self),
                derivedKey: Hex.encode(
                    try KeyBackup.deriveKey(passphrase: opening, salt: sealed.salt, iterations: sealed.iterations)),
                privateKey: Hex.encode(key),
                publicKey: Hex.encode(try PrivateKey(rawRepresentation: key).publicKey.bytes), result: "valid")
        }
        func invalid(
            _ comment: String, _ flags: [String], _ text: String, _ error: ReciprocityError.Code,
            passphrase opening: String = passphrase
        ) -> BackupVector {
            BackupVector(
                comment: comment, flags: flags, passphrase: opening, backup: text, result: "invalid",
                error: error.rawValue)
        }
        /// The envelope with its checksum recomputed after a change (an alteration that fixed the checksum).
        func rechecked(_ envelope: KeyBackup.Envelope) throws -> KeyBackup.Envelope {
            var out = envelope
            out.checksum = try KeyBackup.checksum(out)
            return out
        }
        func replacing(_ text: String, _ field: String, with value: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasPrefix("  \"\(field)\": ")
                    ? "  \"\(field)\": \(value)" + (line.hasSuffix(",") ? "," : "") : String(line)
            }.joined(separator: "\n")
        }

        let good = try envelope("good")
        // Decomposed (NFD) and composed (NFC) spellings of the same passphrase.
        let composed = "cr\u{e8}me br\u{fb}l\u{e9}e pour le petit d\u{e9}jeuner"
        let decomposed = "cre\u{300}me bru\u{302}le\u{301}e pour le petit de\u{301}jeuner"
        let accented = try envelope("nfc", passphrase: decomposed)
        let ligature = try envelope("ligature", passphrase: "\u{fb01}ve \u{fb01}sh \u{fb01}nd \u{fb01}ve \u{fb01}gs")
        let emoji = try envelope("emoji", passphrase: "🔑 mentoring is a two-way street 🌱", iterations: 2_000)
        // A second member's backup with a payload key that is not alice's, and a smaller state.
        let minimal =
            "{\"state\":{\"credential\":\"rcpc_x\",\"handle\":\"dan\",\"marks\":[],\"pinnedKeys\":{},\"program\":\"acme-mentoring\",\"server\":\"http://127.0.0.1:8080\"},\"privateKey\":\"\(Base64URL.encode(try privateKey("dan")))\"}"
        let small = try envelope("minimal", payload: minimal)

        var flippedCiphertext = good
        flippedCiphertext.ciphertext[5] ^= 0x01
        var flippedTag = good
        flippedTag.ciphertext[flippedTag.ciphertext.count - 1] ^= 0x80
        var moreIterations = good
        moreIterations.iterations = 1_001
        var otherSalt = good
        otherSalt.salt[0] ^= 0x01
        var otherNonce = good
        otherNonce.nonce[11] ^= 0x01
        var tooMany = good
        tooMany.iterations = 10_000_001
        var tooFew = good
        tooFew.iterations = 999
        var huge = good
        huge.iterations = 1_000_000_000_000

        func sealedRaw(_ label: String, _ plaintext: String) throws -> String {
            // An authentic file whose payload is not what a backup holds (written below the payload check).
            try sealedUnchecked(label, passphrase: passphrase, Array(plaintext.utf8)).text
        }
        let shortKey = payload.replacingOccurrences(
            of: Base64URL.encode(try privateKey("alice")),
            with: Base64URL.encode(Array(try privateKey("alice").prefix(31))))

        let imports: [BackupVector] = [
            try valid("a backup with a pending interest, a dummy and a match", ["Typical"], good),
            try valid(
                "the passphrase typed decomposed (NFD) opens a backup written with it composed", ["Normalization"],
                accented, passphrase: composed),
            try valid(
                "the passphrase typed composed opens a backup written with it decomposed", ["Normalization"],
                accented, passphrase: decomposed),
            try valid(
                "a passphrase of emoji and spaces, 2000 iterations", ["Typical"], emoji,
                passphrase: "🔑 mentoring is a two-way street 🌱"),
            try valid(
                "a ligature passphrase is not folded (NFC, not NFKC)", ["Normalization"], ligature,
                passphrase: "\u{fb01}ve \u{fb01}sh \u{fb01}nd \u{fb01}ve \u{fb01}gs"),
            try valid(
                "another member's backup, fields of the payload in another order", ["Typical"], small, payload: minimal),
        ]
        let refusals: [BackupVector] = [
            invalid(
                "wrong passphrase", ["WrongPassphrase"], good.text, .backupWrongPassphrase,
                passphrase: "correct horse battery stapler"),
            invalid(
                "the passphrase differs only in case", ["WrongPassphrase"], good.text, .backupWrongPassphrase,
                passphrase: "Correct horse battery staple"),
            invalid(
                "the ligature passphrase folded to ASCII (NFKC) does not open it",
                ["WrongPassphrase", "Normalization"],
                ligature.text, .backupWrongPassphrase, passphrase: "five fish find five figs"),
            invalid("a ciphertext bit flipped", ["Damaged"], flippedCiphertext.text, .backupDamaged),
            invalid("a tag bit flipped", ["Damaged"], flippedTag.text, .backupDamaged),
            invalid(
                "the iteration count changed", ["Damaged", "TamperedParameters"], moreIterations.text, .backupDamaged),
            invalid("the salt changed", ["Damaged", "TamperedParameters"], otherSalt.text, .backupDamaged),
            invalid("the nonce changed", ["Damaged", "TamperedParameters"], otherNonce.text, .backupDamaged),
            invalid(
                "the checksum changed", ["Damaged"],
                replacing(
                    good.text, "checksum", with: "\"\(Base64URL.encode(try backupBytes("other checksum", count: 32)))\""
                ),
                .backupDamaged),
            invalid(
                "a ciphertext bit flipped and the checksum recomputed", ["Altered"],
                try rechecked(flippedCiphertext).text,
                .backupWrongPassphrase),
            invalid(
                "the iteration count changed and the checksum recomputed", ["Altered", "TamperedParameters"],
                try rechecked(moreIterations).text, .backupWrongPassphrase),
            invalid(
                "the salt changed and the checksum recomputed", ["Altered", "TamperedParameters"],
                try rechecked(otherSalt).text, .backupWrongPassphrase),
            invalid(
                "the nonce changed and the checksum recomputed", ["Altered", "TamperedParameters"],
                try rechecked(otherNonce).text, .backupWrongPassphrase),
            invalid(
                "10,000,001 iterations: refused before any work", ["IterationsOutOfRange"], try rechecked(tooMany).text,
                .backupIterationsOutOfRange),
            invalid(
                "10^12 iterations", ["IterationsOutOfRange"], try rechecked(huge).text, .backupIterationsOutOfRange),
            invalid(
                "999 iterations", ["IterationsOutOfRange"], try rechecked(tooFew).text, .backupIterationsOutOfRange),
            invalid(
                "0 iterations", ["IterationsOutOfRange"], replacing(good.text, "iterations", with: "0"),
                .backupIterationsOutOfRange),
            invalid(
                "negative iterations", ["IterationsOutOfRange"], replacing(good.text, "iterations", with: "-1000"),
                .backupIterationsOutOfRange),
            invalid(
                "iterations as a string", ["Malformed"], replacing(good.text, "iterations", with: "\"1000\""),
                .backupMalformed),
            invalid(
                "version 2", ["UnknownVersion"], replacing(good.text, "version", with: "2"), .backupUnsupportedVersion),
            invalid(
                "version 0", ["UnknownVersion"], replacing(good.text, "version", with: "0"), .backupUnsupportedVersion),
            invalid(
                "version 2 with fields this version does not know", ["UnknownVersion"],
                "{\"format\": \"reciprocity-key-backup\", \"version\": 2, \"kdf\": \"argon2id\", \"memory\": 65536}\n",
                .backupUnsupportedVersion),
            invalid(
                "version as a string", ["Malformed"], replacing(good.text, "version", with: "\"1\""), .backupMalformed),
            invalid(
                "another format", ["Malformed"], replacing(good.text, "format", with: "\"reciprocity-state\""),
                .backupMalformed),
            invalid("not JSON", ["Malformed"], "reciprocity key backup\n", .backupMalformed),
            invalid("a JSON array", ["Malformed"], "[\"reciprocity-key-backup\", 1]\n", .backupMalformed),
            invalid("empty", ["Malformed"], "", .backupMalformed),
            invalid("truncated", ["Malformed"], String(good.text.prefix(good.text.count / 2)), .backupMalformed),
            invalid(
                "no salt", ["Malformed"],
                good.text.split(separator: "\n").filter { !$0.hasPrefix("  \"salt\"") }.joined(separator: "\n") + "\n",
                .backupMalformed),
            invalid(
                "an unknown field", ["Malformed"],
                good.text.replacingOccurrences(of: "  \"cipher\":", with: "  \"comment\": \"mine\",\n  \"cipher\":"),
                .backupMalformed),
            invalid(
                "another KDF", ["Malformed", "TamperedParameters"],
                replacing(good.text, "kdf", with: "\"PBKDF2-HMAC-SHA1\""),
                .backupMalformed),
            invalid(
                "another cipher", ["Malformed", "TamperedParameters"],
                replacing(good.text, "cipher", with: "\"AES-128-GCM\""), .backupMalformed),
            invalid(
                "a salt of 15 bytes", ["Malformed"],
                replacing(good.text, "salt", with: "\"\(Base64URL.encode(Array(good.salt.prefix(15))))\""),
                .backupMalformed),
            invalid(
                "a nonce in padded base64", ["Malformed"],
                replacing(good.text, "nonce", with: "\"\(Base64URL.encode(good.nonce))==\""), .backupMalformed),
            invalid(
                "a ciphertext no longer than a tag", ["Malformed"],
                replacing(good.text, "ciphertext", with: "\"\(Base64URL.encode(Array(good.ciphertext.prefix(16))))\""),
                .backupMalformed),
            invalid(
                "authentic, but the payload is not JSON", ["InvalidPayload"], try sealedRaw("not json", "alice's key"),
                .backupInvalidPayload),
            invalid(
                "authentic, but the private key is 31 bytes", ["InvalidPayload"], try sealedRaw("short key", shortKey),
                .backupInvalidPayload),
            invalid(
                "authentic, but there is no state", ["InvalidPayload"],
                try sealedRaw("no state", "{\"privateKey\":\"\(Base64URL.encode(try privateKey("alice")))\"}"),
                .backupInvalidPayload),
            invalid(
                "authentic, but the state is a string", ["InvalidPayload"],
                try sealedRaw(
                    "string state", "{\"privateKey\":\"\(Base64URL.encode(try privateKey("alice")))\",\"state\":\"{}\"}"
                ),
                .backupInvalidPayload),
        ]

        func loneSurrogate(_ test: BackupVector, _ units: [UInt16]) -> BackupVector {
            var out = test
            precondition(String(decoding: units, as: UTF16.self) == test.passphrase)
            out.passphraseUTF16 = utf16Hex(units)
            return out
        }
        // Section 4 step 1: the lone surrogates of a passphrase typed in a browser are U+FFFD before NFC.
        let lonePassphrase = "\u{FFFD}lone\u{FFFD}\u{FFFD} surrogates"
        let loneOpens = loneSurrogate(
            try valid(
                "a passphrase with lone surrogates opens the file written with U+FFFD in their place",
                ["LoneSurrogate"],
                try envelope("lone surrogates", passphrase: lonePassphrase), passphrase: lonePassphrase),
            [0xD800] + Array("lone".utf16) + [0xDC00, 0xD800] + Array(" surrogates".utf16))
        let reading = try backupReadingVectors(good: good, passphrase: passphrase, payload: payload)

        func export(
            _ comment: String, _ flags: [String], label: String, passphrase writing: String = passphrase,
            iterations: Int = 1_000, payload: String? = nil, error: ReciprocityError.Code? = nil
        ) throws -> BackupVector {
            let salt = try backupBytes("salt \(label)", count: KeyBackup.saltLength)
            let nonce = try backupBytes("nonce \(label)", count: KeyBackup.nonceLength)
            var test = BackupVector(
                comment: comment, flags: flags, passphrase: writing, iterations: iterations, salt: Hex.encode(salt),
                nonce: Hex.encode(nonce), payload: payload ?? backupPayloadDefault,
                result: error == nil ? "valid" : "invalid",
                error: error?.rawValue)
            if error == nil {
                let sealed = try envelope(label, passphrase: writing, iterations: iterations, payload: payload)
                test.backup = sealed.text
                test.associatedData = String(decoding: sealed.associatedData, as: UTF8.self)
                test.derivedKey = Hex.encode(
                    try KeyBackup.deriveKey(passphrase: writing, salt: salt, iterations: iterations))
            }
            return test
        }
        let exports: [BackupVector] = [
            try export("the typical backup above, written", ["Typical"], label: "good"),
            try export(
                "a decomposed passphrase is normalised before the KDF", ["Normalization"], label: "nfc",
                passphrase: decomposed),
            try export(
                "the least passphrase: 15 characters", ["Typical"], label: "short", passphrase: "fifteen chars!!"),
            try export(
                "15 characters after NFC, 16 before", ["Normalization"], label: "short-nfc",
                passphrase: "fifteen chars!e\u{301}"),
            try export(
                "14 characters", ["PassphraseTooShort"], label: "too-short", passphrase: "fourteen chars",
                error: .backupPassphraseTooShort),
            try export(
                "15 characters before NFC, 14 after", ["PassphraseTooShort", "Normalization"], label: "too-short-nfc",
                passphrase: "fourteen chare\u{301}", error: .backupPassphraseTooShort),
            try export(
                "1025 bytes", ["PassphraseTooLong"], label: "too-long", passphrase: String(repeating: "a", count: 1025),
                error: .backupPassphraseTooLong),
            try export(
                "1024 bytes", ["Typical"], label: "longest", passphrase: String(repeating: "\u{e9}", count: 512)),
            try export(
                "999 iterations", ["IterationsOutOfRange"], label: "few", iterations: 999,
                error: .backupIterationsOutOfRange),
            try export(
                "10,000,001 iterations", ["IterationsOutOfRange"], label: "many", iterations: 10_000_001,
                error: .backupIterationsOutOfRange),
            try export(
                "a payload without a state", ["InvalidPayload"], label: "no-state",
                payload: "{\"privateKey\":\"\(Base64URL.encode(try privateKey("alice")))\"}",
                error: .backupInvalidPayload),
        ]
        // Appended after the first release of the file (as the reading groups), so the earlier tests keep their tcIds.
        let writingRules: [BackupVector] = [
            // Section 7: the order of the writer's checks.
            try export(
                "14 characters and 999 iterations: the passphrase is checked first", ["PassphraseTooShort"],
                label: "order-1", passphrase: "fourteen chars", iterations: 999, error: .backupPassphraseTooShort),
            try export(
                "1025 bytes and 999 iterations", ["PassphraseTooLong"], label: "order-2",
                passphrase: String(repeating: "a", count: 1025), iterations: 999, error: .backupPassphraseTooLong),
            try export(
                "999 iterations and a payload that is not one: the count is checked first", ["IterationsOutOfRange"],
                label: "order-3", iterations: 999, payload: "{\"privateKey\":5}", error: .backupIterationsOutOfRange),
            try export(
                "a payload whose state holds NaN", ["InvalidPayload", "JSON"], label: "nan-payload",
                payload: "{\"privateKey\":\"\(Base64URL.encode(try privateKey("alice")))\",\"state\":{\"x\":NaN}}",
                error: .backupInvalidPayload),
            // Section 4: scalar values after NFC, not UTF-16 units, graphemes or bytes.
            try export(
                "a key emoji and 13 letters: 14 scalars (15 UTF-16 units)", ["PassphraseTooShort"], label: "emoji-14",
                passphrase: "\u{1F511}" + String(repeating: "a", count: 13), error: .backupPassphraseTooShort),
            try export(
                "seven flags and a letter: 15 scalars in 8 graphemes", ["Typical"], label: "flags",
                passphrase: String(repeating: "\u{1F1EB}\u{1F1F7}", count: 7) + "a"),
            try export(
                "five e with two accents: 15 scalars typed, 10 after NFC", ["PassphraseTooShort", "Normalization"],
                label: "accents", passphrase: String(repeating: "e\u{301}\u{302}", count: 5),
                error: .backupPassphraseTooShort),
            try export(
                "256 key emoji: 1024 bytes", ["Typical"], label: "emoji-1024",
                passphrase: String(repeating: "\u{1F511}", count: 256)),
            try export(
                "256 key emoji and a letter: 1025 bytes", ["PassphraseTooLong"], label: "emoji-1025",
                passphrase: String(repeating: "\u{1F511}", count: 256) + "a", error: .backupPassphraseTooLong),
            try export(
                "342 U+0958: 1026 bytes typed, 2052 after NFC", ["PassphraseTooLong", "Normalization"],
                label: "nfc-longer",
                passphrase: String(repeating: "\u{958}", count: 342), error: .backupPassphraseTooLong),
            // Section 4 step 1: a lone surrogate counts as the one U+FFFD it becomes.
            try loneSurrogate(
                export(
                    "a lone surrogate and 14 letters: 15 scalars", ["LoneSurrogate"], label: "lone-15",
                    passphrase: "\u{FFFD}" + String(repeating: "a", count: 14)),
                [0xD800] + Array(String(repeating: "a", count: 14).utf16)),
            try loneSurrogate(
                export(
                    "a lone surrogate and 13 letters: 14 scalars", ["LoneSurrogate", "PassphraseTooShort"],
                    label: "lone-14", passphrase: "\u{FFFD}" + String(repeating: "a", count: 13),
                    error: .backupPassphraseTooShort),
                [0xD800] + Array(String(repeating: "a", count: 13).utf16)),
        ]
        let file = VectorFile(
            algorithm: BackupVector.algorithm, schema: "reciprocity_backup_v1_test_schema.json",
            header: [
                "Reciprocity key backups v1 (Specs/backup.md): PBKDF2-HMAC-SHA256, AES-256-GCM, a SHA-256 checksum.",
                "Iteration counts here are 1000 and 2000 so that the vectors check fast; a real backup has at least 600000.",
                "Keys, salts and nonces are lowercase hex; backup and payload are the texts themselves.",
                "A test gives passphraseUTF16 (UTF-16 code units, hex) where the passphrase holds a lone surrogate; passphrase then has U+FFFD in its place.",
                "An import test gives backupHex (the file's bytes, hex) instead of backup where the bytes are not UTF-8 text.",
                "Import tests open 'backup' with 'passphrase'; export tests seal 'payload' and must write 'backup' exactly.",
            ],
            notes: [
                "Typical": "A backup as the command line or the web page writes it.",
                "Normalization": "The passphrase is NFC-normalised before UTF-8 encoding (not NFKC).",
                "WrongPassphrase":
                    "The file is intact but the passphrase is not the one it was written with. Error backupWrongPassphrase.",
                "Damaged": "A byte changed and the checksum no longer matches. Error backupDamaged.",
                "Altered":
                    "A change whose checksum was recomputed: only AES-GCM catches it, as a wrong key would. Error backupWrongPassphrase.",
                "TamperedParameters":
                    "The KDF or cipher parameters changed; they are in the associated data and the checksum.",
                "IterationsOutOfRange":
                    "An iteration count outside 1000 to 10,000,000, refused before any key derivation. Error backupIterationsOutOfRange.",
                "UnknownVersion": "A format version other than 1. Error backupUnsupportedVersion.",
                "Malformed": "Not a well-formed version 1 backup. Error backupMalformed.",
                "InvalidPayload":
                    "The payload is not a JSON object of exactly privateKey (32 bytes) and state (an object). Error backupInvalidPayload.",
                "PassphraseTooShort":
                    "A writer refuses fewer than 15 Unicode scalars after NFC. Error backupPassphraseTooShort.",
                "PassphraseTooLong":
                    "A writer refuses more than 1024 UTF-8 bytes after NFC. Error backupPassphraseTooLong.",
                "LoneSurrogate":
                    "The passphrase holds lone surrogates (passphraseUTF16): each is U+FFFD before NFC (section 4 step 1).",
                "JSON":
                    "Section 2.1's reading of JSON: bytes, grammar, depth, escapes, duplicate names (the last counts) and numbers (binary64; an integer is finite with no fraction).",
            ],
            groups: [
                VectorGroup(type: BackupVector.importGroupType, comment: "backups that open", tests: imports),
                VectorGroup(type: BackupVector.importGroupType, comment: "backups that are refused", tests: refusals),
                VectorGroup(type: BackupVector.exportGroupType, comment: "writing backups", tests: exports),
                VectorGroup(
                    type: BackupVector.importGroupType, comment: "reading JSON (section 2.1): files that open",
                    tests: reading.opening + [loneOpens]),
                VectorGroup(
                    type: BackupVector.importGroupType, comment: "reading JSON (section 2.1): files that are refused",
                    tests: reading.refused),
                VectorGroup(
                    type: BackupVector.exportGroupType,
                    comment: "writing backups: the order of the checks, and what the passphrase's limits count",
                    tests: writingRules),
            ])
        // The generator checks its own output, as the other files' generators do.
        for group in file.testGroups {
            for test in group.tests {
                if let problem = test.failure(groupType: group.type) {
                    preconditionFailure("backup vector '\(test.comment)': \(problem)")
                }
            }
        }
        return file
    }
}
