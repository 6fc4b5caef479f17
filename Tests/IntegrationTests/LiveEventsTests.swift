import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import JobsTestSupport
import LibPQ
import NIOCore
import Testing

@testable import JobsDomain
@testable import JobsHTTP
@testable import JobsStore

/// The live routes (server-sent events) against the real server and PostgreSQL: the job stream
/// and its resume, the organization stream, two instances on one database, the loss of the
/// listener connection, and the limits.
@Suite("Live events")
struct LiveEventsTests {
    static func url(_ http: any TestClientProtocol, _ path: String) -> String {
        "http://127.0.0.1:\(http.port!)\(path)"
    }

    static func auth(_ token: String, _ extra: [String: String] = [:]) -> [String: String] {
        extra.merging(["Authorization": "Bearer \(token)"]) { a, _ in a }
    }

    /// The parsed JSON objects compared as JSON (key order aside; `duration_seconds` of a running
    /// job depends on when it is rendered).
    static func same(_ a: [String: Any], _ b: [String: Any]) -> Bool {
        var a = a
        var b = b
        if a["completed_at"] is NSNull {
            a["duration_seconds"] = nil
            b["duration_seconds"] = nil
        }
        // Compared as sorted JSON: on Linux, NSDictionary equality does not see two bridged
        // Bools (`stalled`) as equal.
        func json(_ o: [String: Any]) -> Data? { try? JSONSerialization.data(withJSONObject: o, options: .sortedKeys) }
        return json(a) != nil && json(a) == json(b)
    }

    @Test func theJobStreamStartsWithTheJobAndFollowsEachChangeUntilTheEnd() async throws {
        try await withAPI { (http, t) async throws in
            let token = t.keyA[.editor]!
            let id = try await http.createJob(t.editorA, total: 10)
            _ = try await http.progress(
                t.editorA, id, #"{"errors": [{"entity_key": "e1", "error_type": "validation", "message": "bad"}]}"#)
            let stream = try await SSEStream.open(Self.url(http, "/api/jobs/\(id)/events"), headers: Self.auth(token))
            #expect(stream.status == 200)
            #expect(stream.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            let first = try #require(try await stream.next())
            let get = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(first.event == "job")
            #expect(first.id?.isEmpty == false)
            #expect(
                Self.same(first.object, get.object), "first event = GET /api/jobs/{id}: \(first.data) vs \(get.text)")

            var ids: Set<String> = [first.id!]
            for (body, processed) in [
                (#"{"mark_started": true}"#, 0), (#"{"processed_items": 4}"#, 4), (#"{"processed_items": 7}"#, 7),
            ] {
                let response = try await http.progress(t.editorA, id, body)
                #expect(response.status == 200)
                let event = try #require(try await stream.next())
                #expect(event.object["processed_items"] as? Int == processed)
                #expect(event.object["status"] as? String == "in_progress")
                #expect(Self.same(event.object, response.object), "the event carries the job after that change")
                #expect(ids.insert(event.id!).inserted, "each change has its own id")
            }
            _ = try await http.progress(t.editorA, id, #"{"processed_items": 10, "mark_completed": true}"#)
            let last = try #require(try await stream.next())
            #expect(last.object["status"] as? String == "completed")
            #expect(try await stream.next() == nil, "the stream ends after a terminal status")
        }
    }

    @Test func lastEventIDResumesWithoutLossOrDuplicates() async throws {
        try await withAPI { (http, t) async throws in
            let token = t.keyA[.editor]!
            let id = try await http.createJob(t.editorA, total: 10)
            let url = Self.url(http, "/api/jobs/\(id)/events")
            let first = try await SSEStream.open(url, headers: Self.auth(token))
            let seen = try #require(try await first.next())
            first.close()
            // Missed while away: two changes; the reconnecting client gets the latest state.
            _ = try await http.progress(t.editorA, id, #"{"processed_items": 2}"#)
            _ = try await http.progress(t.editorA, id, #"{"processed_items": 3}"#)
            let resumed = try await SSEStream.open(url, headers: Self.auth(token, ["Last-Event-ID": seen.id!]))
            let caughtUp = try #require(try await resumed.next())
            #expect(caughtUp.object["processed_items"] as? Int == 3)
            #expect(caughtUp.id != seen.id)
            resumed.close()
            // Nothing missed: nothing is sent again until the next change.
            let current = try await SSEStream.open(url, headers: Self.auth(token, ["Last-Event-ID": caughtUp.id!]))
            #expect(try await current.staysQuiet(for: .milliseconds(600)))
            _ = try await http.progress(t.editorA, id, #"{"processed_items": 5}"#)
            let next = try #require(try await current.next())
            #expect(next.object["processed_items"] as? Int == 5)
            _ = try await http.progress(t.editorA, id, #"{"mark_failed": "boom"}"#)
            let end = try #require(try await current.next())
            #expect(end.object["status"] as? String == "failed")
            #expect(try await current.next() == nil)
            // The client saw the terminal state: 204 tells an EventSource to stop reconnecting.
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Last-Event-ID", value: end.id!)
            let done = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(done.status.code == 204)
            // A bad Last-Event-ID is a 400, an unknown one just sends the current state.
            let bad = try await SSEStream.open(
                url, headers: Self.auth(token, ["Last-Event-ID": String(repeating: "x", count: 201)]))
            #expect(bad.status == 400)
            let unknown = try await SSEStream.open(url, headers: Self.auth(token, ["Last-Event-ID": "nope"]))
            #expect(try await unknown.next()?.object["status"] as? String == "failed")
            #expect(try await unknown.next() == nil)
        }
    }

    @Test func streamsFollowTenancyAndPermissions() async throws {
        try await withAPI { (http, t) async throws in
            let idA = try await http.createJob(t.editorA)
            let unauthenticated = try await SSEStream.open(Self.url(http, "/api/jobs/\(idA)/events"), headers: [:])
            #expect(unauthenticated.status == 401)
            let otherOrg = try await SSEStream.open(
                Self.url(http, "/api/jobs/\(idA)/events"), headers: Self.auth(t.keyB))
            #expect(otherOrg.status == 404, "another organization's job does not exist for B")
            let missing = try await SSEStream.open(
                Self.url(http, "/api/jobs/job_missing/events"), headers: Self.auth(t.keyA[.viewer]!))
            #expect(missing.status == 404)
            let viewer = try await SSEStream.open(
                Self.url(http, "/api/jobs/\(idA)/events"), headers: Self.auth(t.keyA[.viewer]!))
            #expect(viewer.status == 200, "job:read is enough")
            viewer.close()
            let badFilter = try await SSEStream.open(
                Self.url(http, "/api/jobs/events?status=nope"), headers: Self.auth(t.keyA[.viewer]!))
            #expect(badFilter.status == 422)
        }
    }

    @Test func theOrganizationStreamSendsMatchingSummariesOfItsOwnJobsOnly() async throws {
        try await withAPI { (http, t) async throws in
            let type = "live-org-\(UInt32.random(in: 0...UInt32.max))"
            let all = try await SSEStream.open(
                Self.url(http, "/api/jobs/events?job_type=\(type)"), headers: Self.auth(t.keyA[.viewer]!))
            let running = try await SSEStream.open(
                Self.url(http, "/api/jobs/events?job_type=\(type)&status=in_progress"),
                headers: Self.auth(t.keyA[.viewer]!))
            let orgB = try await SSEStream.open(Self.url(http, "/api/jobs/events"), headers: Self.auth(t.keyB))
            for stream in [all, running, orgB] {
                let ready = try #require(try await stream.next())
                #expect(ready.event == "ready")
            }
            let id = try await http.createJob(t.editorA, total: 4, type: type)
            let created = try #require(try await all.nextJob())
            #expect(created.event == "job")
            #expect(created.object["job_id"] as? String == id)
            #expect(created.object["status"] as? String == "pending")
            for field in [
                "job_type", "total_items", "processed_items", "failed_items", "warned_items", "progress_percentage",
                "success_rate", "duration_seconds", "stage", "message", "created_at", "updated_at",
            ] {
                #expect(created.object.keys.contains(field), "summary has \(field)")
            }
            _ = try await http.progress(
                t.editorA, id, #"{"mark_started": true, "processed_items": 1, "stage": "load", "message": "batch 1"}"#)
            let started = try #require(try await all.nextJob())
            #expect(started.object["stage"] as? String == "load")
            #expect(started.object["message"] as? String == "batch 1")
            let filtered = try #require(try await running.nextJob())
            #expect(filtered.object["job_id"] as? String == id, "the status filter lets in_progress through")
            #expect(filtered.object["processed_items"] as? Int == 1)
            _ = try await http.createJob(t.editorA, total: 1, type: "other-\(type)")
            #expect(try await orgB.noJob(for: .milliseconds(500)), "org B never sees org A's jobs")
            #expect(try await running.noJob(for: .milliseconds(100)), "pending job of another type filtered")
            // Resuming (Last-Event-ID) cannot replay summaries: the client is told to reload.
            let resumed = try await SSEStream.open(
                Self.url(http, "/api/jobs/events"), headers: Self.auth(t.keyA[.viewer]!, ["Last-Event-ID": started.id!])
            )
            #expect(try await resumed.next()?.event == "ready")
            #expect(try await resumed.next()?.event == "resync")
            for stream in [all, running, orgB, resumed] { stream.close() }
        }
    }

    @Test func aChangeThroughOneInstanceReachesSubscribersOfAnother() async throws {
        try await withAPI { (first, t) async throws in
            try await withAPI { (second, _) async throws in
                let id = try await first.createJob(t.editorA, total: 3)
                let onSecond = try await SSEStream.open(
                    Self.url(second, "/api/jobs/\(id)/events"), headers: Self.auth(t.keyA[.viewer]!))
                let listOnSecond = try await SSEStream.open(
                    Self.url(second, "/api/jobs/events"), headers: Self.auth(t.keyA[.viewer]!))
                #expect(try await listOnSecond.next()?.event == "ready")
                #expect(try await onSecond.next()?.object["processed_items"] as? Int == 0)
                let started = ContinuousClock.now
                _ = try await first.progress(t.editorA, id, #"{"mark_started": true, "processed_items": 2}"#)
                let event = try #require(try await onSecond.next(timeout: .seconds(5)))
                #expect(event.object["processed_items"] as? Int == 2)
                #expect(ContinuousClock.now - started < .seconds(3))
                var summary: SSEEvent?
                while let next = try await listOnSecond.nextJob(timeout: .seconds(5)) {
                    if next.object["job_id"] as? String == id, next.object["processed_items"] as? Int == 2 {
                        summary = next
                        break
                    }
                }
                #expect(summary?.object["processed_items"] as? Int == 2)
                _ = try await first.progress(t.editorA, id, #"{"processed_items": 3, "mark_completed": true}"#)
                #expect(try await onSecond.next(timeout: .seconds(5))?.object["status"] as? String == "completed")
                #expect(try await onSecond.next() == nil)
                listOnSecond.close()
            }
        }
    }

    @Test func aLostListenerReconnectsAndSubscribersGetAFreshSnapshot() async throws {
        try await withAPI { (first, t) async throws in
            try await withAPI { (second, _) async throws in
                let id = try await first.createJob(t.editorA, total: 10)
                let stream = try await SSEStream.open(
                    Self.url(second, "/api/jobs/\(id)/events"), headers: Self.auth(t.keyA[.viewer]!))
                let list = try await SSEStream.open(
                    Self.url(second, "/api/jobs/events"), headers: Self.auth(t.keyA[.viewer]!))
                #expect(try await stream.next() != nil)
                #expect(try await list.next()?.event == "ready")
                // Kill every listener connection of the database, then change the job while they
                // are down: the change's notice is lost, the reconnect must make up for it.
                let owner = try TestDatabase.ownerClient(maxConnections: 1)
                let killed = try await owner.query(
                    """
                    SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
                    WHERE datname = current_database() AND query LIKE 'LISTEN %'
                    """)
                #expect(!killed.isEmpty)
                _ = try await first.progress(t.editorA, id, #"{"processed_items": 6}"#)
                let fresh = try #require(try await stream.next(timeout: .seconds(10)))
                #expect(fresh.object["processed_items"] as? Int == 6)
                var sawResync = false
                while let event = try await list.next(timeout: .seconds(10)) {
                    if event.event == "resync" {
                        sawResync = true
                        break
                    }
                }
                #expect(sawResync, "the organization stream is told to reload")
                let metrics = try await second.call(.get, "/metrics")
                #expect(metrics.text.contains("listener_reconnects_total"))
                await owner.shutdown()
                stream.close()
                list.close()
            }
        }
    }

    @Test func streamLimitsPerOrganizationAndPerInstance() async throws {
        try await withAPI(configure: {
            $0.live.maxStreamsPerOrganization = 2
            $0.live.maxStreams = 3
        }) { (http, t) async throws in
            let url = Self.url(http, "/api/jobs/events")
            let a1 = try await SSEStream.open(url, headers: Self.auth(t.keyA[.viewer]!))
            let a2 = try await SSEStream.open(url, headers: Self.auth(t.keyA[.editor]!))
            #expect(a1.status == 200 && a2.status == 200)
            let a3 = try await SSEStream.open(url, headers: Self.auth(t.keyA[.owner]!))
            #expect(a3.status == 429)
            #expect(a3.header("Retry-After") != nil)
            let b1 = try await SSEStream.open(url, headers: Self.auth(t.keyB))
            #expect(b1.status == 200)
            let b2 = try await SSEStream.open(url, headers: Self.auth(t.keyB))
            #expect(b2.status == 503)
            #expect(b2.header("Retry-After") != nil)
            let metrics = try await http.call(.get, "/metrics")
            #expect(metrics.text.contains("sse_open_streams 3"), "\(metrics.text)")
            // A closed stream frees its place (noticed at its next write: a heartbeat at most).
            a1.close()
            var freed = false
            for _ in 0..<100 where !freed {
                try await Task.sleep(for: .milliseconds(100))
                _ = try await http.createJob(t.editorA)  // a change makes the hub write to a1
                let retry = try await SSEStream.open(url, headers: Self.auth(t.keyA[.owner]!))
                freed = retry.status == 200
                retry.close()
            }
            #expect(freed)
            for stream in [a2, b1] { stream.close() }
        }
    }
}

extension SSEStream {
    /// The next `job` event (a `resync` — e.g. when the instance's listener first connects — is
    /// skipped), nil at the end.
    func nextJob(timeout: Duration = .seconds(10)) async throws -> SSEEvent? {
        while let event = try await next(timeout: timeout) {
            if event.event == "job" { return event }
        }
        return nil
    }

    /// Whether no `job` event arrives for `duration`.
    func noJob(for duration: Duration) async throws -> Bool {
        do {
            return try await nextJob(timeout: duration) == nil
        } catch is SSETimeout {
            return true
        }
    }
}
