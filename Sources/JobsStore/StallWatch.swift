import Foundation
public import JobsDomain
public import LibPQ
public import Logging
public import ServiceLifecycle

/// Finds jobs that stalled — `in_progress` with no report for their stall threshold (their own
/// `stall_after`, else `STALL_AFTER`) — and announces each stall once (a background service).
///
/// Each pass asks `stalled_jobs(...)` (migration 0013; SECURITY DEFINER, since the runtime role
/// sees one organization at a time) for up to `batchSize` jobs stalled and not yet notified,
/// then, per job, in a transaction of the job's organization: one `UPDATE` re-checks under the
/// row lock that it is still stalled and not yet notified (a report may have arrived, another
/// instance may have been first) and sets `stalled_notified_at`; `onStalled` runs in that same
/// transaction (where `job.stalled` webhooks are enqueued), so the mark and what the hook writes
/// commit together or not at all. After the commit the job goes to live streams (its `stalled`
/// is now true). A job whose hook failed is retried on the next pass. The stall ends with the
/// job's next report; it can then stall, and be announced, again.
public struct StallWatch: Service {
    /// Runs inside the transaction that marks `job` notified; throwing rolls the mark back.
    public typealias Hook = @Sendable (PGLease, Job) async throws -> Void

    /// What one pass saw: jobs stalled now (all organizations), and stalls it announced.
    public struct Pass: Sendable, Equatable {
        public var stalled: Int
        public var notified: Int
    }

    let database: Database
    let defaultStallAfter: Duration
    let interval: Duration
    let batchSize: Int
    let onStalled: Hook
    let live: LiveChanges?
    let report: @Sendable (Pass) -> Void
    let logger: Logger

    public init(
        client: PGClient, defaultStallAfter: Duration, interval: Duration, batchSize: Int = 500,
        live: LiveChanges? = nil, logger: Logger, onStalled: @escaping Hook = { _, _ in },
        report: @escaping @Sendable (Pass) -> Void = { _ in }
    ) {
        self.database = Database(client: client)
        self.defaultStallAfter = defaultStallAfter
        self.interval = interval
        self.batchSize = batchSize
        self.onStalled = onStalled
        self.live = live
        self.report = report
        self.logger = logger
    }

    public func run() async throws {
        try await Repeating(interval: interval, runFirst: true) {
            do {
                _ = try await pass()
            } catch {
                logger.warning("stall check failed", metadata: ["error": "\(error)"])
            }
        }.run()
    }

    var defaultSeconds: Int { Int(defaultStallAfter.components.seconds) }

    /// One pass: announces up to `batchSize` new stalls, then counts the stalled jobs.
    @discardableResult
    public func pass() async throws -> Pass {
        let candidates = try await database.client.query(
            "SELECT organization_id, job_id FROM stalled_jobs(\(defaultSeconds)::int, \(batchSize)::int)")
        var notified = 0
        for row in candidates {
            let organization = try row.decode("organization_id", as: String.self)
            let jobID = try row.decode("job_id", as: String.self)
            do {
                if try await notify(organization: organization, jobID: jobID) { notified += 1 }
            } catch {
                logger.warning(
                    "stall notification failed; retried next pass",
                    metadata: ["organization_id": "\(organization)", "job_id": "\(jobID)", "error": "\(error)"])
            }
        }
        let stalled =
            try await database.client.query(
                "SELECT stalled_job_count(\(defaultSeconds)::int) AS n"
            ).first?.decode("n", as: Int.self) ?? 0
        let result = Pass(stalled: stalled, notified: notified)
        report(result)
        if notified > 0 { logger.info("jobs stalled", metadata: ["count": "\(notified)"]) }
        return result
    }

    /// Marks one job notified if it is still stalled and not yet notified, running the hook in
    /// the same transaction; false when there was nothing (left) to do.
    func notify(organization: String, jobID: String) async throws -> Bool {
        let snapshot = try await Database.retryingConflicts {
            try await database.transaction(organization: organization) { tx -> JobSnapshot? in
                // A background pass: never wait long behind a DBA's lock (it would hold up shutdown).
                _ = try await tx.query("SET LOCAL lock_timeout = '1s'")
                let marked = try await tx.query(
                    Self.markQuery(organization: organization, jobID: jobID, defaultSeconds: defaultSeconds))
                guard let row = marked.first else { return nil }
                let job = try JobRepository.decodeJob(row)
                try await onStalled(tx, job)
                let recent =
                    live == nil
                    ? []
                    : try JobRepository.decodeEvents(
                        try await tx.query(JobRepository.recentEventsQuery(jobID, organization: organization)))
                return JobSnapshot(job: job, recent: recent, version: try row.decode("version", as: String.self))
            }
        }
        guard let snapshot else { return false }
        live?.committed(snapshot)
        return true
    }

    /// Sets `stalled_notified_at` if the job is still stalled and not yet announced for this
    /// stall, returning the row and its new version (no row: nothing to do). The UPDATE locks the
    /// row and re-evaluates its WHERE on the latest committed version, so a report that just
    /// arrived, or another instance that was first, leaves nothing to do.
    static func markQuery(organization: String, jobID: String, defaultSeconds: Int) -> PGQuery {
        var query: PGQuery = """
            UPDATE jobs SET stalled_notified_at = now()
            WHERE organization_id = \(organization) AND job_id = \(jobID) AND status = 'in_progress'
              AND COALESCE(last_reported_at, updated_at)
                  < now() - make_interval(secs => COALESCE(stall_after_seconds, \(defaultSeconds)))
              AND (stalled_notified_at IS NULL OR stalled_notified_at < COALESCE(last_reported_at, updated_at))
            """
        // Safety: the column list is a constant of JobRepository.
        query.append(" RETURNING \(unsafeRaw: JobRepository.columns), xmin::text AS version")
        return query
    }
}
