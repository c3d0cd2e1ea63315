import COpenSSL
import Foundation
import Testing

@testable import ReciprocityCore

/// Our HKDF (over OpenSSL's HMAC) must agree with OpenSSL's own `EVP_KDF` HKDF on every input.
@Suite struct HKDFCrossCheck {
    /// OpenSSL's HKDF in extract-then-expand mode, one fresh context per call.
    func opensslHKDF(ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        let kdf = try #require(EVP_KDF_fetch(nil, "HKDF", nil))
        defer { EVP_KDF_free(kdf) }
        let ctx = try #require(EVP_KDF_CTX_new(kdf))
        defer { EVP_KDF_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: length)
        var ikm = ikm
        var salt = salt
        var info = info
        // OSSL_PARAM keeps raw pointers: names and values point into static storage.
        func name(_ string: StaticString) -> UnsafePointer<CChar> {
            UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
        }
        let digest = UnsafeMutablePointer(mutating: name("SHA256"))
        let ok = ikm.withUnsafeMutableBytes { k in
            salt.withUnsafeMutableBytes { s in
                info.withUnsafeMutableBytes { i in
                    var params = [
                        OSSL_PARAM_construct_utf8_string(name("digest"), digest, 0),
                        OSSL_PARAM_construct_octet_string(name("key"), k.baseAddress, k.count),
                        OSSL_PARAM_construct_octet_string(name("salt"), s.baseAddress, s.count),
                        OSSL_PARAM_construct_octet_string(name("info"), i.baseAddress, i.count),
                        OSSL_PARAM_construct_end(),
                    ]
                    return EVP_KDF_derive(ctx, &out, out.count, &params)
                }
            }
        }
        #expect(ok == 1)
        return out
    }

    @Test func agreesWithOpenSSLOnRandomInputs() throws {
        for round in 0..<200 {
            let ikm = try SecureBytes.random(count: 1 + round % 80)
            let salt = try SecureBytes.random(count: 1 + (round * 7) % 90)
            let info = try SecureBytes.random(count: (round * 13) % 300)
            let length = [1, 16, 31, 32, 33, 64, 65, 100, 255, 1000][round % 10]
            let prk = try HKDF.extract(salt: salt, inputKeyMaterial: ikm)
            let ours = try HKDF.expand(pseudorandomKey: prk, info: info, length: length)
            #expect(ours == (try opensslHKDF(ikm: ikm, salt: salt, info: info, length: length)), "round \(round)")
        }
    }

    @Test func emptyInfoAfterNonEmptyInfoUsesNoStaleState() throws {
        // Pooled HMAC contexts are re-keyed on every use: alternate inputs and compare with fresh OpenSSL runs.
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        for info in [[UInt8](repeating: 0xf0, count: 10), [], [0x01], []] {
            for salt in [[UInt8](repeating: 0x5a, count: 13), []] {
                let prk = try HKDF.extract(salt: salt, inputKeyMaterial: ikm)
                let ours = try HKDF.expand(pseudorandomKey: prk, info: info, length: 42)
                // OpenSSL's HKDF treats an empty salt as absent, i.e. HashLen zeros, as RFC 5869 says.
                let reference = try opensslHKDF(
                    ikm: ikm, salt: salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt, info: info, length: 42)
                #expect(ours == reference)
            }
        }
    }

    @Test func rejectsOutOfRangeLengths() throws {
        let prk = try HKDF.extract(salt: [1], inputKeyMaterial: [2])
        for length in [0, 8161] {
            #expect(throws: ReciprocityError.self) { try HKDF.expand(pseudorandomKey: prk, info: [], length: length) }
        }
        #expect(throws: ReciprocityError.self) { try HKDF.expand(pseudorandomKey: [1, 2], info: [], length: 32) }
    }
}
