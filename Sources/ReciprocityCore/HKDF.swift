/// HKDF-SHA256 (RFC 5869) in its separate extract and expand steps, so that one pseudorandom key serves the
/// token and both tags and can be published in the test vectors.
///
/// Built on OpenSSL's HMAC-SHA256 (`HMACSHA256`), as swift-crypto builds its HKDF on its HMAC, rather than
/// on OpenSSL 3.0's `EVP_KDF` "HKDF": that implementation fetches the HMAC algorithm again on every extract
/// and costs 2.7 µs per extract and 1.5 µs per expand here, against 0.6 µs per HMAC with a reused context,
/// which would push the key schedule past its 10% budget over X25519. The test suite checks this HKDF against
/// OpenSSL's `EVP_KDF` on random inputs as well as against RFC 5869 appendix A.
package enum HKDF {
    static let hashLength = 32

    /// `PRK = HMAC-SHA256(salt, IKM)` (RFC 5869 section 2.2); an empty salt means HashLen zero bytes.
    package static func extract(salt: [UInt8], inputKeyMaterial: [UInt8]) throws -> [UInt8] {
        try HMACSHA256.authenticate(
            key: salt.isEmpty ? [UInt8](repeating: 0, count: hashLength) : salt, message: inputKeyMaterial)
    }

    /// `OKM = first L bytes of T(1) | T(2) | ...`, `T(i) = HMAC-SHA256(PRK, T(i-1) | info | i)` (section 2.3).
    package static func expand(pseudorandomKey: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        guard (1...255 * hashLength).contains(length) else {
            throw ReciprocityError(.invalidLength, "HKDF-SHA256 output length must be 1...8160, got \(length)")
        }
        guard pseudorandomKey.count >= hashLength else {
            throw ReciprocityError(
                .invalidLength, "an HKDF-SHA256 PRK is at least 32 bytes, got \(pseudorandomKey.count)")
        }
        var output: [UInt8] = []
        output.reserveCapacity(length + hashLength)
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < length {
            block = try HMACSHA256.authenticate(key: pseudorandomKey, message: block + info + [counter])
            output += block
            counter &+= 1
        }
        return Array(output.prefix(length))
    }
}
