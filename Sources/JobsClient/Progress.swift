/// The body of `POST /api/jobs/{job_id}/progress` (spec §4).
///
/// Every field is optional and only the fields that are set are sent: `nil` fields are
/// omitted from the JSON, keys are snake_case. The server applies one report atomically, in
/// this order: `totalItems`, `processedItems` / `processedItemsDelta` (not both), `metadataPatch`
/// (JSON Merge Patch: a `.null` value removes the key), `stage`, `message`, `error`, `warning`,
/// `markStarted`, `markCompleted`, `markFailed` (not together with `markCompleted`).
///
/// (Foundation's `Progress` class does not clash: this module's declaration shadows it in any
/// file that imports both.)
public struct Progress: Sendable, Encodable, Equatable {
    /// Sets `total_items`.
    public var totalItems: Int?
    /// Sets `processed_items` (absolute). Use `processedItemsDelta` when several workers share a job.
    public var processedItems: Int?
    /// Adds to `processed_items`.
    public var processedItemsDelta: Int?
    /// Merged into `metadata` (RFC 7396).
    public var metadataPatch: [String: JSONValue]?
    /// Stored as `metadata.stage` (at most 100 characters).
    public var stage: String?
    /// Stored as `metadata.last_message` (at most 10,000 characters).
    public var message: String?
    /// Appended to the job's errors; counts in `failed_items` unless its `entityType` is `"job"`.
    public var error: ItemIssue?
    /// Appended to the job's warnings; counts in `warned_items` unless its `entityType` is `"job"`.
    public var warning: ItemIssue?
    /// `pending` → `in_progress`.
    public var markStarted: Bool?
    /// Ends the job; the server derives `completed`, `completed_with_warnings`, `partial_success`
    /// or `failed` from the counts.
    public var markCompleted: Bool?
    /// Ends the job as `failed` with this `error_message` (1–10,000 characters).
    public var markFailed: String?

    public init(
        totalItems: Int? = nil,
        processedItems: Int? = nil,
        processedItemsDelta: Int? = nil,
        metadataPatch: [String: JSONValue]? = nil,
        stage: String? = nil,
        message: String? = nil,
        error: ItemIssue? = nil,
        warning: ItemIssue? = nil,
        markStarted: Bool? = nil,
        markCompleted: Bool? = nil,
        markFailed: String? = nil
    ) {
        self.totalItems = totalItems
        self.processedItems = processedItems
        self.processedItemsDelta = processedItemsDelta
        self.metadataPatch = metadataPatch
        self.stage = stage
        self.message = message
        self.error = error
        self.warning = warning
        self.markStarted = markStarted
        self.markCompleted = markCompleted
        self.markFailed = markFailed
    }

    enum CodingKeys: String, CodingKey {
        case totalItems = "total_items"
        case processedItems = "processed_items"
        case processedItemsDelta = "processed_items_delta"
        case metadataPatch = "metadata_patch"
        case stage, message, error, warning
        case markStarted = "mark_started"
        case markCompleted = "mark_completed"
        case markFailed = "mark_failed"
    }
    // The synthesized `encode(to:)` uses `encodeIfPresent` for optionals: nil fields are omitted.
}

/// An error or warning to report about one item (spec §4 step 5).
public struct ItemIssue: Sendable, Encodable, Equatable {
    /// Which item, e.g. a SKU or `row-12` (1–1024 characters).
    public var entityKey: String
    /// A machine-readable class, e.g. `validation` (1–1024 characters).
    public var errorType: String
    /// A human sentence (at most 10,000 characters).
    public var message: String
    /// Free-form context (at most 16 KiB as JSON); the server defaults it to `{}`.
    public var details: [String: JSONValue]?
    /// What kind of item; the server defaults it to `"job"`, which does not count in `failed_items`.
    public var entityType: String?
    /// The processing step that found it.
    public var step: String?

    public init(
        entityKey: String,
        errorType: String,
        message: String,
        details: [String: JSONValue]? = nil,
        entityType: String? = nil,
        step: String? = nil
    ) {
        self.entityKey = entityKey
        self.errorType = errorType
        self.message = message
        self.details = details
        self.entityType = entityType
        self.step = step
    }

    enum CodingKeys: String, CodingKey {
        case entityKey = "entity_key"
        case errorType = "error_type"
        case message, details
        case entityType = "entity_type"
        case step
    }
}
