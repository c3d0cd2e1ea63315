import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on a loopback port in front of a real server that can cut the network at one request. Armed
/// with `passing` and a `Cut`, the first `passing` HTTP requests go through and the next one is either never
/// delivered (`.beforeRequest`) or delivered with its response lost (`.beforeResponse`: the server acts, the
/// client never hears); every connection is cut from then on until it is armed again. Requests are counted by
/// their request lines (`METHOD /path HTTP/1.1`); HTTP/1.1 clients send one at a time per connection.
final class FaultProxy: @unchecked Sendable {
    enum Cut: CaseIterable { case beforeRequest, beforeResponse }

    let port: Int
    private let target: Int
    private let listener: Int32
    private let passing = Atomic<Int>(Int.max)
    private let cutsBeforeResponse = Atomic<Bool>(false)
    private let seen = Atomic<Int>(0)
    private let cutDone = Atomic<Bool>(false)
    /// Every byte clients sent, in arrival order, by connection: what a reverse proxy in front of the server
    /// (or the operator) sees of the requests.
    private let chunks = Mutex<[(link: Int, bytes: [UInt8])]>([])
    private let links = Atomic<Int>(0)
    /// Called with each request line (`GET /v1/marks`) as it arrives, before the request is passed on.
    let observer = Mutex<(@Sendable (String) -> Void)?>(nil)

    init(to target: Int) throws {
        self.target = target
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw E2EFailure("proxy cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    var url: String { "http://127.0.0.1:\(port)" }
    /// Whether the proxy cut the network since it was armed (false when the command made no more than `passing`
    /// requests).
    var didCut: Bool { cutDone.load(ordering: .relaxed) }

    /// Cuts at the request after the next `passing` ones; nil lets everything through.
    func arm(passing count: Int?, cut: Cut = .beforeRequest) {
        cutsBeforeResponse.store(cut == .beforeResponse, ordering: .relaxed)
        seen.store(0, ordering: .relaxed)
        cutDone.store(false, ordering: .relaxed)
        passing.store(count ?? Int.max, ordering: .relaxed)
    }

    /// One proxied connection: closed when both directions are done.
    private final class Link: Sendable {
        let client: Int32
        let server: Int32
        /// Set at a `.beforeResponse` cut: the server's answer is not passed on.
        let hold = Atomic<Bool>(false)
        let id: Int
        private let finished = Atomic<Int>(0)

        init(client: Int32, server: Int32, id: Int) {
            self.client = client
            self.server = server
            self.id = id
        }

        func done() {
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(server, Int32(SHUT_RDWR))
            if finished.add(1, ordering: .acquiringAndReleasing).newValue == 2 {
                close(client)
                close(server)
            }
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0, !didCut else {
                close(client)
                close(server)
                continue
            }
            let link = Link(client: client, server: server, id: links.add(1, ordering: .relaxed).newValue)
            Thread.detachNewThread { [self] in relayRequests(link) }
            Thread.detachNewThread { Self.relayResponses(link) }
        }
    }

    /// Client to server, counting request lines. The request past `passing` is dropped, or delivered with its
    /// response held back; any later one is dropped.
    private func relayRequests(_ link: Link) {
        defer { link.done() }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(link.client, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            chunks.withLock { $0.append((link.id, Array(buffer[..<count]))) }
            let text = String(decoding: buffer[..<count], as: UTF8.self)
            let requestLines = text.components(separatedBy: "\r\n").filter { $0.hasSuffix(" HTTP/1.1") }
            if let observe = observer.withLock({ $0 }) {
                for line in requestLines { observe(String(line.dropLast(" HTTP/1.1".count))) }
            }
            let lines = requestLines.count
            let before = seen.add(lines, ordering: .relaxed).oldValue
            let passing = passing.load(ordering: .relaxed)
            if before + lines > passing {
                guard before <= passing, !cutDone.exchange(true, ordering: .relaxed),
                    cutsBeforeResponse.load(ordering: .relaxed)
                else { return }
                link.hold.store(true, ordering: .relaxed)
            }
            guard send(link.server, buffer, count, Int32(MSG_NOSIGNAL)) == count else { return }
        }
    }

    /// Server to client, until the connection ends or a response is held back.
    private static func relayResponses(_ link: Link) {
        defer { link.done() }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(link.server, &buffer, buffer.count, 0)
            guard count > 0, !link.hold.load(ordering: .relaxed) else { return }
            guard send(link.client, buffer, count, Int32(MSG_NOSIGNAL)) == count else { return }
        }
    }

    /// One HTTP request as it crossed the proxy.
    struct Recorded: Equatable, CustomStringConvertible {
        var method: String
        var target: String
        /// Header names in lower case, with their values.
        var headers: [String: String]
        var body: [UInt8]
        var description: String { "\(method) \(target) \(String(decoding: body, as: UTF8.self))" }
    }

    /// The requests recorded since the last call, in the order their first bytes arrived, and forgets them.
    func takeRequests() -> [Recorded] {
        let taken = chunks.withLock { chunks in
            defer { chunks.removeAll() }
            return chunks
        }
        var streams: [Int: [UInt8]] = [:]
        var started: [(order: Int, link: Int)] = []
        var requests: [Int: [Recorded]] = [:]
        for (order, chunk) in taken.enumerated() {
            streams[chunk.link, default: []] += chunk.bytes
            // A chunk that begins a request (HTTP/1.1 clients send one at a time per connection).
            if let text = String(bytes: chunk.bytes.prefix(16), encoding: .utf8),
                ["GET ", "POST ", "PUT ", "DELETE "].contains(where: text.hasPrefix)
            {
                started.append((order, chunk.link))
            }
        }
        for (link, stream) in streams { requests[link] = Self.parse(stream) }
        var next: [Int: Int] = [:]
        return started.compactMap { start in
            let index = next[start.link, default: 0]
            next[start.link] = index + 1
            return requests[start.link].flatMap { index < $0.count ? $0[index] : nil }
        }
    }

    static func parse(_ stream: [UInt8]) -> [Recorded] {
        var out: [Recorded] = []
        var rest = stream[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let head = String(decoding: rest[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let line = head[0].split(separator: " ").map(String.init)
            var headers: [String: String] = [:]
            for field in head.dropFirst() {
                guard let colon = field.firstIndex(of: ":") else { continue }
                headers[field[..<colon].lowercased()] = field[field.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyStart = end.upperBound
            let body = Array(rest[bodyStart..<min(rest.endIndex, bodyStart + length)])
            out.append(
                Recorded(method: line.first ?? "", target: line.count > 1 ? line[1] : "", headers: headers, body: body))
            rest = rest[min(rest.endIndex, bodyStart + length)...]
        }
        return out
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
