import COpenSSLBaseline

/// OpenSSL's X25519 derive with nothing of ours around it: the floor our derivation is measured against.
/// It does exactly what any caller must do with a peer key that arrives as 32 raw bytes.
final class OpenSSLBaseline {
    private let key: OpaquePointer

    struct Failure: Error {}

    init(privateKey: [UInt8]) throws {
        guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, privateKey, privateKey.count) else {
            throw Failure()
        }
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    func derive(peer: [UInt8]) throws {
        guard let peerKey = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peer, peer.count) else { throw Failure() }
        defer { EVP_PKEY_free(peerKey) }
        guard let ctx = EVP_PKEY_CTX_new(key, nil) else { throw Failure() }
        defer { EVP_PKEY_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: 32)
        var length = out.count
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, peerKey) == 1,
            EVP_PKEY_derive(ctx, &out, &length) == 1
        else { throw Failure() }
    }
}
