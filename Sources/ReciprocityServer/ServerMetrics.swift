import CoreMetrics
import Foundation
import Hummingbird
import Prometheus
import ReciprocityStore
import Synchronization

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
    /// Store statistics queries made for the gauges.
    let statisticsRefreshes: CoreMetrics.Counter

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        ]
        self.factory = factory
        marksSubmitted = CoreMetrics.Counter(label: "reciprocity_marks_submitted_total", factory: factory)
        matchesMade = CoreMetrics.Counter(label: "reciprocity_matches_total", factory: factory)
        statisticsRefreshes = CoreMetrics.Counter(label: "reciprocity_statistics_refreshes_total", factory: factory)
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
        timer.recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The store's aggregate gauges, refreshed at most every `refreshInterval`: they cost `COUNT(*)` over the
    /// mark and match tables, and a fresh value with every scrape would let whoever scrapes watch members mark.
    /// Scrapes that arrive while a refresh runs wait for it (one query, however many scrapes).
    private struct Gauges: Sendable {
        let statistics: StoreStatistics
        let databaseBytes: Int?
    }

    private struct GaugeCache {
        var refresh: Task<Gauges, any Error>?
        var startedAt: ContinuousClock.Instant?
    }

    private let gaugeCache = Mutex(GaugeCache())

    private func gauges(store: any ReciprocityStore, refreshInterval: Duration) async throws -> Gauges {
        let now = ContinuousClock.now
        let refresh = gaugeCache.withLock { cache in
            if let refresh = cache.refresh, let startedAt = cache.startedAt, now - startedAt < refreshInterval {
                return refresh
            }
            let refresh = Task {
                let statistics = try await store.statistics()
                statisticsRefreshes.increment()
                return Gauges(statistics: statistics, databaseBytes: statistics.databaseBytes)
            }
            cache = GaugeCache(refresh: refresh, startedAt: now)
            return refresh
        }
        do {
            return try await refresh.value
        } catch {
            // A failed refresh is not kept: the next scrape tries again.
            gaugeCache.withLock { cache in if cache.refresh == refresh { cache = GaugeCache() } }
            throw error
        }
    }

    /// The text exposition, with the store's aggregate gauges at most `refreshInterval` old.
    func exposition(store: any ReciprocityStore, refreshInterval: Duration) async throws -> [UInt8] {
        let gauges = try await gauges(store: store, refreshInterval: refreshInterval)
        CoreMetrics.Gauge(label: "reciprocity_programs", factory: factory).record(gauges.statistics.programs)
        CoreMetrics.Gauge(label: "reciprocity_members", factory: factory).record(gauges.statistics.members)
        CoreMetrics.Gauge(label: "reciprocity_pending_marks", factory: factory).record(gauges.statistics.pendingMarks)
        CoreMetrics.Gauge(label: "reciprocity_matches", factory: factory).record(gauges.statistics.matches)
        if let bytes = gauges.databaseBytes {
            CoreMetrics.Gauge(label: "reciprocity_database_bytes", factory: factory).record(bytes)
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
