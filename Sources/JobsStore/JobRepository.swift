import Foundation
import JobsDomain
import LibPQ
import StrictJSON

/// The SQL of jobs and their events. Every statement filters by organization and runs with
/// `app.organization_id` set for its transaction (`Database.read`, `Database.lockedJob`, or the
/// caller's `Database.transaction`), so RLS backs every filter.
struct JobRepository: Sendable {
    let database: Database

    static let columns = """
        organization_id, job_id, job_type, status, total_items, processed_items, failed_items, warned_items,
        error_count, warning_count, stored_error_count, stored_warning_count, metadata, error_message,
        triggered_by, ended_by, created_at, started_at, completed_at, updated_at, last_reported_at,
        stall_after_seconds, rate_sampled_at, rate_sampled_done, items_per_second, stalled_notified_at,
        (extract(epoch FROM created_at) * 1000000)::int8 AS created_us
        """

    // MARK: Create and read

    /// Inserts a new job (inside the caller's tenant transaction); returns the row's version.
    func create(_ job: Job, _ tx: PGLease) async throws -> String? {
        let rows = try await tx.query(Self.insertJobQuery(job) + " RETURNING xmin::text AS version")
        return try rows.first?.decode("version", as: String.self)
    }

    /// The job, its recent window and its version, or nil (one round trip).
    func snapshot(_ id: String, in organization: String) async throws -> JobSnapshot? {
        let results = try await database.read(
            organization: organization,
            [
                Self.selectJob(id, organization: organization, lock: false, versioned: true),
                Self.recentEventsQuery(id, organization: organization),
            ])
        guard let row = results[0].first else { return nil }
        return JobSnapshot(
            job: try Self.decodeJob(row), recent: try Self.decodeEvents(results[1]),
            version: try row.decode("version", as: String.self))
    }

    /// Inserts a new job in one round trip (its own implicit transaction); returns the row's
    /// version (see `JobCache`).
    func create(_ job: Job) async throws -> String? {
        let rows = try await database.read(
            organization: job.organizationID, [Self.insertJobQuery(job) + " RETURNING xmin::text AS version"])
        return try rows[0].first?.decode("version", as: String.self)
    }

    static func insertJobQuery(_ job: Job) -> PGQuery {
        """
        INSERT INTO jobs (organization_id, job_id, job_type, status, total_items, metadata, triggered_by,
                          created_at, updated_at, stall_after_seconds)
        VALUES (\(job.organizationID), \(job.jobID), \(job.jobType), \(job.status.rawValue), \(job.totalItems),
                \(PGJSON(text: JSONValue.object(job.metadata).compactJSON)), \(job.triggeredBy),
                \(job.createdAt), \(job.updatedAt), \(job.stallAfterSeconds))
        """
    }

    /// The job with its most recent 100 errors and warnings, or nil (one round trip).
    func job(_ id: String, in organization: String) async throws -> (Job, [JobEvent])? {
        let results = try await database.read(
            organization: organization,
            [
                Self.selectJob(id, organization: organization, lock: false),
                Self.recentEventsQuery(id, organization: organization),
            ])
        guard let row = results[0].first else { return nil }
        return (try Self.decodeJob(row), try Self.decodeEvents(results[1]))
    }

    /// The job row alone (the cheap status view), or nil (one round trip).
    func jobRow(_ id: String, in organization: String) async throws -> Job? {
        let results = try await database.read(
            organization: organization, [Self.selectJob(id, organization: organization, lock: false)])
        return try results[0].first.map(Self.decodeJob)
    }

    /// The row; for a write locked (`FOR UPDATE`) or not, with its version (`xmin`, see `JobCache`).
    static func selectJob(_ id: String, organization: String, lock: Bool, versioned: Bool = false) -> PGQuery {
        // Safety: the column list and the locking clause are constants of this file.
        """
        SELECT \(unsafeRaw: columns)\(unsafeRaw: lock || versioned ? ", xmin::text AS version" : "") FROM jobs
        WHERE organization_id = \(organization) AND job_id = \(id) \(unsafeRaw: lock ? "FOR UPDATE" : "")
        """
    }

    /// The most recent 100 errors and warnings, found from the job row's stored counts in the
    /// same statement (two bounded index range scans), so it can be pipelined with the row.
    static func recentEventsQuery(_ id: String, organization: String) -> PGQuery {
        """
        (SELECT kind, seq, entity_key, entity_type, error_type, message, details, step, created_at FROM job_events
         WHERE organization_id = \(organization) AND job_id = \(id) AND kind = 'error'
           AND seq > (SELECT stored_error_count - 100 FROM jobs WHERE organization_id = \(organization) AND job_id = \(id))
         ORDER BY seq)
        UNION ALL
        (SELECT kind, seq, entity_key, entity_type, error_type, message, details, step, created_at FROM job_events
         WHERE organization_id = \(organization) AND job_id = \(id) AND kind = 'warning'
           AND seq > (SELECT stored_warning_count - 100 FROM jobs WHERE organization_id = \(organization) AND job_id = \(id))
         ORDER BY seq)
        """
    }

    static func decodeEvents(_ rows: PGRows) throws -> [JobEvent] {
        try rows.map(decodeEvent).sorted { ($0.kind.rawValue, $0.seq) < ($1.kind.rawValue, $1.seq) }
    }

    // MARK: List

    /// One page, newest first, and the cursor of the next page (nil on the last).
    func list(_ filter: ListFilter, in organization: String) async throws -> ([Job], ListCursor?) {
        // The statement is assembled from fragments whose values are all bound.
        // Safety: the column list is a constant of this file.
        var query: PGQuery = "SELECT \(unsafeRaw: Self.columns) FROM jobs WHERE organization_id = \(organization)"
        if !filter.statuses.isEmpty {
            query.append(" AND status = ANY(\(PGTextArray(filter.statuses.map(\.rawValue))))")
        }
        if let jobType = filter.jobType { query.append(" AND job_type = \(jobType)") }
        if let triggeredBy = filter.triggeredBy { query.append(" AND triggered_by = \(triggeredBy)") }
        if let after = filter.createdAfter { query.append(" AND created_at >= \(after)") }
        if let before = filter.createdBefore { query.append(" AND created_at < \(before)") }
        if let stalled = filter.stalled {
            // The rule of Job.isStalled; the default threshold is bound, so one statement text
            // serves every STALL_AFTER. `true` names the status, so jobs_status_list_idx serves it.
            let defaultSeconds = filter.defaultStallAfter.components.seconds
            query.append(stalled ? " AND " : " AND NOT (")
            query.append(
                """
                status = 'in_progress' AND COALESCE(last_reported_at, updated_at)
                    < now() - make_interval(secs => COALESCE(stall_after_seconds, \(defaultSeconds)))
                """)
            if !stalled { query.append(")") }
        }
        if let cursor = filter.cursor {
            let position = PGTimestamp.format(microseconds: cursor.createdMicros)
            query.append(" AND (created_at, job_id) < (\(position)::timestamptz, \(cursor.jobID))")
        }
        // The limit is bound too: one statement text (and one prepared statement) for every limit.
        query.append(" ORDER BY created_at DESC, job_id DESC LIMIT \(filter.limit + 1)")
        let rows = try await database.read(organization: organization, [query])[0]
        var jobs: [Job] = []
        var lastMicros: Int64 = 0
        for row in rows.prefix(filter.limit) {
            jobs.append(try Self.decodeJob(row))
            lastMicros = try row.decode("created_us", as: Int64.self)
        }
        let next = rows.count > filter.limit ? ListCursor(createdMicros: lastMicros, jobID: jobs.last!.jobID) : nil
        return (jobs, next)
    }

    // MARK: Events pages

    /// Events of one kind after `afterSeq`, oldest first; nil when the job does not exist.
    func events(
        of id: String, kind: EventKind, in organization: String, limit: Int, afterSeq: Int64
    ) async throws -> ([JobEvent], Int64?)? {
        let results = try await database.read(
            organization: organization,
            [
                "SELECT 1 AS one FROM jobs WHERE organization_id = \(organization) AND job_id = \(id)",
                """
                SELECT kind, seq, entity_key, entity_type, error_type, message, details, step, created_at FROM job_events
                WHERE organization_id = \(organization) AND job_id = \(id) AND kind = \(kind.rawValue) AND seq > \(afterSeq)
                ORDER BY seq LIMIT \(limit + 1)
                """,
            ])
        guard !results[0].isEmpty else { return nil }
        let events = try results[1].prefix(limit).map(Self.decodeEvent)
        return (events, results[1].count > limit ? events.last?.seq : nil)
    }

    // MARK: Changes under the row lock

    static func updateQuery(_ job: Job) -> PGQuery {
        """
            UPDATE jobs SET status = \(job.status.rawValue), total_items = \(job.totalItems),
                processed_items = \(job.processedItems), failed_items = \(job.failedItems),
                warned_items = \(job.warnedItems), error_count = \(job.errorCount), warning_count = \(job.warningCount),
                stored_error_count = \(job.storedErrorCount), stored_warning_count = \(job.storedWarningCount),
                metadata = \(PGJSON(text: JSONValue.object(job.metadata).compactJSON)),
                error_message = \(job.errorMessage), ended_by = \(job.endedBy?.rawValue),
                started_at = COALESCE(started_at, \(job.startedAt)), completed_at = COALESCE(completed_at, \(job.completedAt)),
                updated_at = \(job.updatedAt), last_reported_at = \(job.lastReportedAt),
                rate_sampled_at = \(job.rateSampledAt), rate_sampled_done = \(job.rateSampledDone),
                items_per_second = \(job.itemsPerSecond)
        WHERE organization_id = \(job.organizationID) AND job_id = \(job.jobID)
        """
    }

    /// Writes the job back under its row lock; returns the row's new version.
    static func writeQuery(_ job: Job) -> PGQuery {
        updateQuery(job) + " RETURNING xmin::text AS version"
    }

    /// One statement, one round trip: writes the job and appends its events only if the row is
    /// still at `version` (unchanged since it was cached, see `JobCache`). Returns the new version,
    /// or no row when the row changed or is gone (then nothing was written).
    /// `also`: one more data-modifying statement guarded by `updated` (the webhook outbox insert).
    static func compareAndWriteQuery(_ job: Job, version: String, events: [JobEvent], also: PGQuery? = nil) -> PGQuery {
        var query: PGQuery = "WITH updated AS ("
        query.append(updateQuery(job))
        query.append(" AND xmin = \(version)::xid RETURNING xmin::text AS version)")
        if !events.isEmpty {
            query.append(", appended AS (")
            query.append(insertQuery(events, of: job))
            query.append(" WHERE EXISTS (SELECT 1 FROM updated))")
        }
        if let also {
            query.append(", also AS (")
            query.append(also)
            query.append(")")
        }
        query.append(" SELECT version FROM updated")
        return query
    }

    static func insertQuery(_ events: [JobEvent], of job: Job) -> PGQuery {
        """
            INSERT INTO job_events (organization_id, job_id, kind, seq, entity_key, entity_type, error_type, message,
                                    details, step, created_at)
            SELECT \(job.organizationID), \(job.jobID), e.kind, e.seq, e.entity_key, e.entity_type, e.error_type,
                   e.message, e.details, e.step, e.created_at
            FROM unnest(\(PGTextArray(events.map(\.kind.rawValue)))::text[],
                        \(PGTextArray(events.map { String($0.seq) }))::int8[],
                        \(PGTextArray(events.map(\.entityKey)))::text[],
                        \(PGTextArray(events.map(\.entityType)))::text[],
                        \(PGTextArray(events.map(\.errorType)))::text[],
                        \(PGTextArray(events.map(\.message)))::text[],
                        \(PGTextArray(events.map { JSONValue.object($0.details).compactJSON }))::jsonb[],
                        \(PGTextArray(optional: events.map(\.step)))::text[],
                        \(PGTextArray(events.map { PGTimestamp.format($0.timestamp) }))::timestamptz[])
                 AS e(kind, seq, entity_key, entity_type, error_type, message, details, step, created_at)
        """
    }

    // MARK: Decoding

    static func decodeJob(_ row: PGRow) throws -> Job {
        var job = Job(
            organizationID: try row.decode("organization_id"), jobID: try row.decode("job_id"),
            jobType: try row.decode("job_type"), totalItems: try row.decode("total_items"),
            metadata: try decodeObject(row, "metadata"), triggeredBy: try row.decode("triggered_by", as: String?.self),
            now: try row.decode("created_at"))
        guard let status = JobStatus(rawValue: try row.decode("status")) else {
            throw PGError(code: .decoding, message: "unknown job status", column: "status")
        }
        job.status = status
        job.processedItems = try row.decode("processed_items")
        job.failedItems = try row.decode("failed_items")
        job.warnedItems = try row.decode("warned_items")
        job.errorCount = try row.decode("error_count")
        job.warningCount = try row.decode("warning_count")
        job.storedErrorCount = try row.decode("stored_error_count")
        job.storedWarningCount = try row.decode("stored_warning_count")
        job.errorMessage = try row.decode("error_message", as: String?.self)
        job.endedBy = try row.decode("ended_by", as: String?.self).flatMap(EndedBy.init(rawValue:))
        job.startedAt = try row.decode("started_at", as: Date?.self)
        job.completedAt = try row.decode("completed_at", as: Date?.self)
        job.updatedAt = try row.decode("updated_at")
        job.lastReportedAt = try row.decode("last_reported_at", as: Date?.self)
        job.stallAfterSeconds = try row.decode("stall_after_seconds", as: Int64?.self)
        job.rateSampledAt = try row.decode("rate_sampled_at", as: Date?.self)
        job.rateSampledDone = try row.decode("rate_sampled_done", as: Int64?.self)
        job.itemsPerSecond = try row.decode("items_per_second", as: Double?.self)
        job.stalledNotifiedAt = try row.decode("stalled_notified_at", as: Date?.self)
        return job
    }

    static func decodeEvent(_ row: PGRow) throws -> JobEvent {
        JobEvent(
            kind: EventKind(rawValue: try row.decode("kind")) ?? .error, seq: try row.decode("seq"),
            entityKey: try row.decode("entity_key"), entityType: try row.decode("entity_type"),
            errorType: try row.decode("error_type"), message: try row.decode("message"),
            details: try decodeObject(row, "details"), step: try row.decode("step", as: String?.self),
            timestamp: try row.decode("created_at"))
    }

    static func decodeObject(_ row: PGRow, _ column: String) throws -> JSONObject {
        let text = try row.decode(column, as: PGJSON.self).text
        guard case .object(let object) = try JSONParser.parse(text, maxDepth: 10_000) else {
            throw PGError(code: .decoding, message: "column \(column) is not a JSON object", column: column)
        }
        return object
    }
}
