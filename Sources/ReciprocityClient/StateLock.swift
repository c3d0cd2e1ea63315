import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One command at a time per membership. Every command reads `state.json` once and writes back its whole copy,
/// so two commands at once would let the later save undo the earlier one: with conversations, a send's advanced
/// ratchet chain rolled back, and the next send sealing a message under a key and nonce already used. The first
/// `loadState()` of a process takes an exclusive `flock` on `state.lock` beside the state and keeps it until the
/// process exits (the kernel releases it then, however the process ends); a second command waits for it, up to
/// ``wait`` seconds, then stops with `state-busy`. A process holds each membership's lock once, so loading the
/// same state again in one process neither waits nor fails.
enum StateLock {
    static let wait: TimeInterval = 60

    nonisolated(unsafe) private static var held: [String: Int32] = [:]
    private static let guardLock = NSLock()

    /// Takes the lock of the membership whose state file is `stateURL`, waiting for another process to let go.
    static func hold(stateURL: URL, wait: TimeInterval = wait) throws {
        let path = stateURL.deletingLastPathComponent().appendingPathComponent("state.lock").path
        guardLock.lock()
        defer { guardLock.unlock() }
        guard held[path] == nil else { return }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw ClientError(.writeFailed, "cannot open \(path)") }
        let deadline = Date().addingTimeInterval(wait)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else {
                close(fd)
                throw ClientError(
                    .stateBusy,
                    "another reciprocity command is still using this membership (\(stateURL.deletingLastPathComponent().path)); try again when it has finished"
                )
            }
            usleep(50_000)
        }
        held[path] = fd
    }
}
