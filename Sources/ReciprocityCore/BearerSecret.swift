public import Foundation

/// A secret handed to a person once and stored by the server only as its SHA-256: a member credential, an
/// organizer credential or an invite code. Its text never appears in `description`.
public struct BearerSecret: Sendable, CustomStringConvertible {
    /// What the secret is for; the prefix makes a leaked secret recognisable to secret scanners.
    public enum Kind: String, Sendable {
        case memberCredential = "rcpm_"
        case invite = "rcpi_"
        case adminCredential = "rcpa_"
        /// An organizer's admin credential, scoped to their programs.
        case organizerCredential = "rcpo_"
    }

    public let text: String

    /// A new secret: the kind's prefix and 32 bytes from OpenSSL's CSPRNG in base64url.
    public static func generate(_ kind: Kind) throws -> BearerSecret {
        BearerSecret(text: kind.rawValue + Base64URL.encode(try SecureBytes.random(count: 32)))
    }

    public init(text: String) { self.text = text }

    /// SHA-256 of the secret's UTF-8 bytes: what the server stores and looks up.
    public var digest: Data { Self.digest(of: text) }

    public static func digest(of text: String) -> Data {
        // EVP_Digest on a valid input cannot fail short of memory exhaustion.
        Data(try! SecureBytes.sha256(Array(text.utf8)))
    }

    public var description: String { "BearerSecret(<redacted>)" }
}

/// Constant-time comparison for secrets and digests of secrets (`CRYPTO_memcmp`).
public func constantTimeEquals(_ lhs: some ContiguousBytesView, _ rhs: some ContiguousBytesView) -> Bool {
    SecureBytes.constantTimeEqual(lhs, rhs)
}
