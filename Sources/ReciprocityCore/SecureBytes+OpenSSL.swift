import COpenSSL

/// Small OpenSSL-backed byte utilities: randomness, constant-time comparison and SHA-256.
package enum SecureBytes {
    /// `count` bytes from OpenSSL's CSPRNG.
    static func random(count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw ReciprocityError.openSSL("RAND_bytes") }
        return bytes
    }

    /// Compares two byte strings in time that depends only on their lengths (`CRYPTO_memcmp`).
    static func constantTimeEqual(_ lhs: some ContiguousBytesView, _ rhs: some ContiguousBytesView) -> Bool {
        lhs.withBytes { a in
            rhs.withBytes { b in
                guard a.count == b.count else { return false }
                guard a.count > 0 else { return true }
                return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
            }
        }
    }

    /// SHA-256 of `bytes` (FIPS 180-4), through `EVP_Digest`.
    package static func sha256(_ bytes: some ContiguousBytesView) throws -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = bytes.withBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        guard ok == 1, length == 32 else { throw ReciprocityError.openSSL("EVP_Digest(SHA-256)") }
        return digest
    }
}
