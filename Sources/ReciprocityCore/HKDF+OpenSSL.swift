import COpenSSL

/// HKDF-SHA256 (RFC 5869) through OpenSSL's `EVP_KDF` "HKDF", in its separate extract and expand modes so
/// that the pseudorandom key can be reused for several outputs and published in test vectors.
enum HKDF {
    /// The fetched algorithm, looked up once: `EVP_KDF_fetch` takes locks and walks the provider tables.
    private final class Algorithm: @unchecked Sendable {
        let pointer: OpaquePointer?
        init() { pointer = EVP_KDF_fetch(nil, "HKDF", nil) }
        deinit { EVP_KDF_free(pointer) }
    }

    private static let algorithm = Algorithm()

    /// `PRK = HMAC-SHA256(salt, IKM)` (RFC 5869 section 2.2).
    static func extract(salt: [UInt8], inputKeyMaterial: [UInt8]) throws -> [UInt8] {
        try run(mode: EVP_KDF_HKDF_MODE_EXTRACT_ONLY, key: inputKeyMaterial, salt: salt, info: [], length: 32)
    }

    /// `OKM = T(1) | T(2) | ...` truncated to `length` bytes (RFC 5869 section 2.3).
    static func expand(pseudorandomKey: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        try run(mode: EVP_KDF_HKDF_MODE_EXPAND_ONLY, key: pseudorandomKey, salt: [], info: info, length: length)
    }

    private static func run(mode: Int32, key: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        guard let kdf = algorithm.pointer else { throw ReciprocityError.openSSL("EVP_KDF_fetch(HKDF)") }
        guard length > 0, length <= 255 * 32 else {
            throw ReciprocityError(.invalidLength, "HKDF-SHA256 output length must be 1...8160, got \(length)")
        }
        guard let ctx = EVP_KDF_CTX_new(kdf) else { throw ReciprocityError.openSSL("EVP_KDF_CTX_new") }
        defer { EVP_KDF_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: length)
        var mode = mode
        // OSSL_PARAM stores raw pointers: every buffer it names must stay alive until EVP_KDF_derive returns,
        // so the whole call happens inside the closures that pin them. Names come from static strings.
        let ok = key.withUnsafeBytes { keyBytes in
            salt.withUnsafeBytes { saltBytes in
                info.withUnsafeBytes { infoBytes in
                    withUnsafeMutablePointer(to: &mode) { modePointer in
                        var params: [OSSL_PARAM] = [
                            OSSL_PARAM_construct_utf8_string(Name.digest, Name.sha256, 0),
                            OSSL_PARAM_construct_int(Name.mode, modePointer),
                            octetString(Name.key, keyBytes),
                        ]
                        if !saltBytes.isEmpty { params.append(octetString(Name.salt, saltBytes)) }
                        if !infoBytes.isEmpty { params.append(octetString(Name.info, infoBytes)) }
                        params.append(OSSL_PARAM_construct_end())
                        return EVP_KDF_derive(ctx, &out, out.count, params)
                    }
                }
            }
        }
        guard ok == 1 else { throw ReciprocityError.openSSL("EVP_KDF_derive(HKDF)") }
        return out
    }

    private static func octetString(_ name: UnsafePointer<CChar>, _ bytes: UnsafeRawBufferPointer) -> OSSL_PARAM {
        OSSL_PARAM_construct_octet_string(name, UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }

    /// Parameter names and values as pointers into static storage, valid for the life of the process.
    private enum Name {
        static var digest: UnsafePointer<CChar> { cString("digest") }  // OSSL_KDF_PARAM_DIGEST
        static var mode: UnsafePointer<CChar> { cString("mode") }  // OSSL_KDF_PARAM_MODE
        static var key: UnsafePointer<CChar> { cString("key") }  // OSSL_KDF_PARAM_KEY
        static var salt: UnsafePointer<CChar> { cString("salt") }  // OSSL_KDF_PARAM_SALT
        static var info: UnsafePointer<CChar> { cString("info") }  // OSSL_KDF_PARAM_INFO
        static var sha256: UnsafeMutablePointer<CChar> { UnsafeMutablePointer(mutating: cString("SHA256")) }

        private static func cString(_ string: StaticString) -> UnsafePointer<CChar> {
            UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
        }
    }
}
