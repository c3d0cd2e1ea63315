import COpenSSL
import Synchronization

/// HMAC-SHA256 (RFC 2104) through OpenSSL's `EVP_MAC`.
enum HMACSHA256 {
    /// An `EVP_MAC_CTX` for HMAC with SHA-256 already set. Creating one fetches the algorithm and the digest
    /// (locks, provider-table walks), which costs more than the HMAC itself, so configured contexts are kept
    /// in a small pool. Every use re-keys the context with a non-empty key (`EVP_MAC_init` with a NULL key would
    /// silently reuse the previous one), so nothing from an earlier use reaches a result.
    private final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init() throws {
            let mac = EVP_MAC_fetch(nil, "HMAC", nil)
            defer { EVP_MAC_free(mac) }
            guard let mac, let ctx = EVP_MAC_CTX_new(mac) else { throw ReciprocityError.openSSL("EVP_MAC_fetch(HMAC)") }
            var params = [
                OSSL_PARAM_construct_utf8_string(digestName, UnsafeMutablePointer(mutating: sha256Name), 0),
                OSSL_PARAM_construct_end(),
            ]
            guard EVP_MAC_CTX_set_params(ctx, &params) == 1 else {
                EVP_MAC_CTX_free(ctx)
                throw ReciprocityError.openSSL("EVP_MAC_CTX_set_params(SHA256)")
            }
            pointer = ctx
        }

        deinit { EVP_MAC_CTX_free(pointer) }
    }

    private static let pool = Mutex<[Context]>([])
    private static let poolLimit = 32

    // Static storage for OSSL_PARAM names, which OpenSSL keeps as raw pointers.
    private static var digestName: UnsafePointer<CChar> { cString("digest") }
    private static var sha256Name: UnsafePointer<CChar> { cString("SHA256") }
    private static func cString(_ string: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// `HMAC-SHA256(key, message)`. The key must not be empty.
    static func authenticate(key: [UInt8], message: [UInt8]) throws -> [UInt8] {
        precondition(!key.isEmpty, "HMAC key must not be empty")
        let context = try pool.withLock { $0.popLast() } ?? Context()
        defer { pool.withLock { if $0.count < poolLimit { $0.append(context) } } }
        var mac = [UInt8](repeating: 0, count: 32)
        var length = 0
        guard EVP_MAC_init(context.pointer, key, key.count, nil) == 1,
            EVP_MAC_update(context.pointer, message, message.count) == 1,
            EVP_MAC_final(context.pointer, &mac, &length, mac.count) == 1, length == 32
        else { throw ReciprocityError.openSSL("HMAC-SHA256") }
        return mac
    }
}
