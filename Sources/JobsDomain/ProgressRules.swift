public import Foundation
import StrictJSON

/// The rules of spec §3 (cancel) and §4 (progress), as pure functions over a `Job`.
/// `JobsController` wraps them in a `JobChange`; storage (`JobWriter`, `MemoryStore`) applies
/// it with the row locked and writes back the changed job and the events it returns.
public enum ProgressRules {
    /// Applies one progress report. Returns the events to append (with their `seq`), or throws
    /// the `409` / `422` the contract asks for. `job` is left unchanged when nothing changes.
    public static func apply(
        _ request: ProgressRequest, to job: inout Job, now: Date, limits: Limits
    ) throws(APIError) -> [JobEvent] {
        if job.status.isTerminal {
            if request.isEmpty { return [] }
            if request.isOnlyMarkCompleted && job.endedBy == .markCompleted { return [] }
            if request.isOnlyMarkFailed && job.endedBy == .markFailed { return [] }
            throw .conflict("job \(job.jobID) is \(job.status.rawValue) and accepts no more progress")
        }
        let before = job
        var next = job
        var events: [JobEvent] = []

        // 1–2. counters
        if let total = request.totalItems { next.totalItems = total }
        if let processed = request.processedItems { next.processedItems = processed }
        if let delta = request.processedItemsDelta {
            guard next.processedItems <= Limits.maxInteger - delta else {
                throw .validation(
                    "body", ["processed_items_delta"],
                    msg: "Value error, processed_items would exceed \(Limits.maxInteger)", type: "value_error")
            }
            next.processedItems += delta
        }
        // 3–4. metadata
        if let patch = request.metadataPatch {
            if case .object(let merged) = JSONValue.object(next.metadata).mergePatched(with: .object(patch)) {
                next.metadata = merged
            }
        }
        if let stage = request.stage { next.metadata["stage"] = .string(stage) }
        if let message = request.message { next.metadata["last_message"] = .string(message) }
        // 5. events
        if let error = request.error {
            events += try append(error, kind: .error, to: &next, now: now, limits: limits)
        }
        if let warning = request.warning {
            events += try append(warning, kind: .warning, to: &next, now: now, limits: limits)
        }
        if next.metadata != before.metadata,
            JSONValue.object(next.metadata).compactByteCount > Limits.maxMetadataBytes
        {
            throw .validation(
                "body", ["metadata_patch"],
                msg: "Value error, metadata would exceed \(Limits.maxMetadataBytes) bytes as JSON", type: "value_error")
        }
        // 6. start
        if request.markStarted == true, next.status == .pending {
            next.status = .inProgress
            next.startedAt = now
        }
        // 7. complete, with the derived status
        if request.markCompleted == true {
            if next.errorCount > 0 {
                if next.processedItems == 0 && next.failedItems > 0 {
                    next.status = .failed
                    next.errorMessage = "all \(next.failedItems) items failed"
                } else {
                    next.status = .partialSuccess
                }
            } else if next.warningCount > 0 {
                next.status = .completedWithWarnings
            } else {
                next.status = .completed
            }
            next.completedAt = now
            next.endedBy = .markCompleted
        }
        // 8. fail
        if let reason = request.markFailed {
            next.status = .failed
            next.errorMessage = reason
            next.completedAt = now
            next.endedBy = .markFailed
        }
        if next.metadata != before.metadata { next.metadata = next.metadata.jsonbOrdered }
        if next != before { next.updatedAt = now }
        // A report is also a heartbeat: it moves last_reported_at (and the rate estimate) even
        // when it changed nothing, without touching updated_at (spec §2).
        recordReport(&next, now: now)
        job = next
        return events
    }

    /// The rate estimate reflects roughly this many seconds of recent progress.
    public static let rateWindowSeconds = 60.0
    /// Samples closer together than this do not move the estimate (bursts of reports would give
    /// nonsense rates); the report still counts as a sign of life.
    public static let minSampleSeconds = 1.0

    /// Bookkeeping of one accepted report at `now`: `lastReportedAt`, and while the job is in
    /// progress the rate of processed + failed items — the first sample when there is none (at
    /// `mark_started` or the first report), then, once at least `minSampleSeconds` passed since
    /// the last sample, an exponentially weighted moving average of the rate over the interval,
    /// weighted by its length (weight 1 − e^(−Δt/60 s)), so it follows about the last minute
    /// whatever the reporting cadence. A count that went down (a worker that restarted and set
    /// `processed_items` lower) starts the estimate over.
    public static func recordReport(_ job: inout Job, now: Date) {
        job.lastReportedAt = now
        guard job.status == .inProgress else { return }
        let done = job.doneItems
        guard let sampledAt = job.rateSampledAt, let sampledDone = job.rateSampledDone, done >= sampledDone else {
            job.rateSampledAt = now
            job.rateSampledDone = done
            job.itemsPerSecond = nil
            return
        }
        let elapsed = now.timeIntervalSince(sampledAt)
        guard elapsed >= minSampleSeconds else { return }
        let instant = Double(done - sampledDone) / elapsed
        let weight = 1 - exp(-elapsed / rateWindowSeconds)
        job.itemsPerSecond = job.itemsPerSecond.map { $0 + weight * (instant - $0) } ?? instant
        job.rateSampledAt = now
        job.rateSampledDone = done
    }

    private static func append(
        _ input: EventInput, kind: EventKind, to job: inout Job, now: Date, limits: Limits
    ) throws(APIError) -> [JobEvent] {
        let field = kind == .error ? "error" : "warning"
        let countsItem = input.entityType != "job"
        let total = kind == .error ? job.errorCount : job.warningCount
        let items = kind == .error ? job.failedItems : job.warnedItems
        guard total < Limits.maxInteger, !countsItem || items < Limits.maxInteger else {
            throw .validation(
                "body", [field], msg: "Value error, the job's \(field) count would exceed \(Limits.maxInteger)",
                type: "value_error")
        }
        var stored = kind == .error ? job.storedErrorCount : job.storedWarningCount
        var events: [JobEvent] = []
        if stored < limits.maxEventsPerJob {
            stored += 1
            events.append(
                JobEvent(
                    kind: kind, seq: stored, entityKey: input.entityKey, entityType: input.entityType,
                    errorType: input.errorType, message: input.message, details: input.details, step: input.step,
                    timestamp: now))
        } else {
            job.metadata[kind == .error ? "errors_truncated" : "warnings_truncated"] = .bool(true)
        }
        switch kind {
        case .error:
            job.errorCount += 1
            if countsItem { job.failedItems += 1 }
            job.storedErrorCount = stored
        case .warning:
            job.warningCount += 1
            if countsItem { job.warnedItems += 1 }
            job.storedWarningCount = stored
        }
        return events
    }

    /// Cancels a pending or running job; a cancelled job stays as it is; any other end → 409.
    public static func cancel(_ request: CancelRequest, job: inout Job, now: Date) throws(APIError) {
        switch job.status {
        case .pending, .inProgress:
            job.status = .cancelled
            job.completedAt = now
            job.errorMessage = request.reason ?? "cancelled"
            job.endedBy = .cancel
            job.updatedAt = now
        case .cancelled:
            return
        default:
            throw .conflict("job \(job.jobID) is \(job.status.rawValue) and cannot be cancelled")
        }
    }
}
