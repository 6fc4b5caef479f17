import AsyncHTTPClient
import Foundation
import JobsDomain
public import JobsStore
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import Synchronization

/// Webhook delivery settings (`WEBHOOK_*`).
public struct WebhookSettings: Sendable, Equatable {
    /// Hosts or addresses that may be reached although internal (`WEBHOOK_ALLOWED_HOSTS`).
    public var allowedHosts: Set<String> = []
    public var timeout: Duration = .seconds(10)
    public var retryFor: Duration = .seconds(86_400)
    public var retryBase: Duration = .seconds(5)
    public var pollInterval: Duration = .seconds(1)
    /// Deliveries claimed (and sent concurrently) per pass.
    public var batchSize = 32
    /// Whether this server runs the deliverer (not a setting: in-process tests turn it off).
    public var runsDeliverer = true
    /// Finished deliveries are kept this long in the history.
    public var historyRetention: Duration = .seconds(7 * 86_400)

    public init() {}

    static func parseHosts(_ text: String) throws -> Set<String> {
        var hosts: Set<String> = []
        for item in text.split(separator: ",") {
            let host = AddressPolicy.normalize(item.trimmingCharacters(in: .whitespaces))
            guard !host.isEmpty, host.utf8.count <= 253, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x2f })
            else {
                throw ConfigurationError(
                    message: "WEBHOOK_ALLOWED_HOSTS must be comma-separated host names or addresses, got \"\(text)\"")
            }
            hosts.insert(host)
        }
        return hosts
    }

    /// The delay before retry number `attempt` (1 = after the first failure): `retryBase` ×
    /// 2^(attempt−1), at most one hour, then a random point in its upper half (jitter, so
    /// endpoints that fail together do not retry together).
    func backoff(afterAttempt attempt: Int) -> Duration {
        let base = Double(retryBase.components.seconds)
        let exponential = min(3600, base * pow(2, Double(min(max(attempt, 1), 30) - 1)))
        return .milliseconds(Int64(exponential * 1000 * Double.random(in: 0.5...1)))
    }
}

/// Wakes a waiting task, or makes its next wait return at once.
final class WakeSignal: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when woken, after `limit`, or when the task is cancelled.
    func wait(upTo limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                if (try? await Task.sleep(for: limit)) != nil { self.wake() }
            }
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let now = self.state.withLock { state -> Bool in
                            if state.pending {
                                state.pending = false
                                return true
                            }
                            state.waiter = continuation
                            return false
                        }
                        if now { continuation.resume() }
                    }
                } onCancel: {
                    self.wake()
                }
            }
            await group.next()
            group.cancelAll()
        }
        state.withLock { $0.pending = false }
    }
}

/// Delivers the webhook outbox (a background service on every instance): claims due rows with
/// `webhook_claim` (FOR UPDATE SKIP LOCKED, leased past the timeout), POSTs each, signed as
/// Standard Webhooks says, and records the answer; failures are retried with exponential
/// backoff and jitter for `retryFor`, after which the message is given up and an endpoint that
/// kept failing is disabled. Redirects are never followed; internal addresses are refused.
public final class WebhookDeliverer: Service, Sendable {
    let store: WebhookStore
    let settings: WebhookSettings
    let policy: AddressPolicy
    let metrics: AppMetrics
    let logger: Logger
    let signal = WakeSignal()
    let http: HTTPClient

    public init(store: WebhookStore, settings: WebhookSettings, metrics: AppMetrics, logger: Logger) {
        self.store = store
        self.settings = settings
        self.policy = AddressPolicy(allowedHosts: settings.allowedHosts)
        self.metrics = metrics
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(
            connect: .nanoseconds(settings.timeout.inNanoseconds), read: .nanoseconds(settings.timeout.inNanoseconds))
        configuration.decompression = .disabled
        // A refused connection is one failed attempt (retried by our own backoff), not a wait
        // until the timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Tells the deliverer a delivery was just queued (by this instance).
    public func wake() { signal.wake() }

    public func run() async throws {
        defer { _ = http.shutdown() }
        await cancelWhenGracefulShutdown {
            var lastPurge = ContinuousClock.now
            while !Task.isCancelled {
                var claimed = 0
                do {
                    let batch = try await self.store.claim(
                        limit: self.settings.batchSize, lease: self.settings.timeout + .seconds(5))
                    claimed = batch.count
                    await withTaskGroup(of: Void.self) { group in
                        for delivery in batch { group.addTask { await self.deliver(delivery) } }
                    }
                    if ContinuousClock.now - lastPurge > .seconds(3600) {
                        lastPurge = .now
                        try await self.store.purgeHistory(olderThan: self.settings.historyRetention)
                    }
                } catch {
                    self.logger.warning("webhook delivery pass failed", metadata: ["error": "\(error)"])
                }
                // A full batch: more may be due at once.
                if claimed < self.settings.batchSize { await self.signal.wait(upTo: self.settings.pollInterval) }
            }
        }
    }

    /// One attempt: POST, then record the outcome (never throws).
    func deliver(_ delivery: ClaimedDelivery) async {
        let started = ContinuousClock.now
        var status: Int?
        var failure: String?
        do {
            guard let url = URL(string: delivery.url), let host = url.host, !host.isEmpty else {
                throw AddressPolicy.Refused(description: "the endpoint URL is not a valid http(s) URL")
            }
            try await policy.check(host: host)
            let timestamp = Int64(Date().timeIntervalSince1970)
            let body = Array(delivery.payload.utf8)
            guard
                let signature = WebhookSignature.sign(
                    id: delivery.messageID, timestamp: timestamp, body: body, secrets: delivery.secrets)
            else { throw AddressPolicy.Refused(description: "the endpoint's secret is not a valid whsec_ secret") }
            var request = HTTPClientRequest(url: delivery.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "jobs-api-webhooks/1")
            request.headers.add(name: "webhook-id", value: delivery.messageID)
            request.headers.add(name: "webhook-timestamp", value: String(timestamp))
            request.headers.add(name: "webhook-signature", value: signature)
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await http.execute(request, timeout: .nanoseconds(settings.timeout.inNanoseconds))
            status = Int(response.status.code)
            // The answer's body is not used; read a little so the connection can be reused.
            _ = try? await response.body.collect(upTo: 16 * 1024)
            if !(200..<300).contains(Int(response.status.code)) {
                failure =
                    (300..<400).contains(Int(response.status.code))
                    ? "HTTP \(response.status.code) (redirects are not followed)" : "HTTP \(response.status.code)"
            }
        } catch let refused as AddressPolicy.Refused {
            failure = refused.description
        } catch {
            failure = Self.describe(error)
        }
        let elapsed = ContinuousClock.now - started
        let latencyMs = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        metrics.webhookAttempt(succeeded: failure == nil, seconds: Double(latencyMs) / 1000)
        do {
            if let failure {
                let delay = settings.backoff(afterAttempt: delivery.attempts)
                let retryAt = Date().addingTimeInterval(Double(delay.inNanoseconds) / 1e9)
                let disabled = try await store.recordFailure(
                    delivery, status: status, error: failure, latencyMs: latencyMs, retryAt: retryAt,
                    retryFor: settings.retryFor)
                logger.info(
                    "webhook delivery failed",
                    metadata: [
                        "message_id": "\(delivery.messageID)", "endpoint_id": "\(delivery.endpointID)",
                        "attempt": "\(delivery.attempts)", "error": "\(failure)",
                    ])
                if disabled {
                    metrics.webhookEndpointDisabled()
                    logger.warning(
                        "webhook endpoint disabled after failing for the whole retry window",
                        metadata: [
                            "organization_id": "\(delivery.organizationID)", "endpoint_id": "\(delivery.endpointID)",
                        ])
                }
            } else {
                try await store.recordSuccess(delivery, status: status ?? 200, latencyMs: latencyMs)
            }
        } catch {
            // The lease expires and the delivery is tried again: at least once.
            logger.warning(
                "could not record a webhook delivery",
                metadata: ["message_id": "\(delivery.messageID)", "error": "\(error)"])
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            case .remoteConnectionClosed: return "the receiver closed the connection"
            default: return "HTTP client error: \(error)"
            }
        }
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("deadlineExceeded") { return "timed out" }
        if text.contains("refused") { return "connection refused" }
        return String(text.prefix(300))
    }
}
