public import Foundation
public import StrictJSON

/// A job as stored: the row of `jobs`, with metadata parsed.
public struct Job: Sendable, Equatable {
    public var organizationID: String
    public var jobID: String
    public var jobType: String
    public var status: JobStatus
    public var totalItems: Int64
    public var processedItems: Int64
    public var failedItems: Int64
    public var warnedItems: Int64
    public var errorCount: Int64
    public var warningCount: Int64
    public var storedErrorCount: Int64
    public var storedWarningCount: Int64
    public var metadata: JSONObject
    public var errorMessage: String?
    public var triggeredBy: String?
    public var endedBy: EndedBy?
    public var createdAt: Date
    public var startedAt: Date?
    public var completedAt: Date?
    public var updatedAt: Date
    /// The last accepted worker report (any progress report, even one that changed nothing);
    /// nil on rows written before it existed (`updatedAt` stands in for it).
    public var lastReportedAt: Date?
    /// This job's stall threshold in seconds; nil = the server's `STALL_AFTER`.
    public var stallAfterSeconds: Int64?
    /// The rate estimate (`ProgressRules.recordReport`): the last sample of processed + failed
    /// and its time, and the moving average of items per second (nil until measured).
    public var rateSampledAt: Date?
    public var rateSampledDone: Int64?
    public var itemsPerSecond: Double?
    /// When `job.stalled` fired for the current stall (written only by the stall watch).
    public var stalledNotifiedAt: Date?

    public init(
        organizationID: String, jobID: String, jobType: String, totalItems: Int64, metadata: JSONObject,
        triggeredBy: String?, now: Date
    ) {
        self.organizationID = organizationID
        self.jobID = jobID
        self.jobType = jobType
        self.status = .pending
        self.totalItems = totalItems
        self.processedItems = 0
        self.failedItems = 0
        self.warnedItems = 0
        self.errorCount = 0
        self.warningCount = 0
        self.storedErrorCount = 0
        self.storedWarningCount = 0
        self.metadata = metadata
        self.errorMessage = nil
        self.triggeredBy = triggeredBy
        self.endedBy = nil
        self.createdAt = now
        self.startedAt = nil
        self.completedAt = nil
        self.updatedAt = now
        self.lastReportedAt = nil
        self.stallAfterSeconds = nil
        self.rateSampledAt = nil
        self.rateSampledDone = nil
        self.itemsPerSecond = nil
        self.stalledNotifiedAt = nil
    }

    /// min(100, 100 × (processed + failed) / total), 2 decimals; 0 when total is 0;
    /// 100 for a job that ended in success (completed, with warnings, partial).
    public var progressPercentage: Double {
        if status.isSuccessTerminal { return 100 }
        guard totalItems > 0 else { return 0 }
        let ratio = 100 * (Double(processedItems) + Double(failedItems)) / Double(totalItems)
        return Self.round(min(100, ratio), places: 2)
    }

    /// 100 × processed / (processed + failed), 2 decimals; 0 when both are 0.
    public var successRate: Double {
        let attempted = Double(processedItems) + Double(failedItems)
        guard attempted > 0 else { return 0 }
        return Self.round(100 * Double(processedItems) / attempted, places: 2)
    }

    /// (completed_at, or now while running) − started_at, 3 decimals; nil before a start.
    public func durationSeconds(now: Date) -> Double? {
        guard let startedAt else { return nil }
        let end = completedAt ?? now
        return Self.round(max(0, end.timeIntervalSince(startedAt)), places: 3)
    }

    /// The job's last message: `metadata.last_message` (a progress report's `message`) when it
    /// is a string, else `error_message`.
    public var lastMessage: String? {
        if case .string(let message)? = metadata["last_message"] { return message }
        return errorMessage
    }

    /// `metadata.stage` when it is a string.
    public var stage: String? {
        if case .string(let stage)? = metadata["stage"] { return stage }
        return nil
    }

    /// Items done so far (processed + failed), what the rate estimate counts.
    public var doneItems: Int64 { processedItems + failedItems }

    /// When the job will likely finish at the measured rate: nil unless it is running, has a
    /// total, has not reached it, and a rate above zero was measured; else the last sample's time
    /// plus what remained then divided by the rate.
    public func estimatedCompletionAt(now: Date) -> Date? {
        guard status == .inProgress, totalItems > 0, doneItems < totalItems, let rate = itemsPerSecond, rate > 0,
            let sampledAt = rateSampledAt, let sampledDone = rateSampledDone
        else { return nil }
        let remaining = Double(max(0, totalItems - sampledDone)) / rate
        // Past ~3,000 years the estimate means nothing (and Date would overflow far beyond).
        guard remaining.isFinite, remaining < 1e11 else { return nil }
        return sampledAt.addingTimeInterval(remaining)
    }

    /// When the job last showed life: its last report, or `updatedAt` on older rows.
    public var lastSignOfLife: Date { lastReportedAt ?? updatedAt }

    /// This job's stall threshold: its own, or `defaultStallAfter` (the server's `STALL_AFTER`).
    public func stallAfter(default defaultStallAfter: Duration) -> Duration {
        stallAfterSeconds.map { .seconds($0) } ?? defaultStallAfter
    }

    /// In progress with no report for longer than its stall threshold (the same rule as the SQL
    /// of `?stalled=true` and `stalled_jobs`: last report < now − threshold).
    public func isStalled(now: Date, defaultStallAfter: Duration) -> Bool {
        guard status == .inProgress else { return false }
        let threshold = Double(stallAfter(default: defaultStallAfter).components.seconds)
        return lastSignOfLife < now.addingTimeInterval(-threshold)
    }

    static func round(_ value: Double, places: Int) -> Double {
        let scale = places == 2 ? 100.0 : 1000.0
        return (value * scale).rounded() / scale
    }
}

/// An error or warning as stored in `job_events`.
public struct JobEvent: Sendable, Equatable {
    public var kind: EventKind
    public var seq: Int64
    public var entityKey: String
    public var entityType: String
    public var errorType: String
    public var message: String
    public var details: JSONObject
    public var step: String?
    public var timestamp: Date

    public init(
        kind: EventKind, seq: Int64, entityKey: String, entityType: String, errorType: String, message: String,
        details: JSONObject, step: String? = nil, timestamp: Date
    ) {
        self.kind = kind
        self.seq = seq
        self.entityKey = entityKey
        self.entityType = entityType
        self.errorType = errorType
        self.message = message
        self.details = details
        self.step = step
        self.timestamp = timestamp
    }
}
