import Foundation
public import StrictJSON

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

/// Webhook endpoint URLs: absolute http(s) URLs with a host, at most 2048 characters, without
/// credentials or a fragment (the address itself is checked at each delivery).
public enum WebhookURL {
    public static func validate(_ text: String) -> String? {
        guard text.utf8.count <= 2048, text.utf8.count >= 8, let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil,
            components.fragment == nil, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else { return nil }
        return text
    }

    public static let rule =
        "url must be an absolute http:// or https:// URL with a host, without credentials or a fragment, at most 2048 characters"
}

/// `POST /api/webhooks` body: `{"url": "...", "events": ["job.completed", ...]}` (events
/// optional: all of them).
public struct CreateWebhookRequest: Sendable, Equatable {
    public var url: String
    public var events: [WebhookEvent]

    public static func parse(_ body: JSONValue) -> Result<CreateWebhookRequest, APIError> {
        let object: JSONObject
        switch FieldReader.requireObject(body, at: ["body"]) {
        case .failure(let error): return .failure(error)
        case .success(let o): object = o
        }
        var r = FieldReader(object, at: ["body"])
        r.required("url")
        var url = r.string("url", min: 1, max: 2048)
        if let given = url, WebhookURL.validate(given) == nil {
            r.add("url", msg: WebhookURL.rule, type: "url_parsing")
            url = nil
        }
        var events = WebhookEvent.allCases
        if let list = r.stringArray("events", maxCount: 32, maxLength: 100) {
            switch WebhookEvent.parseList(list.joined(separator: ",")) {
            case .success(let parsed): events = parsed
            case .failure(let error): r.add("events", msg: error.message, type: "enum")
            }
        }
        r.rejectUnknown()
        guard r.issues.isEmpty, let url else { return .failure(.validation(r.issues)) }
        return .success(CreateWebhookRequest(url: url, events: events))
    }
}
