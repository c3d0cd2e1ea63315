/// SHA-256 (FIPS 180-4) of public content, such as the web assets the server lists in its manifest.
public enum ContentDigest {
    /// The 32-byte SHA-256 digest of `bytes`.
    public static func sha256(_ bytes: some ContiguousBytesView) -> [UInt8] {
        // EVP_Digest of SHA-256 fails only when OpenSSL itself is broken.
        try! SecureBytes.sha256(bytes)
    }
}
