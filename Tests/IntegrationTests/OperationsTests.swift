import Foundation
import HTTPTypes
import JobsHTTP
import LibPQ
import Testing

@testable import JobsDomain

@Suite("Operations: metrics and request ids")
struct OperationsTests {
    /// The value of one sample line (`name{labels} value`) whose text contains every fragment.
    func sample(_ text: String, _ fragments: [String]) -> Double {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if fragments.allSatisfy({ line.contains($0) }),
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            {
                return value
            }
        }
        return 0
    }

    @Test func metricsCountersMove() async throws {
        try await withAPI { (http, t) async throws in
            let before = try await http.call(.get, "/metrics").text
            let id = try await http.createJob(t.editorA)
            _ = try await http.progress(t.editorA, id, #"{"processed_items": 1}"#)
            _ = try await http.progress(t.editorA, id, #"{"mark_completed": true}"#)
            var replay = t.editorA
            replay[HTTPField.Name("Idempotency-Key")!] = "metrics-\(UUID().uuidString)"
            _ = try await http.call(.post, "/api/jobs/", headers: replay, json: #"{"job_type":"x","total_items":1}"#)
            _ = try await http.call(.post, "/api/jobs/", headers: replay, json: #"{"job_type":"x","total_items":1}"#)
            let response = try await http.call(.get, "/metrics")
            #expect(response.status == 200)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let after = response.text
            #expect(sample(after, ["jobs_created_total"]) - sample(before, ["jobs_created_total"]) == 2)
            #expect(
                sample(after, ["jobs_progress_updates_applied_total"])
                    - sample(before, ["jobs_progress_updates_applied_total"]) == 2)
            #expect(sample(after, ["jobs_terminal_total", "status=\"completed\""]) >= 1)
            #expect(sample(after, ["idempotent_replays_total"]) - sample(before, ["idempotent_replays_total"]) == 1)
            // Requests are labelled by route template, never by raw path.
            #expect(after.contains(#"route="/api/jobs/{job_id}/progress""#))
            #expect(!after.contains(id))
            #expect(
                sample(after, ["http_requests_total", #"route="/api/jobs/{job_id}/progress""#, #"status="200""#]) >= 2)
            #expect(after.contains("http_request_duration_seconds_bucket"))
            #expect(after.contains("db_pool_max_connections"))
            #expect(after.contains("db_pool_acquire_seconds"))
        }
    }

    @Test func requestIDIsHonouredOrGenerated() async throws {
        try await withAPI { (http, t) async throws in
            var headers = t.editorA
            headers[HTTPField.Name("X-Request-ID")!] = "abc-123.xyz"
            let honoured = try await http.call(.get, "/api/jobs/", headers: headers)
            #expect(honoured.headers[HTTPField.Name("X-Request-ID")!] == "abc-123.xyz")
            headers[HTTPField.Name("X-Request-ID")!] = "bad id with spaces"
            let replaced = try await http.call(.get, "/api/jobs/", headers: headers)
            let generated = try #require(replaced.headers[HTTPField.Name("X-Request-ID")!])
            #expect(generated != "bad id with spaces" && !generated.isEmpty)
            let error = try await http.call(.get, "/api/jobs/nope")
            #expect(error.headers[HTTPField.Name("X-Request-ID")!] != nil, "echoed on errors too")
        }
    }
}
