import Foundation

/// The job events a webhook endpoint can subscribe to.
public enum WebhookEvent: String, Sendable, CaseIterable {
    case completed = "job.completed"
    case completedWithWarnings = "job.completed_with_warnings"
    case partialSuccess = "job.partial_success"
    case failed = "job.failed"
    case cancelled = "job.cancelled"
    case stalled = "job.stalled"

    /// The event a job ending in `status` fires (nil while it runs).
    public init?(ending status: JobStatus) {
        switch status {
        case .pending, .inProgress: return nil
        case .completed: self = .completed
        case .completedWithWarnings: self = .completedWithWarnings
        case .partialSuccess: self = .partialSuccess
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        }
    }

    /// Parses a comma-separated list (`job.completed,job.failed`); nil names the first unknown one.
    public static func parseList(_ text: String) -> Result<[WebhookEvent], WebhookEventListError> {
        var events: [WebhookEvent] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let event = WebhookEvent(rawValue: trimmed) else {
                return .failure(WebhookEventListError(unknown: String(trimmed.prefix(100))))
            }
            if !events.contains(event) { events.append(event) }
        }
        return events.isEmpty ? .failure(WebhookEventListError(unknown: "")) : .success(events)
    }
}

/// An unknown event type in a list.
public struct WebhookEventListError: Error, Sendable, Equatable {
    public var unknown: String

    public var message: String {
        "unknown webhook event type \"\(unknown)\"; known: "
            + WebhookEvent.allCases.map(\.rawValue).joined(separator: ", ")
    }
}
