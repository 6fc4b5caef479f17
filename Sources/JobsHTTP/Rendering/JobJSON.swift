import Foundation
import JobsDomain
import StrictJSON

/// The JSON shapes of spec §2–§3, field order as in the contract; nulls are present.
///
/// Additions beyond the MerchantOps contract come after its fields: `last_reported_at`,
/// `estimated_completion_at`, `stalled` and `stall_after_seconds` (the job's threshold in
/// effect: its own `stall_after`, else the server's `STALL_AFTER`, given as `stallAfter`).
enum JobJSON {
    static func job(_ job: Job, events: [JobEvent]?, now: Date, stallAfter: Duration) -> JSONValue {
        var object = JSONObject()
        object["job_id"] = .string(job.jobID)
        object["organization_id"] = .string(job.organizationID)
        object["job_type"] = .string(job.jobType)
        object["status"] = .string(job.status.rawValue)
        object["total_items"] = int(job.totalItems)
        object["processed_items"] = int(job.processedItems)
        object["failed_items"] = int(job.failedItems)
        object["warned_items"] = int(job.warnedItems)
        object["progress_percentage"] = number(job.progressPercentage)
        object["success_rate"] = number(job.successRate)
        object["error_count"] = int(job.errorCount)
        object["warning_count"] = int(job.warningCount)
        object["metadata"] = .object(job.metadata)
        object["error_message"] = string(job.errorMessage)
        if let events {
            object["errors"] = .array(events.filter { $0.kind == .error }.map(event))
            object["warnings"] = .array(events.filter { $0.kind == .warning }.map(event))
        }
        object["triggered_by"] = string(job.triggeredBy)
        object["created_at"] = .string(Timestamp.format(job.createdAt))
        object["started_at"] = date(job.startedAt)
        object["completed_at"] = date(job.completedAt)
        object["updated_at"] = .string(Timestamp.format(job.updatedAt))
        object["duration_seconds"] = job.durationSeconds(now: now).map(number) ?? .null
        addLiveness(job, now: now, stallAfter: stallAfter, to: &object)
        object["stall_after_seconds"] = int(job.stallAfter(default: stallAfter).components.seconds)
        return .object(object)
    }

    /// `last_reported_at`, `estimated_completion_at` and `stalled` (job and status views).
    static func addLiveness(_ job: Job, now: Date, stallAfter: Duration, to object: inout JSONObject) {
        object["last_reported_at"] = date(job.lastReportedAt)
        object["estimated_completion_at"] = date(job.estimatedCompletionAt(now: now))
        object["stalled"] = .bool(job.isStalled(now: now, defaultStallAfter: stallAfter))
    }

    static func status(_ job: Job, now: Date, stallAfter: Duration) -> JSONValue {
        var object = JSONObject()
        object["job_id"] = .string(job.jobID)
        object["status"] = .string(job.status.rawValue)
        object["progress_percentage"] = number(job.progressPercentage)
        object["processed_items"] = int(job.processedItems)
        object["failed_items"] = int(job.failedItems)
        object["warned_items"] = int(job.warnedItems)
        object["total_items"] = int(job.totalItems)
        object["stage"] = string(job.stage)
        object["error_message"] = string(job.errorMessage)
        object["updated_at"] = .string(Timestamp.format(job.updatedAt))
        addLiveness(job, now: now, stallAfter: stallAfter, to: &object)
        return .object(object)
    }

    /// The compact summary a list or dashboard needs (the organization's live stream): the job's
    /// fields without metadata, events and organization, plus its stage and last message.
    static func summary(_ job: Job, now: Date, stallAfter: Duration) -> JSONValue {
        guard case .object(var object) = Self.job(job, events: nil, now: now, stallAfter: stallAfter) else {
            return .null
        }
        for dropped in ["organization_id", "metadata", "triggered_by"] { object[dropped] = nil }
        object["stage"] = string(job.stage)
        object["message"] = string(job.lastMessage)
        return .object(object)
    }

    static func event(_ event: JobEvent) -> JSONValue {
        var object = JSONObject()
        object["entity_key"] = .string(event.entityKey)
        object["entity_type"] = .string(event.entityType)
        object["error_type"] = .string(event.errorType)
        object["message"] = .string(event.message)
        object["details"] = .object(event.details)
        object["step"] = string(event.step)
        object["timestamp"] = .string(Timestamp.format(event.timestamp))
        return .object(object)
    }

    static func page(_ items: [JSONValue], next: String?) -> JSONValue {
        var object = JSONObject()
        object["items"] = .array(items)
        object["next_cursor"] = string(next)
        return .object(object)
    }

    static func int(_ value: Int64) -> JSONValue { .number(JSONNumber(value)) }
    static func number(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }
    static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func date(_ value: Date?) -> JSONValue { value.map { .string(Timestamp.format($0)) } ?? .null }
}
