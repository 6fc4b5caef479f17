import Foundation
import HTTPTypes
import JobsHTTP
import JobsTestSupport
import LibPQ
import Testing

@Suite("Progress rules (spec §4)")
struct ProgressTests {
    @Test func setAndDeltaCounters() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 100)
            var r = try await http.progress(t.editorA, id, #"{"total_items": 200, "processed_items": 10}"#)
            #expect(int(r["total_items"]) == 200)
            #expect(int(r["processed_items"]) == 10)
            r = try await http.progress(t.editorA, id, #"{"processed_items_delta": 5}"#)
            #expect(int(r["processed_items"]) == 15)
            #expect(double(r["progress_percentage"]) == 7.5)
            let both = try await http.progress(t.editorA, id, #"{"processed_items": 1, "processed_items_delta": 1}"#)
            #expect(both.status == 422)
            let overflow = try await http.progress(t.editorA, id, #"{"processed_items_delta": 9007199254740991}"#)
            #expect(overflow.status == 422)
            #expect(overflow.hasIssue("body.processed_items_delta"))
            #expect(int(try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)["processed_items"]) == 15)
        }
    }

    @Test func metadataMergePatchStageAndMessage() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(
                t.editorA, extra: #", "metadata": {"a": {"b": 1, "c": 2}, "keep": true, "drop": 1}"#)
            let r = try await http.progress(
                t.editorA, id,
                #"{"metadata_patch": {"a": {"b": null, "d": [1]}, "drop": null, "new": "x"}, "stage": "transforming", "message": "batch 7/10"}"#
            )
            #expect(r.status == 200)
            let metadata = try #require(r["metadata"] as? [String: Any])
            let a = try #require(metadata["a"] as? [String: Any])
            #expect(a["b"] == nil)
            #expect(int(a["c"]) == 2)
            #expect((a["d"] as? [Any])?.count == 1)
            #expect(metadata["drop"] == nil)
            #expect(metadata["keep"] as? Bool == true)
            #expect(metadata["new"] as? String == "x")
            #expect(metadata["stage"] as? String == "transforming")
            #expect(metadata["last_message"] as? String == "batch 7/10")
        }
    }

    @Test func errorsAndWarningsAreAppendedWithDefaultsAndTimestamps() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 10)
            var r = try await http.progress(
                t.editorA, id,
                #"{"error": {"entity_key": "SKU-1", "entity_type": "product", "error_type": "validation", "message": "price missing", "details": {"field": "price"}, "step": "transform"}}"#
            )
            #expect(int(r["failed_items"]) == 1)
            #expect(int(r["error_count"]) == 1)
            r = try await http.progress(
                t.editorA, id, #"{"error": {"entity_key": "file", "error_type": "io", "message": "retrying"}}"#)
            #expect(int(r["failed_items"]) == 1, "errors about the job itself do not count as failed items")
            #expect(int(r["error_count"]) == 2)
            let errors = try #require(r["errors"] as? [[String: Any]])
            #expect(errors.count == 2)
            #expect(errors[0]["entity_key"] as? String == "SKU-1", "oldest first")
            #expect(errors[1]["entity_type"] as? String == "job")
            #expect(errors[1]["step"] is NSNull)
            #expect((errors[1]["details"] as? [String: Any])?.isEmpty == true)
            #expect(errors[0]["timestamp"] is String)
            r = try await http.progress(
                t.editorA, id,
                #"{"warning": {"entity_key": "SKU-2", "entity_type": "product", "error_type": "gap", "message": "no image"}}"#
            )
            #expect(int(r["warned_items"]) == 1)
            #expect(int(r["warning_count"]) == 1)
            #expect((r["warnings"] as? [Any])?.count == 1)
            let missing = try await http.progress(t.editorA, id, #"{"error": {"entity_key": "x", "message": "m"}}"#)
            #expect(missing.status == 422)
            #expect(missing.hasIssue("body.error.error_type", "missing"))
            let typo = try await http.progress(
                t.editorA, id, #"{"warning": {"entity_key": "x", "error_type": "t", "message": "m", "detials": {}}}"#)
            #expect(typo.hasIssue("body.warning.detials", "extra_forbidden"))
        }
    }

    @Test func jobEmbedsTheMostRecent100AndPagesTheRest() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 500)
            for i in 0..<130 {
                let r = try await http.progress(
                    t.editorA, id,
                    #"{"error": {"entity_key": "k\#(i)", "entity_type": "row", "error_type": "e", "message": "m"}}"#)
                #expect(r.status == 200)
            }
            let job = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            let errors = try #require(job["errors"] as? [[String: Any]])
            #expect(errors.count == 100)
            #expect(errors.first?["entity_key"] as? String == "k30")
            #expect(errors.last?["entity_key"] as? String == "k129")
            var seen: [String] = []
            var cursor: String? = nil
            repeat {
                let uri = "/api/jobs/\(id)/errors?limit=40" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await http.call(.get, uri, headers: t.editorA)
                #expect(page.status == 200)
                seen += ((page["items"] as? [[String: Any]]) ?? []).compactMap { $0["entity_key"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == (0..<130).map { "k\($0)" })
            let warnings = try await http.call(.get, "/api/jobs/\(id)/warnings", headers: t.editorA)
            #expect((warnings["items"] as? [Any])?.isEmpty == true)
            #expect(warnings["next_cursor"] is NSNull)
            for bad in ["limit=0", "limit=1001", "limit=abc", "cursor=garbage"] {
                let response = try await http.call(.get, "/api/jobs/\(id)/errors?\(bad)", headers: t.editorA)
                #expect(response.status == 422, "\(bad)")
            }
        }
    }

    @Test func markStartedCompletedAndTheDerivation() async throws {
        try await withAPI { (http, t) async throws in
            let clean = try await http.createJob(t.editorA, total: 2)
            var r = try await http.progress(t.editorA, clean, #"{"mark_started": true}"#)
            #expect(r["status"] as? String == "in_progress")
            let started = r["started_at"] as? String
            #expect(started != nil)
            r = try await http.progress(t.editorA, clean, #"{"mark_started": true}"#)
            #expect(r["started_at"] as? String == started, "already in progress: no change")
            r = try await http.progress(t.editorA, clean, #"{"processed_items": 2, "mark_completed": true}"#)
            #expect(r["status"] as? String == "completed")
            #expect(double(r["progress_percentage"]) == 100)
            #expect(double(r["success_rate"]) == 100)
            #expect(r["completed_at"] is String)
            #expect(r["duration_seconds"] is NSNumber)

            let warned = try await http.createJob(t.editorA, total: 2)
            _ = try await http.progress(
                t.editorA, warned, #"{"warning": {"entity_key": "a", "error_type": "w", "message": "m"}}"#)
            r = try await http.progress(t.editorA, warned, #"{"mark_completed": true}"#)
            #expect(r["status"] as? String == "completed_with_warnings")
            #expect(r["started_at"] is NSNull, "finished without a start keeps started_at null")
            #expect(r["duration_seconds"] is NSNull)

            let partial = try await http.createJob(t.editorA, total: 10)
            _ = try await http.progress(
                t.editorA, partial,
                #"{"processed_items": 3, "error": {"entity_key": "a", "entity_type": "row", "error_type": "e", "message": "m"}}"#
            )
            r = try await http.progress(t.editorA, partial, #"{"mark_completed": true}"#)
            #expect(r["status"] as? String == "partial_success")
            #expect(double(r["progress_percentage"]) == 100)
            #expect(double(r["success_rate"]) == 75)

            let allFailed = try await http.createJob(t.editorA, total: 3)
            for i in 0..<3 {
                _ = try await http.progress(
                    t.editorA, allFailed,
                    #"{"error": {"entity_key": "r\#(i)", "entity_type": "row", "error_type": "e", "message": "m"}}"#)
            }
            r = try await http.progress(t.editorA, allFailed, #"{"mark_completed": true}"#)
            #expect(r["status"] as? String == "failed")
            #expect(r["error_message"] as? String == "all 3 items failed")
            #expect(double(r["success_rate"]) == 0)

            let jobOnly = try await http.createJob(t.editorA, total: 3)
            _ = try await http.progress(
                t.editorA, jobOnly, #"{"error": {"entity_key": "job", "error_type": "e", "message": "m"}}"#)
            r = try await http.progress(t.editorA, jobOnly, #"{"mark_completed": true}"#)
            #expect(r["status"] as? String == "partial_success", "failed_items is 0: not the all-failed case")
        }
    }

    @Test func markFailedAndTerminalRules() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let both = try await http.progress(t.editorA, id, #"{"mark_completed": true, "mark_failed": "x"}"#)
            #expect(both.status == 422)
            let empty = try await http.progress(t.editorA, id, #"{"mark_failed": ""}"#)
            #expect(empty.status == 422)
            let failed = try await http.progress(t.editorA, id, #"{"mark_failed": "disk full"}"#)
            #expect(failed["status"] as? String == "failed")
            #expect(failed["error_message"] as? String == "disk full")
            let repeatFail = try await http.progress(t.editorA, id, #"{"mark_failed": "another message"}"#)
            #expect(repeatFail.status == 200)
            #expect(repeatFail["error_message"] as? String == "disk full", "unchanged")
            #expect(repeatFail["updated_at"] as? String == failed["updated_at"] as? String)
            let complete = try await http.progress(t.editorA, id, #"{"mark_completed": true}"#)
            #expect(complete.status == 409)
            #expect(complete.detail == "job \(id) is failed and accepts no more progress")
            #expect(try await http.progress(t.editorA, id, "{}").status == 200)
            #expect(
                try await http.progress(t.editorA, id, #"{"stage": null, "total_items": null}"#).status == 200,
                "only nulls: a read")
            // A `false` flag is a field the request carries: 409 on a terminal job (spec §4), so a
            // worker whose reports carry only such flags still learns that the job ended.
            for body in [
                #"{"mark_started": false}"#, #"{"mark_completed": false}"#, #"{"stage": null, "mark_started": false}"#,
            ] {
                let r = try await http.progress(t.editorA, id, body)
                #expect(r.status == 409, "\(body) on a failed job: \(r.text)")
            }
            let cancelled = try await http.createJob(t.editorA)
            #expect(try await http.call(.post, "/api/jobs/\(cancelled)/cancel", headers: t.editorA).status == 200)
            for body in [#"{"mark_started": false}"#, #"{"mark_completed": false}"#, #"{"mark_started": true}"#] {
                let r = try await http.progress(t.editorA, cancelled, body)
                #expect(r.status == 409, "\(body) on a cancelled job: \(r.text)")
                #expect(r.detail == "job \(cancelled) is cancelled and accepts no more progress")
            }

            let done = try await http.createJob(t.editorA)
            let first = try await http.progress(t.editorA, done, #"{"mark_completed": true}"#)
            let retry = try await http.progress(t.editorA, done, #"{"mark_completed": true}"#)
            #expect(retry.status == 200)
            #expect(retry["updated_at"] as? String == first["updated_at"] as? String)
            #expect(
                try await http.progress(t.editorA, done, #"{"mark_completed": true, "processed_items": 1}"#).status
                    == 409)
            #expect(try await http.progress(t.editorA, done, #"{"mark_failed": "x"}"#).status == 409)
            #expect(
                try await http.progress(t.editorA, done, #"{"mark_completed": true, "mark_started": false}"#).status
                    == 409,
                "the retry exception is for a request whose only field is mark_completed")

            // The all-failed derivation ended it through mark_completed: a mark_completed retry is fine.
            let allFailed = try await http.createJob(t.editorA, total: 1)
            _ = try await http.progress(
                t.editorA, allFailed,
                #"{"error": {"entity_key": "r", "entity_type": "row", "error_type": "e", "message": "m"}}"#)
            #expect(
                try await http.progress(t.editorA, allFailed, #"{"mark_completed": true}"#)["status"] as? String
                    == "failed")
            #expect(try await http.progress(t.editorA, allFailed, #"{"mark_completed": true}"#).status == 200)
            #expect(try await http.progress(t.editorA, allFailed, #"{"mark_failed": "x"}"#).status == 409)
        }
    }

    @Test func updatedAtChangesOnlyWhenSomethingChanges() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 5)
            let first = try await http.progress(t.editorA, id, #"{"processed_items": 2}"#)
            try await Task.sleep(for: .milliseconds(20))
            let same = try await http.progress(t.editorA, id, #"{"processed_items": 2, "total_items": 5}"#)
            #expect(same["updated_at"] as? String == first["updated_at"] as? String)
            let emptyBody = try await http.progress(t.editorA, id, "{}")
            #expect(emptyBody["updated_at"] as? String == first["updated_at"] as? String)
            let changed = try await http.progress(t.editorA, id, #"{"processed_items": 3}"#)
            #expect(changed["updated_at"] as? String != first["updated_at"] as? String)
        }
    }

    @Test func errorCapTruncatesButCountsRise() async throws {
        try await withAPI(maxEventsPerJob: 3) { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 10)
            var r = APIResponse(status: 0, headers: [:], text: "")
            for i in 0..<5 {
                r = try await http.progress(
                    t.editorA, id,
                    #"{"error": {"entity_key": "r\#(i)", "entity_type": "row", "error_type": "e", "message": "m"}}"#)
            }
            #expect(int(r["error_count"]) == 5)
            #expect(int(r["failed_items"]) == 5)
            let errors = try #require(r["errors"] as? [[String: Any]])
            #expect(errors.compactMap { $0["entity_key"] as? String } == ["r0", "r1", "r2"], "the oldest are kept")
            #expect((r["metadata"] as? [String: Any])?["errors_truncated"] as? Bool == true)
            #expect((r["metadata"] as? [String: Any])?["warnings_truncated"] == nil)
        }
    }

    @Test func concurrentWritersNeverLoseUpdates() async throws {
        try await withAPI(poolSize: 10) { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 10_000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<32 {
                    group.addTask {
                        for i in 0..<25 {
                            let r = try await http.progress(
                                t.editorA, id,
                                #"{"error": {"entity_key": "c\#(client)-\#(i)", "entity_type": "row", "error_type": "e", "message": "m"}}"#
                            )
                            #expect(r.status == 200)
                        }
                    }
                }
                try await group.waitForAll()
            }
            var job = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(int(job["error_count"]) == 800)
            #expect(int(job["failed_items"]) == 800)
            let page = try await http.call(.get, "/api/jobs/\(id)/errors?limit=1000", headers: t.editorA)
            #expect((page["items"] as? [Any])?.count == 800)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        for _ in 0..<50 {
                            let r = try await http.progress(t.editorA, id, #"{"processed_items_delta": 1}"#)
                            #expect(r.status == 200)
                        }
                    }
                }
                try await group.waitForAll()
            }
            job = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(int(job["processed_items"]) == 1600)
        }
    }
}
