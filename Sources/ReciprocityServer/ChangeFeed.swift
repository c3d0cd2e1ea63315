import Foundation
import Synchronization

/// "Something changed" for members with a live connection open (`GET /v1/events`): a new message or end in one
/// of their conversations, or a new match. It carries no content, name or count, only the fact, and only to
/// the member it concerns. Within one process `changed` reaches the member's open streams directly; with several
/// processes on one PostgreSQL, `publish` (set by `reciprocityd serve`) passes the members' ids to the others,
/// which call `deliver`.
public final class ChangeFeed: Sendable {
    private let streams = Mutex<[Int64: [UInt64: AsyncStream<Tick>.Continuation]]>([:])
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
        for target in targets { target.yield(.changed) }
    }

    /// What a member's stream carries: a change, or a keep-alive that carries nothing.
    enum Tick: Sendable { case changed, keepAlive }

    /// A stream of the member's changes (ticks that arrive faster than they are read collapse into one), with a
    /// keep-alive every `keepAlive`, until the caller drops it or calls `end`. A member holds at most
    /// `maxStreams` at once: opening another ends the oldest.
    func subscribe(memberID: Int64, keepAlive: Duration) -> (ticks: AsyncStream<Tick>, end: @Sendable () -> Void) {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<Tick>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let evicted = streams.withLock { streams in
            var own = streams[memberID, default: [:]]
            var evicted: [AsyncStream<Tick>.Continuation] = []
            while own.count >= Self.maxStreams, let oldest = own.keys.min() {
                evicted.append(own.removeValue(forKey: oldest)!)
            }
            own[id] = continuation
            streams[memberID] = own
            return evicted
        }
        for old in evicted { old.finish() }
        let pinger = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAlive)
                continuation.yield(.keepAlive)
            }
        }
        continuation.onTermination = { [weak self] _ in
            pinger.cancel()
            self?.streams.withLock { streams in
                streams[memberID]?[id] = nil
                if streams[memberID]?.isEmpty == true { streams[memberID] = nil }
            }
        }
        return (stream, { continuation.finish() })
    }

    /// Streams one member may hold open at once (tabs, devices).
    static let maxStreams = 4

    /// Open streams, for tests and metrics.
    var openStreams: Int { streams.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
