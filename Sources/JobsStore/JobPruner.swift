public import JobsDomain
public import LibPQ
public import Logging
public import ServiceLifecycle

/// Retention: deletes terminal jobs that ended before a cutoff, in short batches, through the
/// SQL function `prune_jobs` (SECURITY DEFINER; the owner role and, since migration 0009, the
/// runtime role `jobs_api_app` may execute it).
public struct JobPruner: Sendable {
    let client: PGClient
    let logger: Logger

    public init(client: PGClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public struct Result: Sendable, Equatable {
        public var jobs: Int
        public var events: Int
    }

    public func prune(olderThan: Duration, statuses: [JobStatus]?, batchSize: Int = 1000, dryRun: Bool) async throws
        -> Result
    {
        let interval = "\(olderThan.components.seconds) seconds"
        let statusArray = statuses.map { PGTextArray($0.map(\.rawValue)) }
        var total = Result(jobs: 0, events: 0)
        while true {
            let row = try await client.query(
                """
                SELECT jobs_deleted, events_deleted
                FROM prune_jobs(\(interval)::interval, \(statusArray)::text[], \(batchSize)::int, \(dryRun))
                """
            ).first!
            let jobs = try row.decode("jobs_deleted", as: Int.self)
            total.jobs += jobs
            total.events += try row.decode("events_deleted", as: Int.self)
            if dryRun || jobs < batchSize { break }
            try Task.checkCancellation()
        }
        if total.jobs > 0 && !dryRun {
            logger.info("pruned jobs", metadata: ["jobs": "\(total.jobs)", "events": "\(total.events)"])
        }
        return total
    }
}

/// Runs `JobPruner` on a timer inside the server when `PRUNE_AFTER` is set.
public struct PruneSchedule: Service {
    let pruner: JobPruner
    let retention: Duration
    let interval: Duration

    public init(pruner: JobPruner, retention: Duration, interval: Duration) {
        self.pruner = pruner
        self.retention = retention
        self.interval = interval
    }

    public func run() async throws {
        try await Repeating(interval: interval, runFirst: true) {
            do {
                _ = try await pruner.prune(olderThan: retention, statuses: nil, dryRun: false)
            } catch {
                pruner.logger.warning("scheduled prune failed", metadata: ["error": "\(error)"])
            }
        }.run()
    }
}
