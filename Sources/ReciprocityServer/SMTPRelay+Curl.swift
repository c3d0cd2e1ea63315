import CCurl
public import Foundation

/// The operator's SMTP relay, reached through libcurl: STARTTLS always required (`CURLUSESSL_ALL`, so a relay
/// that does not offer it is refused, never spoken to in clear), the certificate checked against the system's
/// CAs or `caFile`, authentication when a username is set, and a bound on every transaction.
public struct SMTPRelay: NoticeSending, CustomStringConvertible {
    /// `smtp://HOST:PORT` (STARTTLS) or `smtps://HOST:PORT` (TLS from the first byte).
    public let url: String
    public let username: String?
    /// Never logged, never in an error.
    let password: String?
    /// A PEM file of the CAs to trust instead of the system's (a private relay).
    public let caFile: String?
    /// Seconds one SMTP transaction may take, connecting included.
    public let timeout: Int

    public init(url: String, username: String?, password: String?, caFile: String?, timeout: Int) {
        self.url = url
        self.username = username
        self.password = password
        self.caFile = caFile
        self.timeout = timeout
    }

    /// Without the password, so that no log or error can carry it.
    public var description: String {
        "SMTPRelay(\(url), user: \(username ?? "none"), password: \(password == nil ? "none" : "set"), CA file: \(caFile ?? "system"))"
    }

    private static let initialised: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// Sends one message; blocking libcurl runs on a thread of its own, not on the concurrency pool.
    public func send(_ email: OutgoingEmail) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                continuation.resume(with: Result { try self.sendBlocking(email) })
            }
        }
    }

    /// The message bytes libcurl reads, with how far it has read.
    private final class Upload {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    private func sendBlocking(_ email: OutgoingEmail) throws {
        guard Self.initialised, let curl = curl_easy_init() else {
            throw SMTPFailure(curlCode: -1, replyCode: 0, reason: "libcurl could not start")
        }
        defer { curl_easy_cleanup(curl) }
        let upload = Upload(Array(email.rendered.utf8))
        let recipients = curl_slist_append(nil, "<\(email.to)>")
        defer { curl_slist_free_all(recipients) }
        var options: [CURLcode] = [
            reciprocity_curl_set_string(curl, CURLOPT_URL, url),
            reciprocity_curl_set_long(curl, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)),
            reciprocity_curl_set_long(curl, CURLOPT_SSL_VERIFYPEER, 1),
            reciprocity_curl_set_long(curl, CURLOPT_SSL_VERIFYHOST, 2),
            reciprocity_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT, timeout),
            reciprocity_curl_set_long(curl, CURLOPT_TIMEOUT, timeout),
            reciprocity_curl_set_long(curl, CURLOPT_NOSIGNAL, 1),
            reciprocity_curl_set_string(curl, CURLOPT_MAIL_FROM, "<\(email.from)>"),
            reciprocity_curl_set_pointer(curl, CURLOPT_MAIL_RCPT, recipients),
            reciprocity_curl_set_long(curl, CURLOPT_UPLOAD, 1),
            reciprocity_curl_set_read_function(curl) { buffer, size, count, context in
                let upload = Unmanaged<Upload>.fromOpaque(context!).takeUnretainedValue()
                let length = min(size * count, upload.bytes.count - upload.offset)
                upload.bytes.withUnsafeBufferPointer { bytes in
                    buffer!.withMemoryRebound(to: UInt8.self, capacity: length) {
                        $0.update(from: bytes.baseAddress! + upload.offset, count: length)
                    }
                }
                upload.offset += length
                return length
            },
        ]
        if let caFile { options.append(reciprocity_curl_set_string(curl, CURLOPT_CAINFO, caFile)) }
        if let username {
            options.append(reciprocity_curl_set_string(curl, CURLOPT_USERNAME, username))
            options.append(reciprocity_curl_set_string(curl, CURLOPT_PASSWORD, password ?? ""))
        }
        if let failed = options.first(where: { $0 != CURLE_OK }) {
            throw SMTPFailure(curlCode: Int(failed.rawValue), replyCode: 0, reason: "libcurl refused an option")
        }
        let result = withExtendedLifetime(upload) {
            reciprocity_curl_set_pointer(curl, CURLOPT_READDATA, Unmanaged.passUnretained(upload).toOpaque())
            return curl_easy_perform(curl)
        }
        guard result == CURLE_OK else {
            // curl's own words for its code; never the relay's reply text, which may quote the address.
            throw SMTPFailure(
                curlCode: Int(result.rawValue), replyCode: reciprocity_curl_response_code(curl),
                reason: String(cString: curl_easy_strerror(result)))
        }
    }
}
