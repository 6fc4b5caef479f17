import JobsDomain
public import LibPQ
public import Logging
public import ServiceLifecycle

/// Deletes expired idempotency records on a timer, in bounded batches (a background service).
public struct IdempotencyJanitor: Service {
    let client: PGClient
    let interval: Duration
    let logger: Logger

    public init(client: PGClient, interval: Duration, logger: Logger) {
        self.client = client
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try await Repeating(interval: interval, runFirst: false) {
            do {
                try await purge()
            } catch {
                logger.warning("idempotency cleanup failed", metadata: ["error": "\(error)"])
            }
        }.run()
    }

    /// Deletes every expired record, 10,000 at a time; returns how many.
    @discardableResult
    public func purge() async throws -> Int {
        var total = 0
        while true {
            let deleted = try await client.query("SELECT purge_expired_idempotency_keys(10000) AS n").first!
                .decode("n", as: Int.self)
            total += deleted
            if deleted < 10_000 { break }
        }
        if total > 0 { logger.info("deleted expired idempotency records", metadata: ["count": "\(total)"]) }
        return total
    }
}
