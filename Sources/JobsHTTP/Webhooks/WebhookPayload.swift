import Foundation
import JobsDomain
import StrictJSON

/// The body of a webhook: `{"type", "timestamp", "data"}` as the Standard Webhooks
/// specification suggests, `data` being the job as `GET /api/jobs/{job_id}` shows it without its
/// recent errors and warnings.
struct WebhookPayload: Sendable {
    /// The server's `STALL_AFTER` (the job view shows the threshold in effect).
    var stallAfter: Duration

    @Sendable func render(_ event: WebhookEvent, _ job: Job, _ at: Date) -> String {
        var object = JSONObject()
        object["type"] = .string(event.rawValue)
        object["timestamp"] = .string(Timestamp.format(at))
        object["data"] = JobJSON.job(job, events: nil, now: at, stallAfter: stallAfter)
        return JSONValue.object(object).compactJSON
    }
}
