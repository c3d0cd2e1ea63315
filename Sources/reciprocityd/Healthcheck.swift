import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `reciprocityd healthcheck`: asks a running server's `/readyz` and exits 0 when it answers 200. The
/// container's HEALTHCHECK uses this, so the image needs no curl.
struct Healthcheck: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exit 0 if the server on HOST:PORT is ready.")

    @Option(help: "Host to ask.") var host = Settings.defaults.server.host
    @Option(
        parsing: .unconditional,
        help: "Port, 1 to 65535 (env RECIPROCITY_PORT; default \(Settings.defaults.server.port)).")
    var port: Int?
    @Option(help: "Path to ask.") var path = "/readyz"

    func run() throws {
        let port = port ?? environment["RECIPROCITY_PORT"].flatMap(Int.init) ?? Settings.defaults.server.port
        guard (1...65535).contains(port) else { throw CLIFailure("the port must be 1 to 65535, got \(port)") }
        let status = try Self.status(host: host, port: port, path: path)
        guard status == 200 else { throw CLIFailure("\(path) answered \(status)") }
        print("ready")
    }

    /// A minimal HTTP/1.1 GET over a socket with a 3-second timeout; returns the status code.
    static func status(host: String, port: Int, path: String) throws -> Int {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw CLIFailure("cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw CLIFailure("cannot open a socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            throw CLIFailure("nothing is listening on \(host):\(port)")
        }
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &buffer, buffer.count, 0)
        let line = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw CLIFailure("no HTTP answer from \(host):\(port)")
        }
        return status
    }
}
