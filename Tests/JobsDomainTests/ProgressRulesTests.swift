import Foundation
import Testing

@testable import JobsDomain
@testable import StrictJSON

@Suite struct ProgressRulesTests {
    let now = Date(timeIntervalSince1970: 1_795_927_572)

    func job(total: Int64 = 10) -> Job {
        Job(
            organizationID: "o", jobID: "job_1", jobType: "t", totalItems: total, metadata: JSONObject(),
            triggeredBy: nil,
            now: Date(timeIntervalSince1970: 1_795_927_000))
    }

    func event(_ entityType: String = "row") -> EventInput {
        EventInput(
            entityKey: "k", errorType: "e", message: "m", details: JSONObject(), entityType: entityType, step: nil)
    }

    @Test func percentagesRoundToTwoDecimals() {
        var j = job(total: 3)
        j.processedItems = 1
        #expect(j.progressPercentage == 33.33)
        #expect(j.successRate == 100)
        j.failedItems = 2
        #expect(j.progressPercentage == 100)
        #expect(j.successRate == 33.33)
        j.totalItems = 0
        #expect(j.progressPercentage == 0)
        j.totalItems = 1
        #expect(j.progressPercentage == 100, "capped at 100")
        var zero = job()
        #expect(zero.successRate == 0)
        zero.status = .partialSuccess
        #expect(zero.progressPercentage == 100)
        zero.status = .failed
        #expect(zero.progressPercentage == 0)
    }

    @Test func durationIsNullUntilStarted() {
        var j = job()
        #expect(j.durationSeconds(now: now) == nil)
        j.startedAt = now.addingTimeInterval(-1.2345)
        #expect(j.durationSeconds(now: now) == 1.235 || j.durationSeconds(now: now) == 1.234)
        j.completedAt = now.addingTimeInterval(-1)
        #expect(j.durationSeconds(now: now.addingTimeInterval(100)) == 0.235 || j.durationSeconds(now: now) == 0.234)
    }

    @Test func derivation() throws {
        var request = ProgressRequest()
        request.markCompleted = true
        var clean = job()
        _ = try ProgressRules.apply(request, to: &clean, now: now, limits: Limits())
        #expect(clean.status == .completed)
        #expect(clean.endedBy == .markCompleted)
        #expect(clean.completedAt == now)
        #expect(clean.startedAt == nil)

        var allFailed = job()
        allFailed.errorCount = 2
        allFailed.failedItems = 2
        _ = try ProgressRules.apply(request, to: &allFailed, now: now, limits: Limits())
        #expect(allFailed.status == .failed)
        #expect(allFailed.errorMessage == "all 2 items failed")

        var partial = allFailed
        partial = job()
        partial.errorCount = 1
        partial.processedItems = 1
        _ = try ProgressRules.apply(request, to: &partial, now: now, limits: Limits())
        #expect(partial.status == .partialSuccess)

        var warned = job()
        warned.warningCount = 1
        _ = try ProgressRules.apply(request, to: &warned, now: now, limits: Limits())
        #expect(warned.status == .completedWithWarnings)
    }

    @Test func orderOfApplicationWithinOneRequest() throws {
        var request = ProgressRequest()
        request.error = event()
        request.markCompleted = true
        request.markStarted = true
        var j = job()
        let events = try ProgressRules.apply(request, to: &j, now: now, limits: Limits())
        #expect(events.count == 1)
        #expect(events[0].seq == 1)
        #expect(j.startedAt == now)
        // The error (step 5) is appended before the derivation (step 7): nothing processed, one failed.
        #expect(j.status == .failed)
        #expect(j.errorMessage == "all 1 items failed")
    }

    @Test func terminalJobs() throws {
        var failed = job()
        var fail = ProgressRequest()
        fail.markFailed = "boom"
        _ = try ProgressRules.apply(fail, to: &failed, now: now, limits: Limits())
        let snapshot = failed
        fail.markFailed = "other"
        _ = try ProgressRules.apply(fail, to: &failed, now: now.addingTimeInterval(5), limits: Limits())
        #expect(failed == snapshot)
        var complete = ProgressRequest()
        complete.markCompleted = true
        #expect(throws: APIError.self) { try ProgressRules.apply(complete, to: &failed, now: now, limits: Limits()) }
        _ = try ProgressRules.apply(ProgressRequest(), to: &failed, now: now, limits: Limits())
        #expect(failed == snapshot)

        var cancelled = job()
        try ProgressRules.cancel(CancelRequest(reason: nil), job: &cancelled, now: now)
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.errorMessage == "cancelled")
        let before = cancelled
        try ProgressRules.cancel(CancelRequest(reason: "again"), job: &cancelled, now: now.addingTimeInterval(1))
        #expect(cancelled == before)
        #expect(throws: APIError.self) { try ProgressRules.apply(complete, to: &cancelled, now: now, limits: Limits()) }
        #expect(throws: APIError.self) { try ProgressRules.cancel(CancelRequest(), job: &failed, now: now) }
    }

    @Test func capStopsStoringButCountsRise() throws {
        var request = ProgressRequest()
        request.warning = event()
        var j = job()
        var stored: [JobEvent] = []
        for _ in 0..<4 {
            stored += try ProgressRules.apply(request, to: &j, now: now, limits: Limits(maxEventsPerJob: 2))
        }
        #expect(stored.map(\.seq) == [1, 2])
        #expect(j.warningCount == 4)
        #expect(j.warnedItems == 4)
        #expect(j.storedWarningCount == 2)
        #expect(j.metadata["warnings_truncated"] == .bool(true))
    }

    @Test func deltaOverflowIsRefused() {
        var request = ProgressRequest()
        request.processedItemsDelta = 2
        var j = job()
        j.processedItems = Limits.maxInteger - 1
        #expect(throws: APIError.self) { try ProgressRules.apply(request, to: &j, now: now, limits: Limits()) }
        #expect(j.processedItems == Limits.maxInteger - 1)
    }
}

@Suite struct RequestParsingTests {
    func parse(_ text: String) throws -> Result<ProgressRequest, APIError> {
        ProgressRequest.parse(try JSONParser.parse(text))
    }

    @Test func nullMeansAbsentButFalseFlagsAreFields() throws {
        #expect(try parse(#"{"total_items": null, "stage": null, "mark_completed": null}"#).get().isEmpty)
        #expect(!(try parse(#"{"mark_started": false}"#).get().isEmpty))
        #expect(!(try parse(#"{"mark_completed": false}"#).get().isEmpty))
        #expect(!(try parse(#"{"mark_completed": true, "mark_started": false}"#).get().isOnlyMarkCompleted))
    }

    @Test func falseFlagsOnATerminalJobAreAConflict() throws {
        var cancelled = Job(
            organizationID: "o", jobID: "job_t", jobType: "t", totalItems: 1, metadata: JSONObject(), triggeredBy: nil,
            now: Date(timeIntervalSince1970: 1_700_000_000))
        try ProgressRules.cancel(CancelRequest(), job: &cancelled, now: Date(timeIntervalSince1970: 1_700_000_001))
        for text in [#"{"mark_started": false}"#, #"{"mark_completed": false}"#] {
            let request = try parse(text).get()
            #expect(throws: APIError.conflict("job job_t is cancelled and accepts no more progress")) {
                try ProgressRules.apply(request, to: &cancelled, now: Date(), limits: Limits())
            }
        }
        #expect(try ProgressRules.apply(try parse("{}").get(), to: &cancelled, now: Date(), limits: Limits()).isEmpty)
    }

    @Test func onlyMarkCompletedDetection() throws {
        #expect(try parse(#"{"mark_completed": true}"#).get().isOnlyMarkCompleted)
        #expect(try parse(#"{"mark_completed": true, "stage": null}"#).get().isOnlyMarkCompleted)
        #expect(!(try parse(#"{"mark_completed": true, "stage": "x"}"#).get().isOnlyMarkCompleted))
        #expect(try parse(#"{"mark_failed": "x"}"#).get().isOnlyMarkFailed)
    }

    @Test func issuesAreCollectedWithLocations() throws {
        guard
            case .failure(.validation(let issues)) = try parse(#"{"total_items": "1", "bogus": 1, "error": {"x": 1}}"#)
        else {
            Issue.record("expected a validation failure")
            return
        }
        let locs = issues.map {
            $0.loc.map { if case .key(let k) = $0 { return k } else { return "#" } }.joined(separator: ".")
        }
        #expect(locs.contains("body.total_items"))
        #expect(locs.contains("body.bogus"))
        #expect(locs.contains("body.error.entity_key"))
        #expect(locs.contains("body.error.x"))
    }

    @Test func timestampsFormatAndParse() {
        let date = Date(timeIntervalSince1970: 1_795_927_572.1239)
        #expect(Timestamp.format(date) == "2026-11-29T04:46:12.123Z")
        #expect(Timestamp.parse("2026-11-29T04:46:12.123Z") != nil)
        #expect(Timestamp.parse("2026-11-29T06:46:12+02:00")?.timeIntervalSince1970 == 1_795_927_572)
        #expect(Timestamp.parse("2026-11-29T06:46:12 02:00")?.timeIntervalSince1970 == 1_795_927_572)
        #expect(Timestamp.parse("2026-11-29T04:46:12") == nil, "a zone is required")
        #expect(Timestamp.parse("2026-02-30T00:00:00Z") == nil)
        #expect(Timestamp.parse("yesterday") == nil)
    }

    @Test func cursorsRoundTripAndRejectGarbage() {
        let cursor = ListCursor(createdMicros: 1_795_927_572_123_456, jobID: "job_X")
        #expect(Cursors.decodeList(Cursors.encode(cursor)) == cursor)
        #expect(Cursors.decodeList("garbage") == nil)
        #expect(Cursors.decodeList(Cursors.encodeEvents(afterSeq: 5, kind: .error, jobID: "job_X")) == nil)
        #expect(
            Cursors.decodeEvents(
                Cursors.encodeEvents(afterSeq: 5, kind: .error, jobID: "job_X"), kind: .error, jobID: "job_X") == 5)
        #expect(
            Cursors.decodeEvents(
                Cursors.encodeEvents(afterSeq: 5, kind: .error, jobID: "job_X"), kind: .warning, jobID: "job_X") == nil)
        #expect(
            Cursors.decodeEvents(
                Cursors.encodeEvents(afterSeq: 5, kind: .error, jobID: "job_X"), kind: .error, jobID: "job_Y") == nil)
    }
}
