import Foundation

/// A job's status (spec §2). A string wrapper rather than a closed enum, so a status added
/// by a newer server still decodes.
public struct JobStatus: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static let pending = JobStatus(rawValue: "pending")
    public static let inProgress = JobStatus(rawValue: "in_progress")
    public static let completed = JobStatus(rawValue: "completed")
    public static let completedWithWarnings = JobStatus(rawValue: "completed_with_warnings")
    public static let partialSuccess = JobStatus(rawValue: "partial_success")
    public static let failed = JobStatus(rawValue: "failed")
    public static let cancelled = JobStatus(rawValue: "cancelled")

    /// Whether the job has ended: a terminal job accepts no more progress.
    public var isTerminal: Bool {
        ![JobStatus.pending, .inProgress].contains(self)
    }

    public var description: String { rawValue }
}

/// An error or warning as stored on a job (spec §2, the items of `errors` / `warnings`).
public struct ItemIssueRecord: Sendable, Codable, Equatable {
    public var entityKey: String
    public var entityType: String
    public var errorType: String
    public var message: String
    public var details: [String: JSONValue]
    public var step: String?
    /// When the server appended it: RFC 3339 UTC with milliseconds, e.g. `2026-11-29T04:46:12.123Z`.
    public var timestamp: String

    enum CodingKeys: String, CodingKey {
        case entityKey = "entity_key"
        case entityType = "entity_type"
        case errorType = "error_type"
        case message, details, step, timestamp
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entityKey = try c.decode(String.self, forKey: .entityKey)
        entityType = try c.decodeIfPresent(String.self, forKey: .entityType) ?? "job"
        errorType = try c.decode(String.self, forKey: .errorType)
        message = try c.decode(String.self, forKey: .message)
        details = try c.decodeIfPresent([String: JSONValue].self, forKey: .details) ?? [:]
        step = try c.decodeIfPresent(String.self, forKey: .step)
        timestamp = try c.decode(String.self, forKey: .timestamp)
    }

    /// `timestamp` as a `Date`, or nil when it is not RFC 3339.
    public var date: Date? { JobTimestamp.parse(timestamp) }
}

/// The Job resource (spec §2), as returned by create, get, progress and cancel.
///
/// Timestamps are kept as the server sent them (RFC 3339 UTC with milliseconds); the `…Date`
/// properties parse them. `errors` and `warnings` hold the most recent 100 of each, oldest
/// first; they are empty when decoded from a list item, which omits them.
public struct Job: Sendable, Codable, Equatable {
    public var jobID: String
    public var organizationID: String
    public var jobType: String
    public var status: JobStatus
    public var totalItems: Int
    public var processedItems: Int
    public var failedItems: Int
    public var warnedItems: Int
    public var progressPercentage: Double
    public var successRate: Double
    public var errorCount: Int
    public var warningCount: Int
    public var metadata: [String: JSONValue]
    public var errorMessage: String?
    public var errors: [ItemIssueRecord]
    public var warnings: [ItemIssueRecord]
    public var triggeredBy: String?
    public var createdAt: String
    public var startedAt: String?
    public var completedAt: String?
    public var updatedAt: String
    public var durationSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case organizationID = "organization_id"
        case jobType = "job_type"
        case status
        case totalItems = "total_items"
        case processedItems = "processed_items"
        case failedItems = "failed_items"
        case warnedItems = "warned_items"
        case progressPercentage = "progress_percentage"
        case successRate = "success_rate"
        case errorCount = "error_count"
        case warningCount = "warning_count"
        case metadata
        case errorMessage = "error_message"
        case errors, warnings
        case triggeredBy = "triggered_by"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case completedAt = "completed_at"
        case updatedAt = "updated_at"
        case durationSeconds = "duration_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        jobID = try c.decode(String.self, forKey: .jobID)
        organizationID = try c.decode(String.self, forKey: .organizationID)
        jobType = try c.decode(String.self, forKey: .jobType)
        status = try c.decode(JobStatus.self, forKey: .status)
        totalItems = try c.decode(Int.self, forKey: .totalItems)
        processedItems = try c.decode(Int.self, forKey: .processedItems)
        failedItems = try c.decode(Int.self, forKey: .failedItems)
        warnedItems = try c.decode(Int.self, forKey: .warnedItems)
        progressPercentage = try c.decode(Double.self, forKey: .progressPercentage)
        successRate = try c.decode(Double.self, forKey: .successRate)
        errorCount = try c.decode(Int.self, forKey: .errorCount)
        warningCount = try c.decode(Int.self, forKey: .warningCount)
        metadata = try c.decodeIfPresent([String: JSONValue].self, forKey: .metadata) ?? [:]
        errorMessage = try c.decodeIfPresent(String.self, forKey: .errorMessage)
        errors = try c.decodeIfPresent([ItemIssueRecord].self, forKey: .errors) ?? []
        warnings = try c.decodeIfPresent([ItemIssueRecord].self, forKey: .warnings) ?? []
        triggeredBy = try c.decodeIfPresent(String.self, forKey: .triggeredBy)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        startedAt = try c.decodeIfPresent(String.self, forKey: .startedAt)
        completedAt = try c.decodeIfPresent(String.self, forKey: .completedAt)
        updatedAt = try c.decode(String.self, forKey: .updatedAt)
        durationSeconds = try c.decodeIfPresent(Double.self, forKey: .durationSeconds)
    }

    /// `metadata.stage` when it is a string.
    public var stage: String? { metadata["stage"]?.stringValue }

    public var createdAtDate: Date? { JobTimestamp.parse(createdAt) }
    public var startedAtDate: Date? { startedAt.flatMap(JobTimestamp.parse) }
    public var completedAtDate: Date? { completedAt.flatMap(JobTimestamp.parse) }
    public var updatedAtDate: Date? { JobTimestamp.parse(updatedAt) }
}

/// The cheap polling view, `GET /api/jobs/{job_id}/status` (spec §3).
public struct JobStatusView: Sendable, Codable, Equatable {
    public var jobID: String
    public var status: JobStatus
    public var progressPercentage: Double
    public var processedItems: Int
    public var failedItems: Int
    public var warnedItems: Int
    public var totalItems: Int
    /// `metadata.stage` when it is a string, else nil.
    public var stage: String?
    public var errorMessage: String?
    public var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case status
        case progressPercentage = "progress_percentage"
        case processedItems = "processed_items"
        case failedItems = "failed_items"
        case warnedItems = "warned_items"
        case totalItems = "total_items"
        case stage
        case errorMessage = "error_message"
        case updatedAt = "updated_at"
    }

    public var updatedAtDate: Date? { JobTimestamp.parse(updatedAt) }
}

/// Parses the API's timestamps: RFC 3339, with or without fractional seconds.
public enum JobTimestamp {
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date
        }
        return try? Date(text, strategy: Date.ISO8601FormatStyle())
    }
}
