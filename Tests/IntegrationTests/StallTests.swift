import Foundation
import HTTPTypes
import JobsHTTP
import JobsTestSupport
import LibPQ
import NIOConcurrencyHelpers
import Testing

@testable import JobsDomain
@testable import JobsStore

/// Issue 14, part 2: `last_reported_at`, `estimated_completion_at`, `stalled`, `?stalled=`, the
/// stall watch (`stalled_jobs`, one announcement per stall, the hook in the marking transaction)
/// and the metrics, on PostgreSQL.
@Suite("ETA and stalled jobs")
struct StallTests {
    /// Moves the job's clock back by `seconds`: its last report, updated_at and last stall
    /// announcement, keeping their order (as if the worker had been silent that much longer).
    static func silence(_ jobID: String, organization: String, seconds: Int) async throws {
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        try await Database(client: owner).transaction(organization: organization) { tx in
            _ = try await tx.query(
                """
                UPDATE jobs SET last_reported_at = last_reported_at - make_interval(secs => \(seconds)),
                                updated_at = updated_at - make_interval(secs => \(seconds)),
                                stalled_notified_at = stalled_notified_at - make_interval(secs => \(seconds))
                WHERE organization_id = \(organization) AND job_id = \(jobID)
                """)
        }
        await owner.shutdown()
    }

    static func notifiedAt(_ jobID: String, organization: String) async throws -> Date? {
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let value = try await Database(client: owner).transaction(organization: organization) { tx in
            try await tx.query(
                "SELECT stalled_notified_at FROM jobs WHERE organization_id = \(organization) AND job_id = \(jobID)"
            ).first?.decode("stalled_notified_at", as: Date?.self)
        }
        await owner.shutdown()
        return value ?? nil
    }

    @Test func viewsFlagAStalledJobAndAReportClearsIt() async throws {
        try await withAPI(poolSize: 3) { (http, t) async throws in
            let type = TestDatabase.uniqueID("stall")
            let quiet = try await http.createJob(t.editorA, type: type, extra: #", "stall_after": "1s""#)
            let normal = try await http.createJob(t.editorA, type: type)
            for id in [quiet, normal] {
                #expect(try await http.progress(t.editorA, id, #"{"mark_started": true}"#).status == 200)
            }
            var job = try await http.call(.get, "/api/jobs/\(quiet)", headers: t.editorA)
            #expect(job["stalled"] as? Bool == false)
            #expect(int(job["stall_after_seconds"]) == 1)
            #expect(job["last_reported_at"] is String)
            #expect(job["estimated_completion_at"] is NSNull)
            let normalJob = try await http.call(.get, "/api/jobs/\(normal)", headers: t.editorA)
            #expect(int(normalJob["stall_after_seconds"]) == 600, "the server's STALL_AFTER")
            try await Task.sleep(for: .milliseconds(1200))

            job = try await http.call(.get, "/api/jobs/\(quiet)", headers: t.editorA)
            #expect(job["stalled"] as? Bool == true)
            let status = try await http.call(.get, "/api/jobs/\(quiet)/status", headers: t.editorA)
            #expect(status["stalled"] as? Bool == true)
            #expect(status["last_reported_at"] as? String == job["last_reported_at"] as? String)
            #expect(status.object.keys.contains("estimated_completion_at"))

            func listed(_ query: String) async throws -> [String] {
                let page = try await http.call(.get, "/api/jobs/?job_type=\(type)\(query)", headers: t.editorA)
                #expect(page.status == 200, "\(page.text)")
                return ((page["items"] as? [[String: Any]]) ?? []).compactMap { $0["job_id"] as? String }
            }
            #expect(try await listed("&stalled=true") == [quiet])
            #expect(try await listed("&stalled=false") == [normal])
            #expect(Set(try await listed("")) == [quiet, normal])
            let items = try await http.call(.get, "/api/jobs/?job_type=\(type)&stalled=true", headers: t.editorA)
            #expect(((items["items"] as? [[String: Any]])?.first?["stalled"]) as? Bool == true)
            let bad = try await http.call(.get, "/api/jobs/?stalled=maybe", headers: t.editorA)
            #expect(bad.status == 422)
            #expect(bad.hasIssue("query.stalled"))

            // A heartbeat ({} changes nothing) clears it and leaves updated_at alone.
            let before = job["updated_at"] as? String
            let beat = try await http.progress(t.editorA, quiet, "{}")
            #expect(beat.status == 200)
            #expect(beat["stalled"] as? Bool == false)
            #expect(beat["updated_at"] as? String == before)
            #expect(beat["last_reported_at"] as? String != job["last_reported_at"] as? String)
            #expect(try await listed("&stalled=true") == [])

            // Terminal jobs are never stalled.
            #expect(try await http.progress(t.editorA, quiet, #"{"mark_failed": "gone"}"#).status == 200)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await http.call(.get, "/api/jobs/\(quiet)", headers: t.editorA)["stalled"] as? Bool == false)

            let refused = try await http.call(
                .post, "/api/jobs/", headers: t.editorA,
                json: #"{"job_type": "x", "total_items": 1, "stall_after": "0s"}"#)
            #expect(refused.status == 422)
            #expect(refused.hasIssue("body.stall_after", "value_error"))
            let numeric = try await http.call(
                .post, "/api/jobs/", headers: t.editorA,
                json: #"{"job_type": "x", "total_items": 1, "stall_after": 90}"#)
            #expect(int(numeric["stall_after_seconds"]) == 90)
        }
    }

    @Test func estimatedCompletionAppearsAfterTwoSpacedReports() async throws {
        try await withAPI(poolSize: 3) { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 100)
            var job = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(job["estimated_completion_at"] is NSNull, "pending")
            #expect(job["last_reported_at"] is NSNull, "no report yet")
            var r = try await http.progress(t.editorA, id, #"{"mark_started": true, "processed_items": 10}"#)
            #expect(r["estimated_completion_at"] is NSNull, "one sample is no rate")
            try await Task.sleep(for: .milliseconds(1100))
            r = try await http.progress(t.editorA, id, #"{"processed_items_delta": 20}"#)
            let eta = try #require(r["estimated_completion_at"] as? String)
            let reportedText = try #require(r["last_reported_at"] as? String)
            let reported = try #require(Timestamp.parse(reportedText))
            let expected = try #require(Timestamp.parse(eta))
            // ~18 items/s with 70 left: about 4 s after the second report.
            let seconds = expected.timeIntervalSince(reported)
            #expect(seconds > 2 && seconds < 5, "eta \(seconds) s after the report")
            job = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(job["estimated_completion_at"] as? String == eta, "stored, not recomputed per read")
            let status = try await http.call(.get, "/api/jobs/\(id)/status", headers: t.editorA)
            #expect(status["estimated_completion_at"] as? String == eta)
            r = try await http.progress(t.editorA, id, #"{"mark_completed": true}"#)
            #expect(r["estimated_completion_at"] is NSNull, "terminal")
            #expect(r["stalled"] as? Bool == false)
        }
    }

    @Test func theWatchAnnouncesEachStallOnceInsideItsTransaction() async throws {
        try await TestDatabase.exclusively("stall-watch") {
            try await withAPI(poolSize: 3, configure: { $0.stallAfter = .seconds(60) }) { (http, t) async throws in
                let id = try await http.createJob(t.editorA, total: 10)
                #expect(try await http.progress(t.editorA, id, #"{"mark_started": true}"#).status == 200)
                let app = try await TestDatabase.appClient(maxConnections: 2)
                defer { Task { await app.shutdown() } }
                let seen = NIOLockedValueBox<[String]>([])
                let watch = StallWatch(
                    client: app, defaultStallAfter: .seconds(60), interval: .seconds(1), logger: .init(label: "t"),
                    onStalled: { tx, job in
                        guard job.jobID == id else { return }
                        // The hook runs in the job's tenant transaction, with the mark made.
                        let row = try await tx.query(
                            "SELECT stalled_notified_at IS NOT NULL AS marked FROM jobs WHERE organization_id = \(job.organizationID) AND job_id = \(job.jobID)"
                        ).first
                        #expect(try row?.decode("marked", as: Bool.self) == true)
                        seen.withLockedValue { $0.append(job.jobID) }
                    })
                _ = try await watch.pass()
                #expect(seen.withLockedValue { $0 }.isEmpty, "not silent for 60 s yet")

                try await Self.silence(id, organization: t.orgA, seconds: 300)
                #expect(try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)["stalled"] as? Bool == true)
                let first = try await watch.pass()
                #expect(seen.withLockedValue { $0 } == [id])
                #expect(first.stalled >= 1)
                #expect(first.notified >= 1)
                #expect(try await Self.notifiedAt(id, organization: t.orgA) != nil)
                _ = try await watch.pass()
                #expect(seen.withLockedValue { $0 } == [id], "once per stall")

                // A report ends the stall; stalling again announces again.
                let beat = try await http.progress(t.editorA, id, #"{"processed_items_delta": 1}"#)
                #expect(beat["stalled"] as? Bool == false)
                _ = try await watch.pass()
                #expect(seen.withLockedValue { $0 } == [id])
                try await Self.silence(id, organization: t.orgA, seconds: 120)
                _ = try await watch.pass()
                #expect(seen.withLockedValue { $0 } == [id, id])

                // A hook that fails rolls the mark back; the next pass tries again.
                #expect(try await http.progress(t.editorA, id, "{}").status == 200)
                try await Self.silence(id, organization: t.orgA, seconds: 120)
                let failing = StallWatch(
                    client: app, defaultStallAfter: .seconds(60), interval: .seconds(1), logger: .init(label: "t"),
                    onStalled: { _, job in if job.jobID == id { throw CancellationError() } })
                _ = try await failing.pass()
                let notified = try #require(try await Self.notifiedAt(id, organization: t.orgA))
                let current = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
                let lastReportText = try #require(current["last_reported_at"] as? String)
                let lastReport = try #require(Timestamp.parse(lastReportText))
                #expect(notified < lastReport, "the failed pass left the previous mark")
                _ = try await watch.pass()
                #expect(seen.withLockedValue { $0 } == [id, id, id])

                // Terminal jobs are never announced.
                #expect(try await http.progress(t.editorA, id, #"{"mark_completed": true}"#).status == 200)
                try await Self.silence(id, organization: t.orgA, seconds: 300)
                _ = try await watch.pass()
                #expect(seen.withLockedValue { $0 }.count == 3)
                await app.shutdown()
            }
        }
    }

    @Test func theServerRunsTheWatchAndCountsStallsInMetrics() async throws {
        try await TestDatabase.exclusively("stall-watch") {
            try await withAPI(
                poolSize: 3,
                configure: {
                    $0.stallAfter = .seconds(60)
                    $0.runsStallWatch = true
                    $0.stallCheckInterval = .milliseconds(200)
                }
            ) { (http, t) async throws in
                let id = try await http.createJob(t.editorA, total: 10)
                #expect(try await http.progress(t.editorA, id, #"{"mark_started": true}"#).status == 200)
                try await Self.silence(id, organization: t.orgA, seconds: 300)
                var text = ""
                for _ in 0..<50 {
                    text = try await http.call(.get, "/metrics").text
                    if try await Self.notifiedAt(id, organization: t.orgA) != nil,
                        Self.value("jobs_stalled_total", in: text) ?? 0 >= 1
                    {
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await Self.notifiedAt(id, organization: t.orgA) != nil)
                text = try await http.call(.get, "/metrics").text
                #expect((Self.value("jobs_stalled_total", in: text) ?? 0) >= 1, "\(text)")
                #expect((Self.value("jobs_stalled", in: text) ?? 0) >= 1)
                #expect(try await http.progress(t.editorA, id, #"{"mark_failed": "done"}"#).status == 200)
            }
        }
    }

    /// The value of an unlabelled sample in Prometheus text.
    static func value(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }
}
