public import LibPQ
public import Logging
public import ServiceLifecycle

/// Keeps the planner's statistics up with a young, growing database (a background service).
///
/// Once a second it calls `refresh_young_statistics()` (migration 0010), which ANALYZEs a table
/// of ours only when it has at least doubled since its last ANALYZE and is still under a million
/// rows; usually it does nothing. Without it, prepared statements planned while the tables were
/// tiny keep a generic plan that walks every index entry of the organization until autovacuum
/// gets round to the table (measured: progress reports 4x slower for the first minutes).
public struct StatisticsKeeper: Service {
    let client: PGClient
    let interval: Duration
    let logger: Logger

    public init(client: PGClient, interval: Duration = .seconds(1), logger: Logger) {
        self.client = client
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try await Repeating(interval: interval, runFirst: true) {
            do {
                try await refresh()
            } catch {
                logger.debug("statistics refresh failed", metadata: ["error": "\(error)"])
            }
        }.run()
    }

    /// Runs the check once; returns how many tables it analyzed.
    @discardableResult
    public func refresh() async throws -> Int {
        let analyzed = try await client.query("SELECT refresh_young_statistics() AS n").first!.decode("n", as: Int.self)
        if analyzed > 0 { logger.debug("refreshed planner statistics", metadata: ["tables": "\(analyzed)"]) }
        return analyzed
    }
}
