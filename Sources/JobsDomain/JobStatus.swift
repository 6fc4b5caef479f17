/// The lifecycle status of a job (spec §2). The last five are terminal.
public enum JobStatus: String, Sendable, CaseIterable, Codable {
    case pending
    case inProgress = "in_progress"
    case completed
    case completedWithWarnings = "completed_with_warnings"
    case partialSuccess = "partial_success"
    case failed
    case cancelled

    public var isTerminal: Bool { self != .pending && self != .inProgress }

    /// Terminal statuses that count as success: they report 100 % progress.
    public var isSuccessTerminal: Bool {
        self == .completed || self == .completedWithWarnings || self == .partialSuccess
    }
}

/// Which transition ended a job; a repeat of that same transition is a harmless retry.
public enum EndedBy: String, Sendable {
    case markCompleted = "mark_completed"
    case markFailed = "mark_failed"
    case cancel
}

/// Error or warning.
public enum EventKind: String, Sendable, CaseIterable {
    case error
    case warning
}
