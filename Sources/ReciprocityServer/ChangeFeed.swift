import Foundation
import Synchronization

/// "Something changed" for members with a live connection open (`GET /v1/events`): a new message or end in one
/// of their conversations, or a new match. It carries no content, name or count, only the fact, and only to
/// the member it concerns. Within one process `changed` reaches the member's open streams directly; with several
/// processes on one PostgreSQL, `publish` (set by `reciprocityd serve`) passes the members' ids to the others,
/// which call `deliver`.
public final class ChangeFeed: Sendable {
    private let streams = Mutex<[Int64: [UInt64: Subscriber]]>([:])
    private let nextID = Atomic<UInt64>(0)
    private let publisher = Mutex<(@Sendable ([Int64]) -> Void)?>(nil)

    public init() {}

    /// Sends every change to other processes too (after this process's own streams have it).
    public func publish(through send: @escaping @Sendable ([Int64]) -> Void) {
        publisher.withLock { $0 = send }
    }

    /// Members `memberIDs` have something new: tells their streams here and in other processes.
    public func changed(memberIDs: [Int64]) {
        deliver(memberIDs: memberIDs)
        if let send = publisher.withLock({ $0 }) { send(memberIDs) }
    }

    /// Tells the streams of `memberIDs` in this process only.
    public func deliver(memberIDs: [Int64]) {
        let targets = streams.withLock { streams in memberIDs.flatMap { streams[$0].map { Array($0.values) } ?? [] } }
        for target in targets {
            target.changePending.store(true, ordering: .releasing)
            target.wake.yield()
        }
    }

    /// What a member's stream carries: a change, or a keep-alive that carries nothing.
    enum Tick: Sendable { case changed, keepAlive }

    /// One open stream: a pending change is a flag, set by `deliver` and taken by the reader, so that a
    /// keep-alive waking the reader can never stand in for it. The wake-ups themselves collapse (one buffered).
    private final class Subscriber: Sendable {
        let wake: AsyncStream<Void>.Continuation
        let changePending = Atomic<Bool>(false)

        init(wake: AsyncStream<Void>.Continuation) { self.wake = wake }

        /// What the reader writes for one wake-up: the change if one is pending (taking it), else a keep-alive.
        func tick() -> Tick { changePending.exchange(false, ordering: .acquiring) ? .changed : .keepAlive }
    }

    /// A stream of the member's changes (changes that arrive faster than they are read collapse into one), with
    /// a keep-alive every `keepAlive` when no change is pending, until the caller drops it or calls `end`. A
    /// member holds at most `maxStreams` at once: opening another ends the oldest.
    func subscribe(memberID: Int64, keepAlive: Duration) -> (
        ticks: AsyncMapSequence<AsyncStream<Void>, Tick>, end: @Sendable () -> Void
    ) {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let subscriber = Subscriber(wake: continuation)
        let evicted = streams.withLock { streams in
            var own = streams[memberID, default: [:]]
            var evicted: [Subscriber] = []
            while own.count >= Self.maxStreams, let oldest = own.keys.min() {
                evicted.append(own.removeValue(forKey: oldest)!)
            }
            own[id] = subscriber
            streams[memberID] = own
            return evicted
        }
        for old in evicted { old.wake.finish() }
        let pinger = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAlive)
                continuation.yield()
            }
        }
        continuation.onTermination = { [weak self] _ in
            pinger.cancel()
            self?.streams.withLock { streams in
                streams[memberID]?[id] = nil
                if streams[memberID]?.isEmpty == true { streams[memberID] = nil }
            }
        }
        return (stream.map { subscriber.tick() }, { continuation.finish() })
    }

    /// Streams one member may hold open at once (tabs, devices).
    static let maxStreams = 4

    /// Open streams, for tests and metrics.
    var openStreams: Int { streams.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
