import COpenSSL

/// ChaCha20-Poly1305 (RFC 8439) through OpenSSL's `EVP_chacha20_poly1305`: 32-byte key, 12-byte nonce,
/// 16-byte tag.
package enum ChaChaPoly {
    static let keyLength = 32
    package static let nonceLength = 12
    static let tagLength = 16

    /// Returns `ciphertext || tag`.
    package static func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8], associatedData: [UInt8]) throws
        -> [UInt8]
    {
        precondition(key.count == keyLength && nonce.count == nonceLength)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw ReciprocityError.openSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        var length: Int32 = 0
        var total: Int32 = 0
        guard EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nil, key, nonce) == 1,
            associatedData.isEmpty
                || EVP_EncryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1,
            EVP_EncryptUpdate(ctx, &out, &length, plaintext, Int32(plaintext.count)) == 1
        else { throw ReciprocityError.openSSL("ChaCha20-Poly1305 encrypt") }
        total = length
        let finished = out.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptFinal_ex(ctx, buffer.baseAddress! + Int(total), &length)
        }
        guard finished == 1 else { throw ReciprocityError.openSSL("ChaCha20-Poly1305 encrypt") }
        total += length
        let tagged = out.withUnsafeMutableBufferPointer { buffer in
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(tagLength), buffer.baseAddress! + Int(total))
        }
        guard tagged == 1 else { throw ReciprocityError.openSSL("ChaCha20-Poly1305 tag") }
        return out
    }

    /// Opens `ciphertext || tag`; throws `noteAuthenticationFailed` when the tag does not verify.
    static func open(key: [UInt8], nonce: [UInt8], sealed: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        precondition(key.count == keyLength && nonce.count == nonceLength)
        guard sealed.count >= tagLength else {
            throw ReciprocityError(.invalidLength, "a sealed value is at least \(tagLength) bytes")
        }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw ReciprocityError.openSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let ciphertext = Array(sealed.dropLast(tagLength))
        var tag = Array(sealed.suffix(tagLength))
        var out = [UInt8](repeating: 0, count: max(ciphertext.count, 1))
        var length: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nil, key, nonce) == 1,
            associatedData.isEmpty
                || EVP_DecryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1,
            EVP_DecryptUpdate(ctx, &out, &length, ciphertext, Int32(ciphertext.count)) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(tagLength), &tag) == 1
        else { throw ReciprocityError.openSSL("ChaCha20-Poly1305 decrypt") }
        let total = length
        let verified = out.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(ctx, buffer.baseAddress! + Int(total), &length)
        }
        guard verified == 1 else {
            // A failed verify leaves an error queued; clear it so it cannot surface in a later, unrelated call.
            ERR_clear_error()
            throw ReciprocityError(.noteAuthenticationFailed, "the sealed note does not authenticate")
        }
        return Array(out.prefix(ciphertext.count))
    }
}
