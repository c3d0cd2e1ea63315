public import Foundation
import ReciprocityCore

/// Produces every file in `Specs/vectors/` deterministically: private keys are SHA-256 of a fixed label, so
/// running the generator again reproduces the files byte for byte.
public enum VectorGenerator {
    static let version = "1"

    /// File name and contents of each vector file.
    public static func files() throws -> [(name: String, contents: Data)] {
        [
            ("reciprocity_token_v1_test.json", try VectorCoding.encode(tokenFile())),
            ("reciprocity_note_v1_test.json", try VectorCoding.encode(noteFile())),
            ("merkle_rfc9162_test.json", try VectorCoding.encode(merkleFile())),
            ("reciprocity_key_log_v1_test.json", try VectorCoding.encode(keyLogFile())),
            ("x25519_rfc7748_test.json", try VectorCoding.encode(x25519File())),
            ("hkdf_sha256_rfc5869_test.json", try VectorCoding.encode(hkdfFile())),
            ("base64url_test.json", try VectorCoding.encode(base64URLFile())),
            ("reciprocity_backup_v1_test.json", try VectorCoding.encode(backupFile())),
            ("reciprocity_messages_v1_test.json", try VectorCoding.encode(messageFile())),
        ]
    }

    /// The deterministic private key for a name used in the vectors.
    static func privateKey(_ name: String) throws -> [UInt8] {
        try SecureBytes.sha256(Array("reciprocity test vector private key: \(name)".utf8))
    }

    /// The public key of `privateKey(name)`.
    static func publicKey(_ name: String) throws -> PublicKey {
        try PrivateKey(rawRepresentation: privateKey(name)).publicKey
    }
}
