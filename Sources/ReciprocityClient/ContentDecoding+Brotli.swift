import CBrotli
import Foundation

extension ContentDecoding {
    /// Brotli (RFC 7932) with libbrotlidec: the whole stream, up to `budget` bytes out; truncated, corrupt or
    /// followed by more bytes is a `Failure`.
    static func brotli(_ data: Data, upTo budget: Int) throws -> Data {
        guard let decoder = BrotliDecoderCreateInstance(nil, nil, nil) else { throw Failure("out of memory") }
        defer { BrotliDecoderDestroyInstance(decoder) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            var nextIn = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
            var availableIn = input.count
            while true {
                var availableOut = chunk.count
                let result = chunk.withUnsafeMutableBufferPointer { out -> BrotliDecoderResult in
                    var nextOut = out.baseAddress
                    return BrotliDecoderDecompressStream(decoder, &availableIn, &nextIn, &availableOut, &nextOut, nil)
                }
                output.append(contentsOf: chunk[..<(chunk.count - availableOut)])
                guard output.count <= budget else { throw Failure("it decodes to more than \(limit) bytes in all") }
                switch result {
                case BROTLI_DECODER_RESULT_SUCCESS:
                    guard availableIn == 0 else { throw Failure("bytes follow the end of the compressed stream") }
                    return
                case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: continue
                case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: throw Failure("the compressed stream is cut short")
                default:
                    let code = BrotliDecoderGetErrorCode(decoder)
                    throw Failure(String(cString: BrotliDecoderErrorString(code)))
                }
            }
        }
        return output
    }
}
