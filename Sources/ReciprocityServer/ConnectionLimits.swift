import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import ReciprocityAPI
import Synchronization

/// What one connection may cost, whoever opens it: see the configuration table in docs/operations.md.
struct ConnectionLimits: Sendable {
    /// Seconds from a request's first byte until its last body byte must have arrived.
    var requestTimeout: Int
    /// Bytes a second a request body must average once `bodyRateGrace` has passed; 0: no minimum.
    var minimumBodyRate: Int
    /// Connections open at once; beyond it a new connection is answered 503 and closed.
    var maxConnections: Int

    static let bodyRateGrace = 5
}

/// Hummingbird's HTTP/1.1 child channel with three additions: a bound on open connections, a whole-request
/// deadline and a minimum body rate (``RequestDeadlineHandler``), neither of which Hummingbird's idle timeout
/// gives, as every body byte resets it.
struct LimitedHTTP1Channel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let base: HTTP1Channel.Value
        let admitted: Bool
        var channel: any Channel { base.channel }
    }

    let base: HTTP1Channel
    let limits: ConnectionLimits
    let openConnections = OpenConnections()

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        // Counted from accept to close; a refused connection counts until it is closed, moments later.
        let open = openConnections.count.add(1, ordering: .relaxed).newValue
        let openConnections = self.openConnections
        channel.closeFuture.whenComplete { _ in openConnections.count.subtract(1, ordering: .relaxed) }
        let limits = self.limits
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let deadline = RequestDeadlineHandler(limits: limits, logger: logger)
            try pipeline.addHandler(
                deadline, position: .before(try pipeline.handler(type: HTTPConnectionStateHandler.self)))
            try pipeline.addHandler(RequestStartHandler(deadline: deadline), position: .first)
            return Value(base: value, admitted: open <= limits.maxConnections)
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard value.admitted else {
            logger.debug("connection refused: too many open connections")
            try? await value.base.executeThenClose { _, outbound in
                var head = HTTPResponse(status: .serviceUnavailable, headerFields: [.connection: "close"])
                let body = Problem.tooManyConnections.encoded(into: &head.headerFields)
                try await outbound.write(.head(head))
                try await outbound.write(.body(body))
                try await outbound.write(.end(nil))
            }
            return
        }
        await base.handle(value: value.base, logger: logger)
    }
}

final class OpenConnections: Sendable {
    let count = Atomic<Int>(0)
}

/// Sits after the HTTP decoder. A request's clock starts at its first byte (``RequestStartHandler``) or its
/// head, whichever comes first, and stops when its last body part arrives: past `requestTimeout` seconds, or
/// with a body slower than `minimumBodyRate` after the grace period, the client gets 408 `request-timeout`
/// (if no response has started) and the connection is closed. A malformed request that never became a
/// request (the parser failed on its head) gets 400 `invalid-body` and the connection is closed, with
/// nothing logged above info. The clock counts what has reached the parser: if the server itself stops
/// reading a body for longer than the limits allow (its handler stalled on a locked database, say), that
/// request times out too.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// When the current request started arriving; nil between requests.
    private var started: NIODeadline?
    private var check: RepeatedTask?
    private var headRead = false
    private var bodyBytes = 0
    private var expectedBytes: Int?
    /// Requests whose head was read and whose response has not ended.
    private var unanswered = 0
    private var responseStarted = false
    private var closing = false

    init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopChecking()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopChecking()
        context.fireChannelInactive()
    }

    /// Bytes arrived from the client: if no request is being received, one starts now. One check a second
    /// runs for the connection's life from its first request (not one per request: scheduling and
    /// cancelling a timer on every request of a keep-alive connection costs more than the check).
    func bytesArrived() {
        guard started == nil, let context else { return }
        started = .now()
        guard check == nil else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            handler.value.checkProgress()
        }
    }

    /// The request has fully arrived: its clock stops until the next one starts.
    private func stopClock() {
        started = nil
    }

    private func stopChecking() {
        check?.cancel()
        check = nil
        started = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            bytesArrived()
            headRead = true
            unanswered += 1
            responseStarted = false
            bodyBytes = 0
            expectedBytes = head.headerFields[.contentLength].flatMap { Int($0) }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            headRead = false
            stopClock()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: responseStarted = true
        case .end: unanswered -= 1
        default: break
        }
        context.write(data, promise: promise)
    }

    private func checkProgress() {
        guard let started, !closing else { return }
        let elapsed = Int((NIODeadline.now() - started).nanoseconds / 1_000_000_000)
        if elapsed >= limits.requestTimeout {
            refuse(Problem(.requestTimeout, detail: "the request did not arrive within \(limits.requestTimeout) s"))
        } else if headRead, limits.minimumBodyRate > 0, elapsed > ConnectionLimits.bodyRateGrace {
            let required = limits.minimumBodyRate * (elapsed - ConnectionLimits.bodyRateGrace)
            if bodyBytes < min(required, expectedBytes ?? .max) {
                refuse(
                    Problem(
                        .requestTimeout,
                        detail: "the request body arrived slower than \(limits.minimumBodyRate) bytes a second"))
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A parser error inside a request's body reaches the route, which answers it (ProblemMiddleware);
        // one before any request exists is answered here, as Hummingbird's own answer has no problem body.
        guard error is HTTPParserError, !headRead, unanswered == 0 else {
            context.fireErrorCaught(error)
            return
        }
        logger.info("malformed request", metadata: ["error": "\(error)"])
        refuse(.malformedRequest)
    }

    /// Answers `problem` unless a response has started, then closes the connection.
    private func refuse(_ problem: Problem) {
        guard let context, !closing else { return }
        closing = true
        stopChecking()
        if problem.code == ProblemCode.requestTimeout.rawValue {
            logger.info("request timed out", metadata: ["reason": "\(problem.detail ?? "")"])
        }
        guard !responseStarted || unanswered == 0 else {
            context.close(promise: nil)
            return
        }
        var head = HTTPResponse(status: problem.status)
        head.headerFields[.connection] = "close"
        let body = problem.encoded(into: &head.headerFields)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

/// Sits before the HTTP decoder and tells ``RequestDeadlineHandler`` when bytes arrive, so that a request's
/// clock starts with its first byte, not when its head is complete.
final class RequestStartHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let deadline: RequestDeadlineHandler

    init(deadline: RequestDeadlineHandler) { self.deadline = deadline }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline.bytesArrived()
        context.fireChannelRead(data)
    }
}
