import CompressNIO
import Foundation
import NIOCore

/// The content codings Chromium asks for (`Accept-Encoding`, RFC 9110 section 8.4) and their decoding: the
/// audit asks for what a browser asks for, so it must read whatever a browser could be answered. An answer in
/// a coding it cannot decode is reported, never taken as it is.
enum ContentDecoding {
    /// Chromium's `Accept-Encoding` value.
    static let advertised = "gzip, deflate, br, zstd"
    /// The largest decoded body accepted: ten times the largest file of the app is far below it.
    static let limit = 16 << 20

    /// `body` with every coding named in `Content-Encoding` removed, the last applied first. Throws a
    /// `ClientError` (`undecodable`) saying which coding could not be removed and why.
    static func decode(_ body: Data, contentEncoding: String?) throws -> Data {
        let codings = (contentEncoding ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        var data = body
        for coding in codings.reversed() {
            do {
                switch coding {
                case "identity": continue
                case "gzip", "x-gzip": data = try zlib(data, .gzip())
                // "deflate" is the zlib format (RFC 9110 section 8.4.1.2); like browsers, raw deflate is accepted too.
                case "deflate": data = try (try? zlib(data, .zlib())) ?? zlib(data, .deflate())
                case "br": data = try brotli(data)
                case "zstd": data = try zstd(data)
                default: throw Failure("no browser decodes it")
                }
            } catch let failure as Failure {
                throw ClientError("undecodable", "it came in the content coding '\(coding)', which this audit cannot decode: \(failure.reason)")
            } catch {
                throw ClientError("undecodable", "it came in the content coding '\(coding)' but does not decode (\(error))")
            }
        }
        return data
    }

    /// Why a body does not decode.
    struct Failure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func zlib(_ data: Data, _ algorithm: CompressionAlgorithm) throws -> Data {
        // Two bytes past the end: zlib stops at the end of a whole stream and leaves them unread; a stream cut
        // short reads into them (CompressNIO does not say whether the stream ended).
        var buffer = ByteBuffer(bytes: data + [0, 0])
        let decoded = try buffer.decompress(with: algorithm, maxSize: limit)
        guard buffer.readableBytes >= 2 else { throw Failure("the compressed stream is cut short") }
        guard buffer.readableBytes == 2 else { throw Failure("bytes follow the end of the compressed stream") }
        return Data(buffer: decoded)
    }
}
