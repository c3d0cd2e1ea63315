import COpenSSL
public import Foundation

extension KeyBackup {
    /// What opening a backup yields: the private key's bytes, the state as read, and the whole payload (its JSON
    /// text), all secret.
    public struct Opened: Sendable {
        public var privateKey: [UInt8]
        /// The payload's state, read by section 2.1's rules (the last of duplicate names counts).
        public var state: BackupJSON
        /// Mutable so that a caller can overwrite it in place (`cleanse`) once it has read it.
        public var payload: [UInt8]
        public let iterations: Int
    }

    /// Encrypts `payload` (the JSON text `{"privateKey": ..., "state": ...}`) under `passphrase` and returns the
    /// backup file's text. `salt` and `nonce` are fresh random bytes unless given (the test vectors give them).
    /// Refuses a passphrase a writer must not use and an iteration count no reader accepts; the writer's floor
    /// of 600,000 iterations is the caller's policy, so that the vectors can use a small count.
    public static func seal(
        payload: [UInt8], passphrase: String, iterations: Int, salt: [UInt8]? = nil, nonce: [UInt8]? = nil
    ) throws -> Envelope {
        try checkWriterPassphrase(passphrase)
        guard readerIterations.contains(iterations) else {
            throw ReciprocityError(
                .backupIterationsOutOfRange,
                "a backup's iteration count must be \(readerIterations.lowerBound) to \(readerIterations.upperBound), got \(iterations)"
            )
        }
        _ = try checkPayload(payload)
        let salt = try salt ?? SecureBytes.random(count: saltLength)
        let nonce = try nonce ?? SecureBytes.random(count: nonceLength)
        precondition(salt.count == saltLength && nonce.count == nonceLength)
        var envelope = Envelope(iterations: iterations, salt: salt, nonce: nonce, ciphertext: [], checksum: [])
        var key = try deriveKey(passphrase: passphrase, salt: salt, iterations: iterations)
        defer { cleanse(&key) }
        envelope.ciphertext = try AESGCM.seal(
            key: key, nonce: nonce, plaintext: payload, associatedData: envelope.associatedData)
        envelope.checksum = try checksum(envelope)
        return envelope
    }

    /// Opens a backup file (Specs/backup.md section 5): parse, then the iteration range (before any work), the
    /// checksum (so that accidental damage is told apart from a wrong passphrase), the key derivation, AES-GCM,
    /// and the payload's shape.
    public static func open(_ data: Data, passphrase: String) throws -> Opened {
        let envelope = try parse(data)
        guard readerIterations.contains(envelope.iterations) else {
            throw ReciprocityError(
                .backupIterationsOutOfRange,
                "this backup asks for \(envelope.iterations) iterations; a reader accepts \(readerIterations.lowerBound) to \(readerIterations.upperBound)"
            )
        }
        guard SecureBytes.constantTimeEqual(try checksum(envelope), envelope.checksum) else {
            throw ReciprocityError(.backupDamaged, "the backup file is damaged (its checksum does not match)")
        }
        var key = try deriveKey(passphrase: passphrase, salt: envelope.salt, iterations: envelope.iterations)
        defer { cleanse(&key) }
        let payload = try AESGCM.open(
            key: key, nonce: envelope.nonce, sealed: envelope.ciphertext, associatedData: envelope.associatedData)
        let read = try checkPayload(payload)
        return Opened(privateKey: read.privateKey, state: read.state, payload: payload, iterations: envelope.iterations)
    }

    /// `SHA-256(associatedData || 0x0a || ciphertext)`: a checksum against accidental damage (anyone can recompute
    /// it; the AES-GCM tag is what authenticates).
    public static func checksum(_ envelope: Envelope) throws -> [UInt8] {
        try SecureBytes.sha256(envelope.associatedData + [0x0a] + envelope.ciphertext)
    }

    /// PBKDF2-HMAC-SHA256 (RFC 8018) of the NFC-normalised passphrase: the 32-byte AES-256 key.
    public static func deriveKey(passphrase: String, salt: [UInt8], iterations: Int) throws -> [UInt8] {
        // A terminating zero keeps the pointer valid for an empty passphrase; it is not part of the password.
        var password = normalizedPassphrase(passphrase) + [0]
        defer { cleanse(&password) }
        var key = [UInt8](repeating: 0, count: 32)
        let ok = password.withUnsafeBufferPointer { pass in
            pass.withMemoryRebound(to: CChar.self) { chars in
                PKCS5_PBKDF2_HMAC(
                    chars.baseAddress, Int32(chars.count - 1), salt, Int32(salt.count), Int32(iterations), EVP_sha256(),
                    Int32(key.count), &key)
            }
        }
        guard ok == 1 else { throw ReciprocityError.openSSL("PKCS5_PBKDF2_HMAC") }
        return key
    }

    /// Overwrites secret bytes (`OPENSSL_cleanse`, which the compiler may not elide).
    package static func cleanse(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
        }
    }
}

/// AES-256-GCM through OpenSSL's `EVP_aes_256_gcm`: 32-byte key, 12-byte nonce, 16-byte tag appended.
package enum AESGCM {
    package static func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8], associatedData: [UInt8]) throws
        -> [UInt8]
    {
        precondition(key.count == 32 && nonce.count == KeyBackup.nonceLength)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw ReciprocityError.openSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + KeyBackup.tagLength)
        var length: Int32 = 0
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            EVP_EncryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1,
            EVP_EncryptUpdate(ctx, &out, &length, plaintext, Int32(plaintext.count)) == 1
        else { throw ReciprocityError.openSSL("AES-256-GCM encrypt") }
        let total = length
        let finished = out.withUnsafeMutableBufferPointer {
            EVP_EncryptFinal_ex(ctx, $0.baseAddress! + Int(total), &length)
        }
        guard finished == 1, total + length == Int32(plaintext.count) else {
            throw ReciprocityError.openSSL("AES-256-GCM encrypt")
        }
        let tagged = out.withUnsafeMutableBufferPointer {
            EVP_CIPHER_CTX_ctrl(
                ctx, EVP_CTRL_GCM_GET_TAG, Int32(KeyBackup.tagLength), $0.baseAddress! + plaintext.count)
        }
        guard tagged == 1 else { throw ReciprocityError.openSSL("AES-256-GCM tag") }
        return out
    }

    /// Opens `ciphertext || tag`; a tag that does not verify is `backupWrongPassphrase` (the checksum already
    /// matched, so the bytes are as written: the key is wrong).
    static func open(key: [UInt8], nonce: [UInt8], sealed: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        precondition(key.count == 32 && nonce.count == KeyBackup.nonceLength && sealed.count > KeyBackup.tagLength)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw ReciprocityError.openSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let ciphertext = Array(sealed.dropLast(KeyBackup.tagLength))
        var tag = Array(sealed.suffix(KeyBackup.tagLength))
        var out = [UInt8](repeating: 0, count: ciphertext.count)
        var length: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            EVP_DecryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1,
            EVP_DecryptUpdate(ctx, &out, &length, ciphertext, Int32(ciphertext.count)) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(KeyBackup.tagLength), &tag) == 1
        else { throw ReciprocityError.openSSL("AES-256-GCM decrypt") }
        let total = length
        var end = [UInt8](repeating: 0, count: 16)
        let verified = total == Int32(ciphertext.count) ? EVP_DecryptFinal_ex(ctx, &end, &length) : 0
        guard verified == 1 else {
            ERR_clear_error()
            KeyBackup.cleanse(&out)
            throw ReciprocityError(
                .backupWrongPassphrase,
                "the backup does not open with this passphrase (or it was altered and its checksum recomputed)")
        }
        return out
    }
}
