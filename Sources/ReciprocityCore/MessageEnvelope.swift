public import Foundation

/// The wire shape of one conversation message (Specs/messages.md), the one rule the server and both clients
/// share: `version (1) || sender's ratchet public key (32) || BE32(previous chain length) || BE32(message number)
/// || ChaCha20-Poly1305 ciphertext of the padded plaintext (padded size + 16)`.
///
/// The padded plaintext is one of ``paddedSizes``, so the server learns only a message's size class. The server
/// checks the shape (``isWellFormed(_:)``) and stores the bytes as received; only the two members can open them.
public enum MessageEnvelope {
    public static let version: UInt8 = 1
    /// version, ratchet public key, previous chain length, message number.
    public static let headerLength = 1 + 32 + 4 + 4
    public static let tagLength = 16
    /// The padded plaintext sizes, smallest first.
    public static let paddedSizes = [256, 1024, 4096]
    /// The lengths a well-formed envelope can have, one per padded size.
    public static let lengths = paddedSizes.map { headerLength + $0 + tagLength }
    /// The longest envelope, in bytes.
    public static let maxLength = lengths.last!

    /// Whether `bytes` has an envelope's shape: a known version and one of ``lengths``. It says nothing about
    /// whether the envelope opens: only the receiver can tell.
    public static func isWellFormed(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.first == version && lengths.contains(bytes.count)
    }
}
