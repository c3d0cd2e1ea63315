import CoreMetrics
import Foundation
import Hummingbird
import Prometheus
import Synchronization
import ReciprocityStore

/// The server's metrics, exposed at `/metrics` in Prometheus text format. Built on swift-metrics with a
/// Prometheus factory owned by this instance (no global bootstrap, so tests can run many servers).
///
/// Privacy: labels are the route *pattern*, the method and the status, never a concrete path, handle, token
/// or member; the mark and match counters have no labels at all.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let marksSubmitted: CoreMetrics.Counter
    let matchesMade: CoreMetrics.Counter

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        ]
        self.factory = factory
        marksSubmitted = CoreMetrics.Counter(label: "reciprocity_marks_submitted_total", factory: factory)
        matchesMade = CoreMetrics.Counter(label: "reciprocity_matches_total", factory: factory)
    }

    /// One counter and one timer per (method, route, status), made once: creating them looks them up in the
    /// registry under a lock and builds label strings, which cost more than recording.
    private struct Series: Hashable {
        let method: String
        let route: String
        let status: Int
    }

    private let series = Mutex<[Series: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])

    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let key = Series(method: method, route: route, status: status)
        let (counter, timer) = series.withLock { series in
            if let existing = series[key] { return existing }
            let dimensions = [("method", method), ("route", route), ("status", String(status))]
            let made = (
                CoreMetrics.Counter(label: "http_requests_total", dimensions: dimensions, factory: factory),
                CoreMetrics.Timer(label: "http_request_duration_seconds", dimensions: dimensions, factory: factory)
            )
            series[key] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The text exposition, with the store's aggregate gauges refreshed first.
    func exposition(store: any ReciprocityStore) async throws -> [UInt8] {
        let statistics = try await store.statistics()
        CoreMetrics.Gauge(label: "reciprocity_programs", factory: factory).record(statistics.programs)
        CoreMetrics.Gauge(label: "reciprocity_members", factory: factory).record(statistics.members)
        CoreMetrics.Gauge(label: "reciprocity_pending_marks", factory: factory).record(statistics.pendingMarks)
        CoreMetrics.Gauge(label: "reciprocity_matches", factory: factory).record(statistics.matches)
        if let sqlite = store as? SQLiteStore {
            CoreMetrics.Gauge(label: "reciprocity_database_bytes", factory: factory).record(sqlite.fileSize())
        }
        return registry.emitToBuffer()
    }
}

/// Records every request's count and latency by method, route pattern and status.
struct MetricsRecordingMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.recordRequest(
            method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: response.status.code,
            duration: ContinuousClock.now - start)
        return response
    }
}
