import CoreMetrics
import Foundation
import Hummingbird
import JobsDomain
public import LibPQ
import NIOConcurrencyHelpers
import NIOCore
public import Prometheus

/// The service's metrics, through swift-metrics with a Prometheus registry behind them
/// (`GET /metrics`, text exposition format). Route labels are templates, never raw paths.
public final class AppMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let createdCounter: CoreMetrics.Counter
    private let progressCounter: CoreMetrics.Counter
    private let replayCounter: CoreMetrics.Counter
    private let acquireTimer: CoreMetrics.Timer
    private let terminalCounters: [JobStatus: CoreMetrics.Counter]
    private let pool = NIOLockedValueBox<PGClient?>(nil)
    private let liveHub = NIOLockedValueBox<LiveHub?>(nil)
    private let liveEventsCounter: CoreMetrics.Counter
    private let listenerReconnectsCounter: CoreMetrics.Counter
    private let webhookDelivered: CoreMetrics.Counter
    private let webhookFailed: CoreMetrics.Counter
    private let webhookTimer: CoreMetrics.Timer
    private let webhookDisabledCounter: CoreMetrics.Counter
    private let stalledCounter: CoreMetrics.Counter
    private let stalledGauge: CoreMetrics.Gauge

    /// The pool whose figures `/metrics` reports.
    public func attach(_ client: PGClient) { pool.withLockedValue { $0 = client } }

    public init(client: PGClient? = nil) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        self.registry = registry
        self.factory = factory
        createdCounter = CoreMetrics.Counter(label: "jobs_created_total", factory: factory)
        progressCounter = CoreMetrics.Counter(label: "jobs_progress_updates_applied_total", factory: factory)
        replayCounter = CoreMetrics.Counter(label: "idempotent_replays_total", factory: factory)
        acquireTimer = CoreMetrics.Timer(label: "db_pool_acquire_seconds", factory: factory)
        liveEventsCounter = CoreMetrics.Counter(label: "sse_events_sent_total", factory: factory)
        listenerReconnectsCounter = CoreMetrics.Counter(label: "listener_reconnects_total", factory: factory)
        webhookDelivered = CoreMetrics.Counter(
            label: "webhook_attempts_total", dimensions: [("result", "delivered")], factory: factory)
        webhookFailed = CoreMetrics.Counter(
            label: "webhook_attempts_total", dimensions: [("result", "failed")], factory: factory)
        webhookTimer = CoreMetrics.Timer(label: "webhook_attempt_duration_seconds", factory: factory)
        webhookDisabledCounter = CoreMetrics.Counter(label: "webhook_endpoints_disabled_total", factory: factory)
        stalledCounter = CoreMetrics.Counter(label: "jobs_stalled_total", factory: factory)
        stalledGauge = CoreMetrics.Gauge(label: "jobs_stalled", factory: factory)
        stalledGauge.record(0)
        var terminal: [JobStatus: CoreMetrics.Counter] = [:]
        for status in JobStatus.allCases where status.isTerminal {
            terminal[status] = CoreMetrics.Counter(
                label: "jobs_terminal_total", dimensions: [("status", status.rawValue)], factory: factory)
        }
        terminalCounters = terminal
        pool.withLockedValue { $0 = client }
    }

    // MARK: HTTP

    /// Metric handles by (method, route, status): creating them goes through the registry's
    /// lock and label checks, so each combination is made once.
    private struct RouteKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    private let routeHandles = NIOLockedValueBox([RouteKey: (CoreMetrics.Counter, CoreMetrics.Timer)]())

    func record(method: String, route: String, status: Int, seconds: Double) {
        let key = RouteKey(method: method, route: route, status: status)
        let handles = routeHandles.withLockedValue { handles -> (CoreMetrics.Counter, CoreMetrics.Timer) in
            if let existing = handles[key] { return existing }
            let dimensions = [("method", method), ("route", route), ("status", String(status))]
            let made = (
                CoreMetrics.Counter(label: "http_requests_total", dimensions: dimensions, factory: factory),
                CoreMetrics.Timer(label: "http_request_duration_seconds", dimensions: dimensions, factory: factory)
            )
            handles[key] = made
            return made
        }
        handles.0.increment()
        handles.1.recordNanoseconds(Int64(seconds * 1e9))
    }

    // MARK: Domain

    func jobCreated() { createdCounter.increment() }

    func progressApplied() { progressCounter.increment() }

    func jobEnded(_ status: JobStatus) { terminalCounters[status]?.increment() }

    func idempotentReplay() { replayCounter.increment() }

    /// One stall watch pass: jobs stalled now (all organizations), and stalls newly announced.
    public func stallPass(stalled: Int, notified: Int) {
        stalledGauge.record(stalled)
        if notified > 0 { stalledCounter.increment(by: notified) }
    }

    // MARK: Live streams

    /// The hub whose open streams `/metrics` reports.
    func attach(_ hub: LiveHub) { liveHub.withLockedValue { $0 = hub } }

    func liveEventSent() { liveEventsCounter.increment() }

    func listenerReconnected() { listenerReconnectsCounter.increment() }

    /// One webhook delivery attempt and how long it took.
    func webhookAttempt(succeeded: Bool, seconds: Double) {
        (succeeded ? webhookDelivered : webhookFailed).increment()
        webhookTimer.recordSeconds(seconds)
    }

    /// An endpoint disabled after failing for the whole retry window.
    func webhookEndpointDisabled() { webhookDisabledCounter.increment() }

    /// Records one pool acquire (wired into `PGConfiguration.acquireObserver`).
    public func poolAcquired(after wait: Duration) {
        acquireTimer.recordNanoseconds(wait.inNanoseconds)
    }

    // MARK: Exposition

    /// The text exposition, with the pool gauges read at scrape time.
    public func render() -> String {
        if let stats = pool.withLockedValue({ $0 })?.statistics {
            Gauge(label: "db_pool_max_connections", factory: factory).record(stats.maxConnections)
            Gauge(label: "db_pool_open_connections", factory: factory).record(stats.open)
            Gauge(label: "db_pool_in_use_connections", factory: factory).record(stats.leased)
            Gauge(label: "db_pool_idle_connections", factory: factory).record(stats.idle)
            Gauge(label: "db_pool_waiters", factory: factory).record(stats.waiting)
        }
        if let hub = liveHub.withLockedValue({ $0 }) {
            Gauge(label: "sse_open_streams", factory: factory).record(hub.openStreams)
        }
        return registry.emitToString()
    }

    var routes: [Route] {
        [
            Route(method: .get, path: "/metrics") { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                return Response(
                    status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: self.render())))
            }
        ]
    }
}
