public import Foundation

extension ReciprocityError.Code {
    /// Not a key backup, or one whose fields are missing, of the wrong type or length, or not canonical.
    public static let backupMalformed = ReciprocityError.Code(rawValue: "backupMalformed")
    /// A key backup of a format version this implementation does not read.
    public static let backupUnsupportedVersion = ReciprocityError.Code(rawValue: "backupUnsupportedVersion")
    /// A key backup whose iteration count is outside what a reader accepts (1,000 to 10,000,000).
    public static let backupIterationsOutOfRange = ReciprocityError.Code(rawValue: "backupIterationsOutOfRange")
    /// A key backup whose checksum does not match: damaged in storage or transit.
    public static let backupDamaged = ReciprocityError.Code(rawValue: "backupDamaged")
    /// A key backup that does not open: the passphrase is wrong (or the file was altered and its checksum
    /// recomputed, which cannot be told apart).
    public static let backupWrongPassphrase = ReciprocityError.Code(rawValue: "backupWrongPassphrase")
    /// A key backup that opened, but whose contents are not a private key and a state object.
    public static let backupInvalidPayload = ReciprocityError.Code(rawValue: "backupInvalidPayload")
    /// A passphrase shorter than a writer accepts (15 characters).
    public static let backupPassphraseTooShort = ReciprocityError.Code(rawValue: "backupPassphraseTooShort")
    /// A passphrase longer than a writer accepts (1024 bytes of UTF-8).
    public static let backupPassphraseTooLong = ReciprocityError.Code(rawValue: "backupPassphraseTooLong")
}

/// A member's key backup (Specs/backup.md): the private key and the membership state, encrypted with AES-256-GCM
/// under a key derived from a passphrase with PBKDF2-HMAC-SHA256, in a small JSON file that the browser client
/// and the command line both read and write.
public enum KeyBackup {
    public static let format = "reciprocity-key-backup"
    public static let version = 1
    public static let kdfName = "PBKDF2-HMAC-SHA256"
    public static let cipherName = "AES-256-GCM"
    public static let saltLength = 16
    public static let nonceLength = 12
    public static let tagLength = 16
    /// What a reader accepts: below, a file is refused as too weak to be a real backup; above, as a file made to
    /// keep a reader busy (10,000,000 iterations take about 6 s in OpenSSL and 2 s in Chromium here).
    public static let readerIterations = 1_000...10_000_000
    /// The least a writer may use outside the test vectors (OWASP's figure for PBKDF2-HMAC-SHA256).
    public static let minimumWriterIterations = 600_000
    /// What this implementation writes.
    public static let defaultIterations = 1_000_000
    /// A writer refuses a passphrase of fewer Unicode scalars than this, after NFC.
    public static let minimumPassphraseCharacters = 15
    /// A writer refuses a passphrase of more UTF-8 bytes than this, after NFC.
    public static let maximumPassphraseBytes = 1024
    /// A reader refuses a larger file before parsing it.
    public static let maximumFileBytes = 64 << 20

    /// The fields of a backup file, decoded and checked for shape (not yet for iterations or checksum).
    public struct Envelope: Sendable, Equatable {
        public var iterations: Int
        public var salt: [UInt8]
        public var nonce: [UInt8]
        /// AES-256-GCM ciphertext followed by its 16-byte tag.
        public var ciphertext: [UInt8]
        public var checksum: [UInt8]

        public init(iterations: Int, salt: [UInt8], nonce: [UInt8], ciphertext: [UInt8], checksum: [UInt8]) {
            self.iterations = iterations
            self.salt = salt
            self.nonce = nonce
            self.ciphertext = ciphertext
            self.checksum = checksum
        }

        /// The associated data of AES-256-GCM, and the first part of what the checksum covers: the format, its
        /// version and every parameter, as one ASCII line (Specs/backup.md section 3).
        public var associatedData: [UInt8] {
            Array(
                "\(KeyBackup.format) \(KeyBackup.version) \(KeyBackup.kdfName) \(iterations) \(Base64URL.encode(salt)) \(KeyBackup.cipherName) \(Base64URL.encode(nonce))"
                    .utf8)
        }

        /// The text a writer produces: the fields in this order, two-space indentation, a final line feed (what
        /// `JSON.stringify(fields, null, 2) + "\n"` gives).
        public var text: String {
            let fields: [(String, String)] = [
                ("format", "\"\(KeyBackup.format)\""), ("version", "\(KeyBackup.version)"),
                ("kdf", "\"\(KeyBackup.kdfName)\""), ("iterations", "\(iterations)"),
                ("salt", "\"\(Base64URL.encode(salt))\""), ("cipher", "\"\(KeyBackup.cipherName)\""),
                ("nonce", "\"\(Base64URL.encode(nonce))\""), ("ciphertext", "\"\(Base64URL.encode(ciphertext))\""),
                ("checksum", "\"\(Base64URL.encode(checksum))\""),
            ]
            return "{\n" + fields.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
        }
    }

    /// The passphrase as the key derivation uses it: NFC, then UTF-8 (Specs/backup.md section 4).
    public static func normalizedPassphrase(_ passphrase: String) -> [UInt8] {
        Array(passphrase.precomposedStringWithCanonicalMapping.utf8)
    }

    /// A writer's check of a passphrase: at least 15 Unicode scalars and at most 1024 bytes, after NFC.
    public static func checkWriterPassphrase(_ passphrase: String) throws {
        let normalized = passphrase.precomposedStringWithCanonicalMapping
        guard normalized.unicodeScalars.count >= minimumPassphraseCharacters else {
            throw ReciprocityError(
                .backupPassphraseTooShort,
                "a backup passphrase must be at least \(minimumPassphraseCharacters) characters (four or more random words are a good one)"
            )
        }
        guard normalized.utf8.count <= maximumPassphraseBytes else {
            throw ReciprocityError(
                .backupPassphraseTooLong, "a backup passphrase must be at most \(maximumPassphraseBytes) bytes of UTF-8"
            )
        }
    }

    /// Parses a backup file's text into its fields, in the reader's order (Specs/backup.md section 5, steps 1
    /// to 3): size, JSON object, format, version, then every other field. Iterations and checksum are checked by
    /// `open`.
    public static func parse(_ data: Data) throws -> Envelope {
        func malformed(_ reason: String) -> ReciprocityError { ReciprocityError(.backupMalformed, reason) }
        guard data.count <= maximumFileBytes else { throw malformed("a key backup is at most 64 MiB") }
        guard case .object(let fields) = BackupJSON.parse(Array(data)) else {
            throw malformed("this is not a Reciprocity key backup (not a JSON object)")
        }
        guard case .string(format) = fields["format"] else {
            throw malformed("this is not a Reciprocity key backup (no \"format\": \"\(format)\")")
        }
        guard let version = fields["version"]?.integer else { throw malformed("the backup has no integer version") }
        guard version == Double(Self.version) else {
            throw ReciprocityError(
                .backupUnsupportedVersion,
                "this backup is of format version \(BackupJSON.describe(version)); this program reads version \(Self.version) only"
            )
        }
        let known: Set<String> = [
            "format", "version", "kdf", "iterations", "salt", "cipher", "nonce", "ciphertext", "checksum",
        ]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw malformed("the backup has an unknown field '\(unknown)'")
        }
        guard case .string(kdfName) = fields["kdf"] else { throw malformed("the backup's kdf is not \(kdfName)") }
        guard case .string(cipherName) = fields["cipher"] else {
            throw malformed("the backup's cipher is not \(cipherName)")
        }
        guard let iterations = fields["iterations"]?.integer else {
            throw malformed("the backup's iterations is not an integer")
        }
        func bytes(_ name: String, count: Int?) throws -> [UInt8] {
            guard case .string(let text) = fields[name] else { throw malformed("the backup has no \(name)") }
            do {
                return try count.map { try Base64URL.decode(text, byteCount: $0, what: name) }
                    ?? decodeAny(text, what: name)
            } catch {
                throw malformed(
                    "the backup's \(name) is not canonical base64url\(count.map { " of \($0) bytes" } ?? "")")
            }
        }
        let salt = try bytes("salt", count: saltLength)
        let nonce = try bytes("nonce", count: nonceLength)
        let ciphertext = try bytes("ciphertext", count: nil)
        guard ciphertext.count > tagLength else { throw malformed("the backup's ciphertext is shorter than its tag") }
        let checksum = try bytes("checksum", count: 32)
        // Clamped so that a huge value (2^64, 1e20) fits an Int; it is refused as out of range all the same.
        let clamped = Int(exactly: iterations) ?? (iterations < 0 ? Int.min : Int.max)
        return Envelope(iterations: clamped, salt: salt, nonce: nonce, ciphertext: ciphertext, checksum: checksum)
    }

    /// Unpadded canonical base64url of any length.
    static func decodeAny(_ text: String, what: String) throws -> [UInt8] {
        let count = text.utf8.count * 6 / 8
        guard (count * 4 + 2) / 3 == text.utf8.count else {
            throw ReciprocityError(.invalidEncoding, "\(what) has an impossible length for base64url")
        }
        return try Base64URL.decode(text, byteCount: count, what: what)
    }

    /// A decrypted payload, read: the private key's bytes and the state, as section 2.1 reads JSON.
    public struct Payload: Sendable {
        public var privateKey: [UInt8]
        public var state: BackupJSON
    }

    /// Reads a decrypted payload (Specs/backup.md section 6): a JSON object of exactly `privateKey` (32 bytes,
    /// base64url) and `state` (an object). The importer decodes the state from what this returns, so that the
    /// format's check and the import read the same JSON the same way.
    public static func checkPayload(_ payload: [UInt8]) throws -> Payload {
        func invalid(_ reason: String) -> ReciprocityError { ReciprocityError(.backupInvalidPayload, reason) }
        guard case .object(let object) = BackupJSON.parse(payload) else {
            throw invalid("the backup opened, but does not hold a JSON object")
        }
        guard Set(object.keys) == ["privateKey", "state"] else {
            throw invalid("the backup opened, but does not hold exactly a private key and a state")
        }
        guard case .string(let key) = object["privateKey"],
            let bytes = try? Base64URL.decode(key, byteCount: 32, what: "private key")
        else { throw invalid("the backup opened, but its private key is not 32 bytes of base64url") }
        guard let state = object["state"], case .object = state else {
            throw invalid("the backup opened, but its state is not an object")
        }
        return Payload(privateKey: bytes, state: state)
    }
}
