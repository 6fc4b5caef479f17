import Foundation
import Testing

@testable import JobsDomain
@testable import StrictJSON

/// The heartbeat, the rate estimate behind `estimated_completion_at`, and the stall rule, on
/// explicit clocks.
@Suite struct StallAndETATests {
    let t0 = Date(timeIntervalSince1970: 1_795_927_000)

    func running(total: Int64 = 1000) throws -> Job {
        var job = Job(
            organizationID: "o", jobID: "job_1", jobType: "t", totalItems: total, metadata: JSONObject(),
            triggeredBy: nil, now: t0)
        var start = ProgressRequest()
        start.markStarted = true
        _ = try ProgressRules.apply(start, to: &job, now: t0, limits: Limits())
        return job
    }

    func report(_ job: inout Job, delta: Int64, at seconds: Double) throws {
        var request = ProgressRequest()
        request.processedItemsDelta = delta
        _ = try ProgressRules.apply(request, to: &job, now: t0.addingTimeInterval(seconds), limits: Limits())
    }

    @Test func markStartedTakesTheFirstSample() throws {
        let job = try running()
        #expect(job.lastReportedAt == t0)
        #expect(job.rateSampledAt == t0)
        #expect(job.rateSampledDone == 0)
        #expect(job.itemsPerSecond == nil)
        #expect(job.estimatedCompletionAt(now: t0) == nil, "no rate yet")
    }

    @Test func aReportThatChangesNothingIsAHeartbeatOnly() throws {
        var job = try running()
        let before = job
        _ = try ProgressRules.apply(ProgressRequest(), to: &job, now: t0.addingTimeInterval(30), limits: Limits())
        #expect(job.lastReportedAt == t0.addingTimeInterval(30))
        #expect(job.updatedAt == before.updatedAt, "updated_at moves only when something changed")
        #expect(job.itemsPerSecond == 0, "30 s without progress is a measured rate of 0")
    }

    @Test func twoSpacedReportsGiveARateAndAnETA() throws {
        var job = try running()
        try report(&job, delta: 100, at: 10)  // 10 items/s
        #expect(job.itemsPerSecond == 10)
        #expect(job.rateSampledDone == 100)
        // 900 left at 10/s from t0+10 → t0+100.
        #expect(job.estimatedCompletionAt(now: t0.addingTimeInterval(10)) == t0.addingTimeInterval(100))
    }

    @Test func burstsCloserThanASecondDoNotMoveTheRate() throws {
        var job = try running()
        try report(&job, delta: 10, at: 1)
        let rate = job.itemsPerSecond
        try report(&job, delta: 500, at: 1.2)
        try report(&job, delta: 500, at: 1.4)
        #expect(job.itemsPerSecond == rate)
        #expect(job.rateSampledAt == t0.addingTimeInterval(1))
        #expect(job.lastReportedAt == t0.addingTimeInterval(1.4))
        #expect(job.processedItems == 1010)
    }

    @Test func theRateFollowsAboutTheLastMinute() throws {
        var job = try running(total: 1_000_000)
        var clock = 0.0
        for _ in 0..<30 {  // 10/s for 5 minutes
            clock += 10
            try report(&job, delta: 100, at: clock)
        }
        #expect(abs(job.itemsPerSecond! - 10) < 0.001)
        for _ in 0..<12 {  // then 100/s for 2 minutes
            clock += 10
            try report(&job, delta: 1000, at: clock)
        }
        // Weight of the old rate after 120 s: e^-2 ≈ 0.135 → ≈ 87.8 items/s.
        #expect(abs(job.itemsPerSecond! - (100 - 90 * exp(-2))) < 0.01)
        // One long gap weighs as much as many short ones: 60 s in one report.
        var other = try running(total: 1_000_000)
        try report(&other, delta: 100, at: 10)
        try report(&other, delta: 6000, at: 70)
        #expect(abs(other.itemsPerSecond! - (100 - 90 * exp(-1))) < 0.01)
    }

    @Test func aCountGoingDownStartsTheEstimateOver() throws {
        var job = try running()
        try report(&job, delta: 100, at: 10)
        var reset = ProgressRequest()
        reset.processedItems = 5
        _ = try ProgressRules.apply(reset, to: &job, now: t0.addingTimeInterval(20), limits: Limits())
        #expect(job.itemsPerSecond == nil)
        #expect(job.rateSampledDone == 5)
        #expect(job.estimatedCompletionAt(now: t0.addingTimeInterval(20)) == nil)
    }

    @Test func failedItemsCountAsDone() throws {
        var job = try running(total: 100)
        var failing = ProgressRequest()
        failing.error = EventInput(
            entityKey: "k", errorType: "e", message: "m", details: JSONObject(), entityType: "row", step: nil)
        _ = try ProgressRules.apply(failing, to: &job, now: t0.addingTimeInterval(2), limits: Limits())
        #expect(job.itemsPerSecond == 0.5)
    }

    @Test func etaIsNullUnlessRunningWithATotalAndARate() throws {
        var job = try running(total: 100)
        try report(&job, delta: 50, at: 5)
        let now = t0.addingTimeInterval(5)
        #expect(job.estimatedCompletionAt(now: now) == t0.addingTimeInterval(10))
        var noTotal = job
        noTotal.totalItems = 0
        #expect(noTotal.estimatedCompletionAt(now: now) == nil)
        var done = job
        done.processedItems = 100
        #expect(done.estimatedCompletionAt(now: now) == nil)
        var zeroRate = job
        zeroRate.itemsPerSecond = 0
        #expect(zeroRate.estimatedCompletionAt(now: now) == nil)
        var pending = job
        pending.status = .pending
        #expect(pending.estimatedCompletionAt(now: now) == nil)
        var completed = job
        var finish = ProgressRequest()
        finish.markCompleted = true
        _ = try ProgressRules.apply(finish, to: &completed, now: now, limits: Limits())
        #expect(completed.status == .completed)
        #expect(completed.lastReportedAt == now)
        #expect(completed.estimatedCompletionAt(now: now) == nil)
    }

    @Test func stalledOnlyWhileInProgressAndSilentPastTheThreshold() throws {
        var job = try running()
        let tenMinutes: Duration = .seconds(600)
        #expect(!job.isStalled(now: t0.addingTimeInterval(600), defaultStallAfter: tenMinutes), "exactly at: not yet")
        #expect(job.isStalled(now: t0.addingTimeInterval(600.001), defaultStallAfter: tenMinutes))
        job.stallAfterSeconds = 30
        #expect(job.isStalled(now: t0.addingTimeInterval(31), defaultStallAfter: tenMinutes), "its own threshold wins")
        try report(&job, delta: 0, at: 30)
        #expect(!job.isStalled(now: t0.addingTimeInterval(31), defaultStallAfter: tenMinutes), "a report clears it")
        // Rows from before last_reported_at existed: updated_at stands in.
        job.lastReportedAt = nil
        job.updatedAt = t0
        #expect(job.isStalled(now: t0.addingTimeInterval(31), defaultStallAfter: tenMinutes))
        var pending = Job(
            organizationID: "o", jobID: "j", jobType: "t", totalItems: 1, metadata: JSONObject(), triggeredBy: nil,
            now: t0)
        #expect(!pending.isStalled(now: t0.addingTimeInterval(86400), defaultStallAfter: tenMinutes))
        pending.status = .failed
        #expect(!pending.isStalled(now: t0.addingTimeInterval(86400), defaultStallAfter: tenMinutes))
    }

    @Test(arguments: [
        (#""30m""#, Int64?(1800)), (#""2h""#, 7200), (#""90s""#, 90), (#""1d""#, 86400), ("45", 45), (#""45""#, 45),
        ("2592000", 2_592_000),
    ])
    func createReadsStallAfter(text: String, seconds: Int64?) throws {
        let body = try JSONParser.parse(#"{"job_type": "x", "total_items": 1, "stall_after": \#(text)}"#)
        let request = try CreateJobRequest.parse(body).get()
        #expect(request.stallAfterSeconds == seconds)
    }

    @Test(arguments: [#""soon""#, #""0s""#, "0", "-5", "1.5", "true", #""31d""#, "2592001", #""""#, "{}"])
    func createRefusesABadStallAfter(text: String) throws {
        let body = try JSONParser.parse(#"{"job_type": "x", "total_items": 1, "stall_after": \#(text)}"#)
        guard case .failure(.validation(let issues)) = CreateJobRequest.parse(body) else {
            Issue.record("expected a 422 for \(text)")
            return
        }
        #expect(issues.map(\.loc) == [[.key("body"), .key("stall_after")]])
    }

    @Test func stallAfterIsOptionalAndNullIsAbsent() throws {
        let absent = try CreateJobRequest.parse(JSONParser.parse(#"{"job_type": "x", "total_items": 1}"#)).get()
        #expect(absent.stallAfterSeconds == nil)
        let null = try CreateJobRequest.parse(
            JSONParser.parse(#"{"job_type": "x", "total_items": 1, "stall_after": null}"#)
        ).get()
        #expect(null.stallAfterSeconds == nil)
    }
}
