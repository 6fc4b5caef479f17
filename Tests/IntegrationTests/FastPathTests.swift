import Foundation
import HTTPTypes
import HummingbirdTesting
import JobsHTTP
import JobsTestSupport
import LibPQ
import Logging
import Testing

@testable import JobsStore

/// The one-round-trip write path (`JobWriter.runCached`: compare-and-set on a cached row) and
/// what keeps plans right on a young database (`StatisticsKeeper`).
@Suite("Fast path")
struct FastPathTests {
    /// The cached copy is only a guess: a row changed behind the server's back (a DBA, another
    /// server) must be re-read under the lock, never overwritten with the stale copy.
    @Test func aRowChangedElsewhereIsReadAgainNotOverwritten() async throws {
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 1000)
            var r = try await http.progress(t.editorA, id, #"{"processed_items_delta": 1, "stage": "one"}"#)
            #expect(int(r["processed_items"]) == 1)
            // Behind the server's back: counters, metadata, and an error event.
            try await owner.query(
                """
                UPDATE jobs SET processed_items = 500, metadata = metadata || '{"dba": true}',
                    error_count = 1, failed_items = 1, stored_error_count = 1
                WHERE organization_id = \(t.orgA) AND job_id = \(id)
                """)
            try await owner.query(
                """
                INSERT INTO job_events (organization_id, job_id, kind, seq, entity_key, entity_type, error_type,
                                        message, details, created_at)
                VALUES (\(t.orgA), \(id), 'error', 1, 'row-1', 'row', 'dba', 'added by hand', '{}', now())
                """)
            r = try await http.progress(t.editorA, id, #"{"processed_items_delta": 2, "stage": "two"}"#)
            #expect(r.status == 200)
            #expect(int(r["processed_items"]) == 502)
            #expect(int(r["error_count"]) == 1)
            let metadata = try #require(r["metadata"] as? [String: Any])
            #expect(metadata["dba"] as? Bool == true)
            #expect(metadata["stage"] as? String == "two")
            #expect((r["errors"] as? [Any])?.count == 1)
            // And the next one (cached again) builds on that.
            r = try await http.progress(
                t.editorA, id,
                #"{"error": {"entity_key": "row-2", "entity_type": "row", "error_type": "x", "message": "m"}}"#)
            #expect(int(r["error_count"]) == 2)
            #expect((r["errors"] as? [[String: Any]])?.map { $0["entity_key"] as? String } == ["row-1", "row-2"])
            let read = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(int(read["processed_items"]) == 502)
            #expect(int(read["error_count"]) == 2)
            // Deleted behind its back: 404, not a write to nothing.
            try await owner.query("DELETE FROM jobs WHERE organization_id = \(t.orgA) AND job_id = \(id)")
            let gone = try await http.progress(t.editorA, id, #"{"processed_items_delta": 1}"#)
            #expect(gone.status == 404)
        }
    }

    /// Two servers (two caches) writing one job concurrently lose no report: each
    /// compare-and-set that loses the race falls back to the locked row.
    @Test func twoServersWritingOneJobLoseNothing() async throws {
        try await withAPI { (one, t) async throws in
            try await withAPI { (two, _) async throws in
                let id = try await one.createJob(t.editorA, total: 1000)
                // Both caches hold the row.
                _ = try await one.progress(t.editorA, id, #"{"processed_items_delta": 1}"#)
                _ = try await two.progress(t.editorA, id, #"{"processed_items_delta": 1}"#)
                let perServer = 40
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for n in 0..<(2 * perServer) {
                        let http: any TestClientProtocol = n % 2 == 0 ? one : two
                        group.addTask {
                            let body = #"{"processed_items_delta": 1, "stage": "s\#(n)"}"#
                            return try await http.progress(t.editorA, id, body).status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
                let read = try await one.call(.get, "/api/jobs/\(id)", headers: t.editorA)
                #expect(int(read["processed_items"]) == 2 + 2 * perServer)
            }
        }
    }

    /// A server that has not seen the job reads it first (no lock) and answers from that fresh
    /// read: a write lands once, a report on a job another server ended is a 409, an empty one
    /// a 200 — and a job that does not exist a 404.
    @Test func aServerThatNeverSawTheJobReadsItFirst() async throws {
        try await withAPI { (one, t) async throws in
            let id = try await one.createJob(t.editorA, total: 10)
            try await withAPI { (two, _) async throws in
                var r = try await two.progress(t.editorA, id, #"{"processed_items_delta": 3}"#)
                #expect(r.status == 200)
                #expect(int(r["processed_items"]) == 3)
                r = try await one.progress(t.editorA, id, #"{"mark_completed": true}"#)
                #expect(r["status"] as? String == "completed")
            }
            try await withAPI { (three, _) async throws in
                let late = try await three.progress(t.editorA, id, #"{"processed_items_delta": 1}"#)
                #expect(late.status == 409)
                let empty = try await three.progress(t.editorA, id, "{}")
                #expect(empty.status == 200)
                #expect(int(empty["processed_items"]) == 3)
                let missing = try await three.progress(
                    t.editorA, "job_missing_fastpath", #"{"processed_items_delta": 1}"#)
                #expect(missing.status == 404)
            }
        }
    }

    /// A new database fills up: the keeper analyzes each table of ours once it has doubled, and
    /// only then; afterwards a generic plan looks a job up by its primary key.
    @Test func statisticsFollowAYoungDatabase() async throws {
        try await TestDatabase.withScratchDatabase { name in
            let env = ["PGDATABASE": name, "MIGRATIONS_DIR": TestDatabase.migrationsDirectory]
            let migrate = try await runJobsAPI(["migrate"], environment: env)
            #expect(migrate.status == 0, "\(migrate.stderr)")
            let owner = try TestDatabase.ownerClient(maxConnections: 1, database: name)
            defer { Task { await owner.shutdown() } }
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let keeper = StatisticsKeeper(client: owner, logger: logger)
            #expect(try await keeper.refresh() == 0, "empty tables are left alone")
            try await owner.query("INSERT INTO organizations (organization_id, name) VALUES ('young', 'Young')")
            func insert(_ range: ClosedRange<Int>) async throws {
                try await owner.query(
                    """
                    INSERT INTO jobs (organization_id, job_id, job_type, status, total_items, metadata, created_at, updated_at)
                    SELECT 'young', 'job-' || n, 'import', 'pending', 10, '{}', now(), now()
                    FROM generate_series(\(range.lowerBound), \(range.upperBound)) AS n
                    """)
            }
            func analyzedJobs() async throws -> Int {
                try await owner.query(
                    "SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relname = 'jobs'"
                ).first!.decode("n", as: Int.self)
            }
            try await insert(1...20)
            try await waitForStatistics(owner, liveAtLeast: 20)
            #expect(try await keeper.refresh() >= 1)
            let first = try await analyzedJobs()
            #expect(first >= 1)
            #expect(try await keeper.refresh() == 0, "not again before it doubles")
            try await insert(21...60)  // 60 rows: below twice the 50-row floor
            try await waitForStatistics(owner, liveAtLeast: 60)
            _ = try await keeper.refresh()
            #expect(try await analyzedJobs() == first)
            try await insert(61...3000)
            try await waitForStatistics(owner, liveAtLeast: 3000)
            #expect(try await keeper.refresh() >= 1)
            #expect(try await analyzedJobs() == first + 1)
            // The plan a pooled connection caches: by primary key, not a walk of the organization.
            let plan = try await owner.withConnection { lease in
                try await lease.script("SET plan_cache_mode = force_generic_plan")
                try await lease.script(
                    "PREPARE lookup(text, text) AS SELECT * FROM jobs WHERE organization_id = $1 AND job_id = $2 FOR UPDATE"
                )
                let rows = try await lease.script("EXPLAIN EXECUTE lookup('young', 'job-7')")
                try await lease.script("DEALLOCATE lookup; RESET plan_cache_mode")
                return rows.map { (try? $0.decode("QUERY PLAN", as: String.self)) ?? "" }.joined(separator: "\n")
            }
            #expect(plan.contains("jobs_pkey"), "\(plan)")
        }
    }

    /// pg_stat_user_tables is fed by backends' statistics flushes: wait until it shows the rows.
    private func waitForStatistics(_ owner: PGClient, liveAtLeast rows: Int) async throws {
        for _ in 0..<100 {
            let live = try await owner.query(
                "SELECT n_live_tup AS n FROM pg_stat_user_tables WHERE relname = 'jobs'"
            ).first?.decode("n", as: Int.self)
            if (live ?? 0) >= rows { return }
            try await owner.query("SELECT pg_stat_clear_snapshot()")
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("pg_stat_user_tables did not show \(rows) live rows of jobs")
    }
}
