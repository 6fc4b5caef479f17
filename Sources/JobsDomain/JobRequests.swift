public import StrictJSON

/// `POST /api/jobs/` body.
public struct CreateJobRequest: Sendable, Equatable {
    public var jobType: String
    public var totalItems: Int64
    public var metadata: JSONObject
    /// `.some(nil)` = explicit null (store null); nil = absent (use the default).
    public var triggeredBy: String??
    /// `stall_after` in seconds (nil: the server's `STALL_AFTER`).
    public var stallAfterSeconds: Int64? = nil

    public static func parse(_ body: JSONValue) -> Result<CreateJobRequest, APIError> {
        let object: JSONObject
        switch FieldReader.requireObject(body, at: ["body"]) {
        case .failure(let error): return .failure(error)
        case .success(let o): object = o
        }
        var r = FieldReader(object, at: ["body"])
        r.required("job_type")
        r.required("total_items")
        let jobType = r.string("job_type", min: 1, max: Limits.maxJobTypeLength)
        let total = r.integer("total_items")
        let metadata = r.dictionary("metadata", maxBytes: Limits.maxMetadataBytes)
        var triggeredBy: String?? = nil
        if r.isExplicitNull("triggered_by") {
            triggeredBy = .some(nil)
        }
        if let value = r.string("triggered_by", min: 1, max: Limits.maxIdentifierLength) {
            triggeredBy = .some(value)
        }
        let stallAfter = r.durationSeconds("stall_after", range: Limits.stallAfterSeconds)
        r.rejectUnknown()
        guard r.issues.isEmpty, let jobType, let total else { return .failure(.validation(r.issues)) }
        return .success(
            CreateJobRequest(
                jobType: jobType, totalItems: total, metadata: metadata ?? JSONObject(), triggeredBy: triggeredBy,
                stallAfterSeconds: stallAfter))
    }
}

/// An error or warning to append (the `error` / `warning` objects of a progress report).
public struct EventInput: Sendable, Equatable {
    public var entityKey: String
    public var errorType: String
    public var message: String
    public var details: JSONObject
    public var entityType: String
    public var step: String?

    static func read(_ r: inout FieldReader) -> EventInput? {
        r.required("entity_key")
        r.required("error_type")
        r.required("message")
        let entityKey = r.string("entity_key", min: 1, max: Limits.maxIdentifierLength)
        let errorType = r.string("error_type", min: 1, max: Limits.maxIdentifierLength)
        let message = r.string("message", max: Limits.maxMessageLength)
        let details = r.dictionary("details", maxBytes: Limits.maxDetailsBytes)
        let entityType = r.string("entity_type", min: 1, max: Limits.maxIdentifierLength)
        let step = r.string("step", min: 1, max: Limits.maxIdentifierLength)
        guard let entityKey, let errorType, let message else { return nil }
        return EventInput(
            entityKey: entityKey, errorType: errorType, message: message, details: details ?? JSONObject(),
            entityType: entityType ?? "job", step: step)
    }
}

/// `POST /api/jobs/{id}/progress` body: every field optional, `null` = absent.
public struct ProgressRequest: Sendable, Equatable {
    public var totalItems: Int64?
    public var processedItems: Int64?
    public var processedItemsDelta: Int64?
    public var metadataPatch: JSONObject?
    public var stage: String?
    public var message: String?
    public var error: EventInput?
    public var warning: EventInput?
    /// nil when absent or null; `false` is a field the request carries (it matters on a
    /// terminal job, where any carried field is a `409`).
    public var markStarted: Bool?
    public var markCompleted: Bool?
    public var markFailed: String?

    public init() {}

    public static func parse(_ body: JSONValue) -> Result<ProgressRequest, APIError> {
        let object: JSONObject
        switch FieldReader.requireObject(body, at: ["body"]) {
        case .failure(let error): return .failure(error)
        case .success(let o): object = o
        }
        var r = FieldReader(object, at: ["body"])
        var p = ProgressRequest()
        p.totalItems = r.integer("total_items")
        p.processedItems = r.integer("processed_items")
        p.processedItemsDelta = r.integer("processed_items_delta")
        // The patch may hold nulls (they delete keys); its size is checked after the merge.
        p.metadataPatch = r.dictionary("metadata_patch", maxBytes: Limits.maxBodyBytes)
        p.stage = r.string("stage", max: Limits.maxStageLength)
        p.message = r.string("message", max: Limits.maxMessageLength)
        p.error = r.nested("error") { EventInput.read(&$0) } ?? nil
        p.warning = r.nested("warning") { EventInput.read(&$0) } ?? nil
        p.markStarted = r.bool("mark_started")
        p.markCompleted = r.bool("mark_completed")
        p.markFailed = r.string("mark_failed", min: 1, max: Limits.maxMessageLength)
        r.rejectUnknown()
        if object["processed_items"].isPresent && object["processed_items_delta"].isPresent {
            r.add(
                "processed_items_delta",
                msg: "Value error, processed_items and processed_items_delta cannot be sent together",
                type: "value_error")
        }
        if object["mark_failed"].isPresent, p.markCompleted == true {
            r.add(
                "mark_failed", msg: "Value error, mark_completed and mark_failed cannot be sent together",
                type: "value_error")
        }
        guard r.issues.isEmpty else { return .failure(.validation(r.issues)) }
        return .success(p)
    }

    /// True when the request carries no field (`{}` or only nulls). A `false` flag is a field:
    /// on a terminal job it is a `409` like any other (spec §4).
    public var isEmpty: Bool { self == ProgressRequest() }

    /// Exactly `{"mark_completed": true}` (a worker's harmless retry once it ended the job).
    var isOnlyMarkCompleted: Bool {
        var other = self
        other.markCompleted = nil
        return markCompleted == true && other.isEmpty
    }

    /// Exactly `{"mark_failed": "..."}`.
    var isOnlyMarkFailed: Bool {
        var other = self
        other.markFailed = nil
        return markFailed != nil && other.isEmpty
    }
}

/// `POST /api/jobs/{id}/cancel` body (optional).
public struct CancelRequest: Sendable, Equatable {
    public var reason: String?

    public static func parse(_ body: JSONValue?) -> Result<CancelRequest, APIError> {
        guard let body else { return .success(CancelRequest()) }
        let object: JSONObject
        switch FieldReader.requireObject(body, at: ["body"]) {
        case .failure(let error): return .failure(error)
        case .success(let o): object = o
        }
        var r = FieldReader(object, at: ["body"])
        let reason = r.string("reason", max: Limits.maxMessageLength)
        r.rejectUnknown()
        guard r.issues.isEmpty else { return .failure(.validation(r.issues)) }
        return .success(CancelRequest(reason: reason))
    }
}

extension Optional where Wrapped == JSONValue {
    /// Present and not null.
    var isPresent: Bool {
        switch self {
        case .none, .some(.null): return false
        default: return true
        }
    }
}
