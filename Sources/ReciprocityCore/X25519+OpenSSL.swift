import COpenSSL

/// X25519 (RFC 7748) through OpenSSL's `EVP_PKEY` interface.
package enum X25519 {
    static let keyLength = 32

    /// An OpenSSL `EVP_PKEY` holding an X25519 private key; freed when the last reference goes.
    /// OpenSSL allows concurrent read-only use of one `EVP_PKEY` for derivation, hence `@unchecked Sendable`.
    package final class PrivateKeyHandle: @unchecked Sendable {
        let pointer: OpaquePointer

        package init(rawPrivateKey: [UInt8]) throws {
            guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, rawPrivateKey, rawPrivateKey.count)
            else { throw ReciprocityError.openSSL("EVP_PKEY_new_raw_private_key") }
            pointer = key
        }

        deinit { EVP_PKEY_free(pointer) }

        /// The public key, `X25519(k, 9)`.
        func rawPublicKey() throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: X25519.keyLength)
            var length = out.count
            guard EVP_PKEY_get_raw_public_key(pointer, &out, &length) == 1, length == X25519.keyLength
            else { throw ReciprocityError.openSSL("EVP_PKEY_get_raw_public_key") }
            return out
        }
    }

    /// 32 fresh private-key bytes from OpenSSL's key generator.
    static func generatePrivateKey() throws -> [UInt8] {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nil) else {
            throw ReciprocityError.openSSL("EVP_PKEY_CTX_new_id")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_keygen(ctx, &key) == 1, let key else {
            throw ReciprocityError.openSSL("EVP_PKEY_keygen")
        }
        defer { EVP_PKEY_free(key) }
        var out = [UInt8](repeating: 0, count: keyLength)
        var length = out.count
        guard EVP_PKEY_get_raw_private_key(key, &out, &length) == 1, length == keyLength else {
            throw ReciprocityError.openSSL("EVP_PKEY_get_raw_private_key")
        }
        return out
    }

    /// The raw X25519 function: `X25519(k, u)` for any 32-byte `u` (RFC 7748 section 5; the top bit of `u` is
    /// ignored as the RFC requires). Throws when OpenSSL rejects the result, which it does for an all-zero output.
    package static func sharedSecret(_ privateKey: PrivateKeyHandle, peer: [UInt8]) throws -> [UInt8] {
        guard peer.count == keyLength else {
            throw ReciprocityError(.invalidLength, "an X25519 public key is 32 bytes, got \(peer.count)")
        }
        guard let peerKey = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peer, peer.count) else {
            throw ReciprocityError.openSSL("EVP_PKEY_new_raw_public_key")
        }
        defer { EVP_PKEY_free(peerKey) }
        guard let ctx = EVP_PKEY_CTX_new(privateKey.pointer, nil) else {
            throw ReciprocityError.openSSL("EVP_PKEY_CTX_new")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: keyLength)
        var length = out.count
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, peerKey) == 1,
            EVP_PKEY_derive(ctx, &out, &length) == 1, length == keyLength
        else { throw ReciprocityError.openSSL("EVP_PKEY_derive(X25519)") }
        return out
    }
}
