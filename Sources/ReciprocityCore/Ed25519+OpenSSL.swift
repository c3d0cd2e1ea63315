import COpenSSL

/// Ed25519 (RFC 8032) through OpenSSL's one-shot `EVP_DigestSign` / `EVP_DigestVerify`.
enum Ed25519 {
    static let keyLength = 32
    static let signatureLength = 64

    /// An OpenSSL `EVP_PKEY` holding an Ed25519 key; freed with the last reference.
    final class Key: @unchecked Sendable {
        let pointer: OpaquePointer

        init(privateKey raw: [UInt8]) throws {
            guard raw.count == keyLength,
                let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, raw, raw.count)
            else { throw ReciprocityError(.invalidLength, "an Ed25519 private key is 32 bytes") }
            pointer = key
        }

        init(publicKey raw: [UInt8]) throws {
            guard raw.count == keyLength, let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count)
            else {
                ERR_clear_error()
                throw ReciprocityError(.invalidLength, "an Ed25519 public key is 32 bytes")
            }
            pointer = key
        }

        deinit { EVP_PKEY_free(pointer) }

        func rawPublicKey() throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: keyLength)
            var length = out.count
            guard EVP_PKEY_get_raw_public_key(pointer, &out, &length) == 1 else {
                throw ReciprocityError.openSSL("EVP_PKEY_get_raw_public_key(Ed25519)")
            }
            return out
        }
    }

    static func generatePrivateKey() throws -> [UInt8] {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else {
            throw ReciprocityError.openSSL("EVP_PKEY_CTX_new_id(Ed25519)")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_keygen(ctx, &key) == 1, let key else {
            throw ReciprocityError.openSSL("EVP_PKEY_keygen(Ed25519)")
        }
        defer { EVP_PKEY_free(key) }
        var out = [UInt8](repeating: 0, count: keyLength)
        var length = out.count
        guard EVP_PKEY_get_raw_private_key(key, &out, &length) == 1 else {
            throw ReciprocityError.openSSL("EVP_PKEY_get_raw_private_key(Ed25519)")
        }
        return out
    }

    static func sign(_ message: [UInt8], with key: Key) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw ReciprocityError.openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        var signature = [UInt8](repeating: 0, count: signatureLength)
        var length = signature.count
        guard EVP_DigestSignInit(ctx, nil, nil, nil, key.pointer) == 1,
            EVP_DigestSign(ctx, &signature, &length, message, message.count) == 1, length == signatureLength
        else { throw ReciprocityError.openSSL("EVP_DigestSign(Ed25519)") }
        return signature
    }

    static func verify(_ signature: [UInt8], of message: [UInt8], with key: Key) -> Bool {
        guard signature.count == signatureLength, let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        let ok =
            EVP_DigestVerifyInit(ctx, nil, nil, nil, key.pointer) == 1
            && EVP_DigestVerify(ctx, signature, signature.count, message, message.count) == 1
        // A failed verification leaves an error queued; never let it surface in a later call.
        if !ok { ERR_clear_error() }
        return ok
    }
}
