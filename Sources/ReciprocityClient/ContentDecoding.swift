import CompressNIO
import Foundation
import NIOCore

/// The content codings Chromium asks for (`Accept-Encoding`, RFC 9110 section 8.4) and their decoding: the
/// audit asks for what a browser asks for, so it must read whatever a browser could be answered. An answer in
/// a coding it cannot decode is reported, never taken as it is.
enum ContentDecoding {
    /// Chromium's `Accept-Encoding` value.
    static let advertised = "gzip, deflate, br, zstd"
    /// The largest body accepted, and the most bytes decoding one answer may produce, all its codings
    /// together: ten times the largest file of the app is far below it.
    static let limit = 16 << 20
    /// The most codings one answer may name: a server compresses once, and a proxy may compress what it was
    /// given once more. More layers only cost the audit time (each would decode up to `limit` bytes).
    static let maxCodings = 2

    /// `body` with every coding named in `Content-Encoding` removed, the last applied first, producing at
    /// most `limit` bytes in all. Throws a `ClientError` (`undecodable`) saying which coding could not be
    /// removed and why, or that there are more than `maxCodings`.
    static func decode(_ body: Data, contentEncoding: String?) throws -> Data {
        let codings = (contentEncoding ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        guard codings.count <= maxCodings else {
            throw ClientError(
                .undecodable,
                "it came in \(codings.count) content codings, more than the \(maxCodings) this audit decodes")
        }
        var data = body
        var budget = limit
        for coding in codings.reversed() {
            do {
                switch coding {
                case "identity": continue
                case "gzip", "x-gzip": data = try zlib(data, .gzip(), upTo: budget)
                // "deflate" is the zlib format (RFC 9110 section 8.4.1.2); like browsers, raw deflate is accepted too.
                case "deflate":
                    data = try (try? zlib(data, .zlib(), upTo: budget)) ?? zlib(data, .deflate(), upTo: budget)
                case "br": data = try brotli(data, upTo: budget)
                case "zstd": data = try zstd(data, upTo: budget)
                default: throw Failure("no browser decodes it")
                }
            } catch let failure as Failure {
                throw ClientError(
                    .undecodable,
                    "it came in the content coding '\(coding)', which this audit cannot decode: \(failure.reason)")
            } catch {
                throw ClientError(
                    .undecodable, "it came in the content coding '\(coding)' but does not decode (\(error))")
            }
            budget -= data.count
        }
        return data
    }

    /// Why a body does not decode.
    struct Failure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func zlib(_ data: Data, _ algorithm: CompressionAlgorithm, upTo budget: Int) throws -> Data {
        // Two bytes past the end: zlib stops at the end of a whole stream and leaves them unread; a stream cut
        // short reads into them (CompressNIO does not say whether the stream ended).
        var buffer = ByteBuffer(bytes: data + [0, 0])
        let decoded: ByteBuffer
        do {
            decoded = try buffer.decompress(with: algorithm, maxSize: budget)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw Failure("it decodes to more than \(limit) bytes in all")
        }
        guard buffer.readableBytes >= 2 else { throw Failure("the compressed stream is cut short") }
        guard buffer.readableBytes == 2 else { throw Failure("bytes follow the end of the compressed stream") }
        return Data(buffer: decoded)
    }
}
