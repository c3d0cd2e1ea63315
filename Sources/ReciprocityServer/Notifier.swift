public import Foundation
public import Logging
public import ReciprocityStore
public import ServiceLifecycle

/// Sends one email: the SMTP relay (``SMTPRelay``), or a test's stand-in.
public protocol NoticeSending: Sendable {
    func send(_ email: OutgoingEmail) async throws
}

/// A failed SMTP transaction: libcurl's code, the relay's last reply code (0 when it never answered) and
/// libcurl's words for the code. Never the relay's reply text, which may quote the address.
public struct SMTPFailure: Error, Sendable {
    public let curlCode: Int
    public let replyCode: Int
    public let reason: String

    /// The relay refused the recipient or the message for good (a 5xx mailbox reply, RFC 5321 section 4.2.2),
    /// so sending it again cannot help. Authentication and other 5xx replies are the operator's to fix, and
    /// are retried.
    public var isPermanent: Bool { (550...554).contains(replyCode) }
}

/// One notice as an RFC 5322 message. Every header value is made from checked text only: the address has no
/// space or control character (`EmailAddress`), the program name is a `ProgramID`.
public struct OutgoingEmail: Sendable, Equatable {
    public let from: String
    public let to: String
    public let subject: String
    public let body: String
    public let messageID: String
    public let date: Date

    /// The notice `delivery` as a message from `from`. Its Message-ID is the notice's random one (given at its
    /// first claim), so a resend of the same notice carries the same one, and no Message-ID says how many
    /// notices the server sent. The text names the program only: never the other member, a note or a message.
    public init(_ delivery: NoticeDelivery, from: String, appURL: String?, date: Date) {
        let program = delivery.program.rawValue
        let text: String
        switch delivery.kind {
        case .match:
            subject = "You have a new match in \(program)"
            text = "You have a new match in \(program). Open the app to see it."
        case .message:
            subject = "You have a new message in \(program)"
            text = "You have a new message from one of your matches in \(program). Open the app to read it."
        case .completeProfile:
            subject = "Complete your profile in \(program)"
            text =
                "The organizers of \(program) ask you to complete your profile (a name, a headline, at least one"
                + " tag, and whether you offer or seek mentoring), so that other members can find you."
        case .roundClosing:
            subject = "The current round of \(program) closes soon"
            let closes = delivery.roundClosesAt.map { " at \(Self.roundTimeFormat.string(from: $0))" } ?? " soon"
            text =
                "The current round of \(program) closes\(closes). Then its pending interests are cleared from the"
                + " server and your app sends yours again, for the new round, the next time you open it; matches"
                + " you have stay. Open the app before then to look at your interests."
        }
        let domain = from.split(separator: "@").last.map(String.init) ?? "reciprocity.invalid"
        self.from = from
        self.to = delivery.email
        self.messageID = "<notice-\(delivery.messageID)@\(domain)>"
        self.date = date
        self.body =
            text + (appURL.map { "\n\n\($0)" } ?? "")
            + "\n\nYou get this because you gave this address for notices. To stop them, remove it in the app."
    }

    static let dateFormat: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter
    }()

    /// A round's closing time as a notice says it: "Tue 8 Dec 2026, 18:00 UTC".
    static let roundTimeFormat: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE d MMM yyyy, HH:mm 'UTC'"
        return formatter
    }()

    /// The message as sent: headers, a blank line, the body, every line ended by CRLF.
    public var rendered: String {
        let headers = [
            "From: <\(from)>", "To: <\(to)>", "Subject: \(subject)", "Date: \(Self.dateFormat.string(from: date))",
            "Message-ID: \(messageID)", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit", "Auto-Submitted: auto-generated",
        ]
        return (headers + [""] + body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
            .joined(separator: "\r\n") + "\r\n"
    }
}

/// How the notifier runs (the `reciprocityd serve` settings of email notices).
public struct NotifierConfiguration: Sendable {
    public var from: String
    /// Shown at the end of every notice, if set: where members open the app.
    public var appURL: String?
    /// Seconds between passes that look for new matches.
    public var interval: Duration = .seconds(30)
    /// Messages a minute at most.
    public var perMinute = 30
    /// Seconds of random delay before each match notice is due, so a match's two notices do not leave together.
    public var spread: TimeInterval = 300
    /// How long a claimed notice is held before it may be sent again (``NoticeStore/lease(smtpTimeout:)``).
    public var lease: TimeInterval = 65
    /// How long before a scheduled round closes the members are told.
    public var roundNoticeLead: TimeInterval = NoticeLimits.defaultRoundNoticeLead

    public init(from: String) { self.from = from }
}

/// Fills the notice queue from new matches and sends what is due, one message at a time, until graceful
/// shutdown. It runs beside the HTTP application and never in a request: marking is unchanged by it.
///
/// A notice is marked `sending` before its SMTP transaction and `sent` after. If the process dies between the
/// relay's acceptance and that second write, the notice is sent again once its claim's lease has passed: at
/// most one duplicate per crash, with the same Message-ID, which lets a mail system or reader recognise it.
public struct Notifier: Service {
    let store: any ReciprocityStore
    let sender: any NoticeSending
    let configuration: NotifierConfiguration
    let logger: Logger

    public init(
        store: any ReciprocityStore, sender: any NoticeSending, configuration: NotifierConfiguration, logger: Logger
    ) {
        self.store = store
        self.sender = sender
        self.configuration = configuration
        self.logger = logger
    }

    /// Seconds before the next try after `attempts` failures: 2, 4, 8, … up to an hour.
    public static func backoff(attempts: Int) -> TimeInterval { min(3600, 2 * pow(2, Double(min(attempts, 12)))) }

    public func run() async throws {
        let pause = Duration.milliseconds(60_000 / max(1, configuration.perMinute))
        await repeatUntilShutdown(every: configuration.interval, logger: logger, failure: "notifier pass failed") {
            let now = Date()
            let queued = try await store.queueMatchNotices(
                since: now - NoticeLimits.matchLookback, now: now, spread: configuration.spread)
            let messages = try await store.queueMessageNotices(
                since: now - NoticeLimits.matchLookback, now: now, spread: configuration.spread)
            let closing = try await store.queueRoundClosingNotices(now: now, lead: configuration.roundNoticeLead)
            if queued + messages + closing > 0 {
                logger.info(
                    "notices queued",
                    metadata: ["matches": "\(queued)", "messages": "\(messages)", "round_closing": "\(closing)"])
            }
            while !Task.isShuttingDownGracefully,
                let delivery = try await store.claimNotice(now: Date(), lease: configuration.lease)
            {
                try await deliver(delivery)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }

    /// Sends one claimed notice and records the outcome. Logs name the notice's row id, never the address.
    func deliver(_ delivery: NoticeDelivery) async throws {
        let email = OutgoingEmail(delivery, from: configuration.from, appURL: configuration.appURL, date: Date())
        do {
            try await sender.send(email)
            try await store.noticeSent(id: delivery.id, now: Date())
            logger.info("notice sent", metadata: ["notice": "\(delivery.id)", "kind": "\(delivery.kind.rawValue)"])
        } catch let failure as SMTPFailure where failure.isPermanent {
            try await store.dropNotice(id: delivery.id)
            logger.warning(
                "notice bounced; dropped",
                metadata: ["notice": "\(delivery.id)", "smtp_reply": "\(failure.replyCode)"])
        } catch let failure as SMTPFailure {
            let wait = Self.backoff(attempts: delivery.attempts)
            try await store.noticeFailed(id: delivery.id, retryAt: Date() + wait)
            logger.warning(
                "notice not sent; will retry",
                metadata: [
                    "notice": "\(delivery.id)", "attempt": "\(delivery.attempts + 1)", "retry_in_s": "\(Int(wait))",
                    "curl_code": "\(failure.curlCode)", "smtp_reply": "\(failure.replyCode)",
                    "reason": "\(failure.reason)",
                ])
        }
    }
}
