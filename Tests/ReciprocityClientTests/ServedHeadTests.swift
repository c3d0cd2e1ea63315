import Foundation
import ReciprocityAPI
import ReciprocityCore
import Testing

@testable import ReciprocityClient

#if canImport(Glibc)
import Glibc
#endif

/// Specs/transparency.md section 5 step 1: a served tree head that is not well formed is `log-invalid-head`,
/// whatever part of it is wrong. A `treeSize` the wire type cannot hold (negative, 2^64 or more, not an integer)
/// was once reported as `bad-response`, as if the server had answered outside the API.
@Suite struct ServedHeadTests {
    /// A loopback HTTP server that answers every request with `body` (JSON, 200): a server lying about its head.
    final class OneAnswerServer: @unchecked Sendable {
        let port: Int
        private let listener: Int32

        init(body: String) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw E2EFailure("cannot listen") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            listener = fd
            port = Int(UInt16(bigEndian: address.sin_port))
            let response = Array(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                    .utf8)
            Thread.detachNewThread {
                while true {
                    let client = accept(fd, nil, nil)
                    guard client >= 0 else { return }
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    _ = recv(client, &buffer, buffer.count, 0)
                    _ = send(client, response, response.count, Int32(MSG_NOSIGNAL))
                    close(client)
                }
            }
        }

        deinit {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    static func head(treeSize: String) -> String {
        """
        {"treeHead": {"program": "acme", "treeSize": \(treeSize), "rootHash": "\(String(repeating: "A", count: 43))",
        "timestamp": 0, "signature": "\(String(repeating: "A", count: 86))"}, "logPublicKey": "\(String(repeating: "A", count: 43))"}
        """
    }

    @Test(arguments: ["-1", "18446744073709551616", "1e20", "1.5", "\"5\"", "null"])
    func aTreeSizeTheClientCannotHoldIsAnInvalidHead(treeSize: String) async throws {
        let server = try OneAnswerServer(body: Self.head(treeSize: treeSize))
        let error = await #expect(throws: ClientError.self) {
            try await ServerAPI(baseURL: "http://127.0.0.1:\(server.port)").logHead()
        }
        #expect(error?.code.rawValue == "log-invalid-head", "treeSize \(treeSize): \(error?.message ?? "")")
    }

    /// A served log entry the protocol refuses is `log-invalid-entry`, in words a member reads: the protocol core's
    /// internal code (`invalidHandle: ...`) was once part of the sentence.
    @Test func aMalformedLogEntryIsReportedWithoutTheCoresCode() async throws {
        let key = String(repeating: "A", count: 43)
        let server = try OneAnswerServer(
            body: #"{"entries": [{"index": 0, "event": "join", "handle": "X", "publicKey": "\#(key)"}]}"#)
        let program = try ProgramID("acme")
        let head = try SignedTreeHead(
            program: program, size: 1, root: [UInt8](repeating: 0, count: 32), timestamp: 0,
            signature: [UInt8](repeating: 0, count: 64))
        let error = await #expect(throws: ClientError.self) {
            try await KeyLogChecks.replay(
                from: KeyDirectory(program: program), to: head,
                api: ServerAPI(baseURL: "http://127.0.0.1:\(server.port)"))
        }
        #expect(error?.code.rawValue == "log-invalid-entry")
        #expect(
            error?.message.hasPrefix("entry 0 of the log is malformed: handle must be ") == true,
            "\(error?.message ?? "")")
    }

    @Test func aWellFormedSizeDecodes() async throws {
        for treeSize in ["5", "5.0"] {
            let server = try OneAnswerServer(body: Self.head(treeSize: treeSize))
            let served = try await ServerAPI(baseURL: "http://127.0.0.1:\(server.port)").logHead()
            #expect(served.treeHead.treeSize == 5)
        }
    }
}
