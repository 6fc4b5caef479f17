import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobsDomain
import JobsStore
import JobsTestSupport
import Logging
import Testing

@testable import JobsHTTP

/// `stalled`, `?stalled=` and the new view fields on the in-memory store: the same answers as
/// on PostgreSQL (StallTests).
@Suite struct StalledInMemoryTests {
    @Test func viewsAndTheFilterFollowStallAfter() async throws {
        let store = MemoryStore()
        store.addAPIKey("jak_editor", keyID: "k1", organization: "org_a", role: .editor)
        var config = AppConfiguration()
        config.stallAfter = .seconds(3600)
        let app = buildApplication(
            configuration: config, backend: .memory(store), expectedMigration: 9, logger: Logger(label: "test"))
        let editor: HTTPFields = [.authorization: "Bearer jak_editor"]
        try await app.test(.router) { http in
            let quiet = try await http.createJob(editor, extra: #", "stall_after": "1s""#)
            let calm = try await http.createJob(editor)
            for id in [quiet, calm] {
                #expect(try await http.progress(editor, id, #"{"mark_started": true}"#).status == 200)
            }
            let created = try await http.call(.get, "/api/jobs/\(calm)", headers: editor)
            #expect(int(created["stall_after_seconds"]) == 3600)
            #expect(created["stalled"] as? Bool == false)
            #expect(created["estimated_completion_at"] is NSNull)
            #expect(created["last_reported_at"] is String)
            try await Task.sleep(for: .milliseconds(1100))
            let status = try await http.call(.get, "/api/jobs/\(quiet)/status", headers: editor)
            #expect(status["stalled"] as? Bool == true)
            func ids(_ query: String) async throws -> [String] {
                let page = try await http.call(.get, "/api/jobs/\(query)", headers: editor)
                #expect(page.status == 200)
                return ((page["items"] as? [[String: Any]]) ?? []).compactMap { $0["job_id"] as? String }
            }
            #expect(try await ids("?stalled=true") == [quiet])
            #expect(try await ids("?stalled=false") == [calm])
            #expect(
                try await http.call(.get, "/api/jobs/?stalled=sometimes", headers: editor).hasIssue("query.stalled"))
            let beat = try await http.progress(editor, quiet, "{}")
            #expect(beat["stalled"] as? Bool == false)
            #expect(try await ids("?stalled=true") == [])
            let bad = try await http.call(
                .post, "/api/jobs/", headers: editor, json: #"{"job_type": "t", "total_items": 1, "stall_after": "1w"}"#
            )
            #expect(bad.status == 422)
            #expect(bad.hasIssue("body.stall_after", "value_error"))
        }
    }

    func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
}
