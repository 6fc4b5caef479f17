import Foundation
import Testing

@testable import JobsClient

@Suite struct ModelDecodingTests {
    static let jobJSON = #"""
        {
          "job_id": "job_01JDX3Q6Z8M2K4T9V7B5N1C0RA", "organization_id": "org_acme", "job_type": "enrichment",
          "status": "in_progress", "total_items": 1000, "processed_items": 640, "failed_items": 12,
          "warned_items": 3, "progress_percentage": 65.2, "success_rate": 98.16, "error_count": 12,
          "warning_count": 3,
          "metadata": {"stage": "transforming", "last_message": "batch 7/10", "nested": {"a": [1, true, null]}},
          "error_message": null,
          "errors": [{"entity_key": "SKU-1", "entity_type": "product", "error_type": "validation",
                      "message": "price missing", "details": {"field": "price"}, "step": "transform",
                      "timestamp": "2026-11-29T04:46:12.123Z"}],
          "warnings": [], "triggered_by": "user_7", "created_at": "2026-11-29T04:40:00.000Z",
          "started_at": "2026-11-29T04:40:01.500Z", "completed_at": null,
          "updated_at": "2026-11-29T04:46:12.123Z", "duration_seconds": 371.62
        }
        """#

    @Test func decodesTheSpecExample() throws {
        let job = try JSONDecoder().decode(Job.self, from: Data(Self.jobJSON.utf8))
        #expect(job.jobID == "job_01JDX3Q6Z8M2K4T9V7B5N1C0RA")
        #expect(job.status == .inProgress)
        #expect(!job.status.isTerminal)
        #expect(job.processedItems == 640 && job.failedItems == 12 && job.warnedItems == 3)
        #expect(job.successRate == 98.16)
        #expect(job.stage == "transforming")
        #expect(job.metadata["nested"] == ["a": [1, true, nil]])
        #expect(job.errorMessage == nil && job.completedAt == nil)
        #expect(job.errors.count == 1)
        #expect(job.errors[0].entityType == "product")
        #expect(job.errors[0].details == ["field": "price"])
        #expect(job.errors[0].timestamp == "2026-11-29T04:46:12.123Z")
        let started = try #require(job.startedAtDate)
        let created = try #require(job.createdAtDate)
        #expect(abs(started.timeIntervalSince(created) - 1.5) < 0.0001)
        #expect(job.durationSeconds == 371.62)
    }

    @Test func listItemsWithoutErrorsAndWarningsDecode() throws {
        var object = try JSONDecoder().decode(JSONValue.self, from: Data(Self.jobJSON.utf8)).objectValue ?? [:]
        object["errors"] = nil
        object["warnings"] = nil
        object["status"] = "some_future_status"
        let job = try JSONDecoder().decode(Job.self, from: JSONEncoder().encode(JSONValue.object(object)))
        #expect(job.errors.isEmpty && job.warnings.isEmpty)
        #expect(job.status.rawValue == "some_future_status")
    }

    @Test func decodesTheStatusView() throws {
        let json = #"""
            {"job_id": "job_1", "status": "cancelled", "progress_percentage": 12.5, "processed_items": 1,
             "failed_items": 0, "warned_items": 0, "total_items": 8, "stage": null, "error_message": "superseded",
             "updated_at": "2026-11-29T04:46:12.123Z"}
            """#
        let view = try JSONDecoder().decode(JobStatusView.self, from: Data(json.utf8))
        #expect(view.status == .cancelled && view.status.isTerminal)
        #expect(view.stage == nil)
        #expect(view.errorMessage == "superseded")
        #expect(view.updatedAtDate != nil)
    }

    @Test func jsonValueRoundTrips() throws {
        let value: JSONValue = ["s": "x", "n": 1.5, "i": 7, "b": false, "z": nil, "a": [1, "two"], "o": ["k": "v"]]
        let back = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(back == value)
        #expect(value["i"]?.intValue == 7)
        #expect(value["n"]?.intValue == nil)
        #expect(value["b"]?.boolValue == false)
    }
}
