import Foundation
import HTTPTypes
import JobsHTTP
import LibPQ
import Testing

@testable import JobsDomain

@Suite("Create, read, status, cancel (spec §2–§3)")
struct JobResourceTests {
    @Test func createReturns201WithLocationAndTheFullJob() async throws {
        try await withAPI { (http, t) async throws in
            let response = try await http.call(
                .post, "/api/jobs", headers: t.editorA,
                json: #"{"job_type": "enrichment", "total_items": 1000, "metadata": {"source": "s3", "n": [1, 2.5]}}"#)
            #expect(response.status == 201)
            let id = try #require(response["job_id"] as? String)
            #expect(response.headers[.location] == "/api/jobs/\(id)")
            #expect(id.hasPrefix("job_") && id.count <= 64)
            #expect(id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" })
            let keys = Set(response.object.keys)
            let expected: Set<String> = [
                "job_id", "organization_id", "job_type", "status", "total_items", "processed_items", "failed_items",
                "warned_items", "progress_percentage", "success_rate", "error_count", "warning_count", "metadata",
                "error_message", "errors", "warnings", "triggered_by", "created_at", "started_at", "completed_at",
                "updated_at", "duration_seconds",
            ]
            // The contract's fields, plus the additions of issue 14 (never a contract field less).
            let additions: Set<String> = [
                "last_reported_at", "estimated_completion_at", "stalled", "stall_after_seconds",
            ]
            #expect(keys == expected.union(additions))
            #expect(response["status"] as? String == "pending")
            #expect(response["triggered_by"] is NSNull, "an API key has no user: null")
            #expect(response["started_at"] is NSNull)
            #expect(response["duration_seconds"] is NSNull)
            #expect(response["error_message"] is NSNull)
            #expect((response["metadata"] as? [String: Any])?["source"] as? String == "s3")
            let created = try #require(response["created_at"] as? String)
            #expect(
                created.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil
            )
            #expect(response["updated_at"] as? String == created)
            let get = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(get.status == 200)
            #expect(get.text == response.text, "GET returns what create returned")
        }
    }

    @Test func jobIDsAreUniqueAndTimeOrdered() async throws {
        var ids: [String] = []
        for _ in 0..<50 {
            ids.append(JobID.generate())
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(Set(ids).count == 50)
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.count == 30 })
    }

    @Test func triggeredByDefaultsAndExplicitNull() async throws {
        try await withAPI { (http, t) async throws in
            let explicit = try await http.call(
                .post, "/api/jobs/", headers: t.bearer(t.soloSession),
                json: #"{"job_type": "x", "total_items": 1, "triggered_by": null}"#)
            #expect(explicit.status == 201)
            #expect(explicit["triggered_by"] is NSNull)
            let named = try await http.call(
                .post, "/api/jobs/", headers: t.editorA,
                json: #"{"job_type": "x", "total_items": 1, "triggered_by": "cron"}"#)
            #expect(named["triggered_by"] as? String == "cron")
            let nullMetadata = try await http.call(
                .post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "x", "total_items": 1, "metadata": null}"#
            )
            #expect(nullMetadata.status == 201)
            #expect((nullMetadata["metadata"] as? [String: Any])?.isEmpty == true)
        }
    }

    @Test func statusViewHasExactlyTheContractFields() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 4)
            _ = try await http.progress(t.editorA, id, #"{"stage": "download", "processed_items": 1}"#)
            let status = try await http.call(.get, "/api/jobs/\(id)/status", headers: t.editorA)
            #expect(status.status == 200)
            #expect(
                Set(status.object.keys) == [
                    "job_id", "status", "progress_percentage", "processed_items", "failed_items", "warned_items",
                    "total_items", "stage", "error_message", "updated_at",
                    // Additions of issue 14:
                    "last_reported_at", "estimated_completion_at", "stalled",
                ])
            #expect(status["stage"] as? String == "download")
            #expect(double(status["progress_percentage"]) == 25)
        }
    }

    @Test func trailingSlashIsOptionalEverywhere() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            for path in [
                "/api/jobs", "/api/jobs/", "/api/jobs/\(id)", "/api/jobs/\(id)/", "/api/jobs/\(id)/status/",
                "/api/jobs/\(id)/errors/", "/api/jobs/\(id)/warnings/",
            ] {
                #expect(try await http.call(.get, path, headers: t.editorA).status == 200, "\(path)")
            }
            #expect(
                try await http.call(.post, "/api/jobs/\(id)/progress/", headers: t.editorA, json: "{}").status == 200)
            #expect(try await http.call(.post, "/api/jobs/\(id)/cancel/", headers: t.editorA).status == 200)
        }
    }

    @Test func unknownRoutesAre404AndWrongMethods405() async throws {
        try await withAPI { (http, t) async throws in
            let missing = try await http.call(.get, "/api/nothing", headers: t.editorA)
            #expect(missing.status == 404)
            #expect(missing.detail != nil)
            let wrong = try await http.call(.delete, "/api/jobs/", headers: t.editorA)
            #expect(wrong.status == 405)
            #expect(wrong.headers[.allow]?.contains("POST") == true)
            #expect(try await http.call(.put, "/api/jobs/abc/progress", headers: t.editorA).status == 405)
        }
    }

    @Test(arguments: [
        "job_does_not_exist", "' OR '1'='1", "..%2F..%2Fetc%2Fpasswd", String(repeating: "x", count: 65), "%00",
        "job_01%3B%20DROP%20TABLE%20jobs",
    ])
    func unknownOrHostileJobIDsAre404(id: String) async throws {
        try await withAPI { (http, t) async throws in
            for suffix in ["", "/status", "/errors"] {
                let response = try await http.call(.get, "/api/jobs/\(id)\(suffix)", headers: t.editorA)
                #expect(response.status == 404, "\(id)\(suffix): \(response.status) \(response.text)")
            }
        }
    }

    @Test func cancelRules() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let cancelled = try await http.call(
                .post, "/api/jobs/\(id)/cancel", headers: t.editorA, json: #"{"reason": "user asked"}"#)
            #expect(cancelled.status == 200)
            #expect(cancelled["status"] as? String == "cancelled")
            #expect(cancelled["error_message"] as? String == "user asked")
            #expect(cancelled["completed_at"] is String)
            let again = try await http.call(.post, "/api/jobs/\(id)/cancel", headers: t.editorA)
            #expect(again.status == 200)
            #expect(
                again.text
                    == cancelled.text.replacingOccurrences(
                        of: "\"duration_seconds\":null", with: "\"duration_seconds\":null"))
            let noReason = try await http.createJob(t.editorA)
            let plain = try await http.call(.post, "/api/jobs/\(noReason)/cancel", headers: t.editorA)
            #expect(plain["error_message"] as? String == "cancelled")
            let done = try await http.createJob(t.editorA)
            _ = try await http.progress(t.editorA, done, #"{"mark_completed": true}"#)
            let conflict = try await http.call(.post, "/api/jobs/\(done)/cancel", headers: t.editorA)
            #expect(conflict.status == 409)
            let typo = try await http.call(
                .post, "/api/jobs/\(noReason)/cancel", headers: t.editorA, json: #"{"reson": "x"}"#)
            #expect(typo.status == 422)
            #expect(typo.hasIssue("body.reson", "extra_forbidden"))
            // Workers learn of a cancellation from the 409 on their next report.
            let report = try await http.progress(t.editorA, id, #"{"processed_items": 3}"#)
            #expect(report.status == 409)
            #expect(report.detail == "job \(id) is cancelled and accepts no more progress")
        }
    }
}
