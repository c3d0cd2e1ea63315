import CZstd
import Foundation

extension ContentDecoding {
    /// Zstandard (RFC 8878) with libzstd: every frame, up to `budget` bytes out, with Chromium's largest window
    /// (8 MiB, as RFC 9659 asks of HTTP); truncated or corrupt is a `Failure`.
    static func zstd(_ data: Data, upTo budget: Int) throws -> Data {
        guard let stream = ZSTD_createDCtx() else { throw Failure("out of memory") }
        defer { ZSTD_freeDCtx(stream) }
        ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, 23)
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var lastResult = 0
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            repeat {
                let (result, produced) = chunk.withUnsafeMutableBytes { out -> (Int, Int) in
                    var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                    let result = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    return (result, outBuffer.pos)
                }
                if ZSTD_isError(result) != 0 { throw Failure(String(cString: ZSTD_getErrorName(result))) }
                output.append(contentsOf: chunk[..<produced])
                guard output.count <= budget else { throw Failure("it decodes to more than \(limit) bytes in all") }
                lastResult = result
                // All input read and the output buffer not filled: nothing more will come out.
                if inBuffer.pos == inBuffer.size && produced < chunk.count { break }
            } while true
        }
        // A non-zero hint means the last frame is not complete.
        guard lastResult == 0, !data.isEmpty else { throw Failure("the compressed stream is cut short") }
        return output
    }
}
