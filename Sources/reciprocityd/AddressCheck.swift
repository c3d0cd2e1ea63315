import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Refuses to start when another program already listens on `host:port`, before the database and the key file
/// are created: a busy port leaves nothing behind. Anything else (an unresolvable host, say) is left for the
/// server's own bind to report.
func ensureAddressFree(host: String, port: Int) throws {
    guard port != 0 else { return }
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return }
    defer { freeaddrinfo(result) }
    let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
    guard fd >= 0 else { return }
    defer { close(fd) }
    // As the server's own socket does, so that connections of a previous run in TIME_WAIT do not count.
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0, errno == EADDRINUSE {
        throw addressInUse(host: host, port: port)
    }
}

func addressInUse(host: String, port: Int) -> CLIFailure {
    CLIFailure(
        "\(host):\(port) is already in use by another program; choose another port with --port (or RECIPROCITY_PORT) "
            + "or another address with --host (or RECIPROCITY_HOST)")
}
