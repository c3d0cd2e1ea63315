import COpenSSL

extension ReciprocityError {
    /// Builds a `cryptoFailure` for a failed OpenSSL call, draining the thread's OpenSSL error queue so that a
    /// stale entry never leaks into a later, unrelated failure. OpenSSL's error strings name functions and
    /// reasons, never key material.
    static func openSSL(_ operation: String, file: String = #fileID, line: UInt = #line) -> ReciprocityError {
        var detail = ""
        let code = ERR_get_error()
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            detail = ": " + String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        ERR_clear_error()
        return ReciprocityError(.cryptoFailure, "OpenSSL \(operation) failed\(detail)", file: file, line: line)
    }
}
