import Foundation
import HTTPTypes
import JobsHTTP
import JobsTestSupport
import LibPQ
import Testing

@testable import JobsStore

/// Defects found by an outside review and a black-box run, each pinned by a test that failed
/// before its fix.
@Suite("Hardening")
struct HardeningTests {
    /// Runs `body` while another connection holds the job's row lock in an open transaction
    /// (as a DBA's psql session would), then rolls that transaction back.
    func whileRowLocked<T>(org: String, job: String, _ body: () async throws -> T) async throws -> T {
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        return try await owner.withConnection { lock in
            try await lock.query("BEGIN")
            try await lock.query("SELECT set_config('app.organization_id', \(org), true)")
            try await lock.query(
                "SELECT 1 AS one FROM jobs WHERE organization_id = \(org) AND job_id = \(job) FOR UPDATE")
            let value = try await body()
            try await lock.query("ROLLBACK")
            return value
        }
    }

    /// Sends `requests` one after another (250 ms apart) while another connection holds the
    /// job's row lock, then releases it: the first request leads and waits on the lock, the
    /// others queue in the coalescing writer in order and run as one batch after it.
    func batched(org: String, job: String, _ requests: [@Sendable () async throws -> APIResponse]) async throws
        -> [APIResponse]
    {
        let tasks = try await whileRowLocked(org: org, job: job) {
            var tasks: [Task<APIResponse, any Error>] = []
            for request in requests {
                tasks.append(Task { try await request() })
                try await Task.sleep(for: .milliseconds(250))
            }
            return tasks
        }
        var responses: [APIResponse] = []
        for task in tasks { responses.append(try await task.value) }
        return responses
    }

    /// Item 7: request A with key K fails inside a batch (freeing K), request B with the same K
    /// then succeeds in the same batch. B's response must be recorded under K, so B's retry
    /// replays instead of applying a second time.
    @Test func keyFreedAndReclaimedInOneBatchIsRecorded() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            #expect(try await http.progress(t.editorA, id, #"{"processed_items": 5}"#).status == 200)
            let keyed = with(t.editorA, key: "batch-\(UUID().uuidString)")
            let editor = t.editorA
            let plusOne = #"{"processed_items_delta": 1}"#
            let responses = try await batched(
                org: t.orgA, job: id,
                [
                    { try await http.progress(editor, id, #"{"stage": "leader"}"#) },
                    { try await http.progress(keyed, id, #"{"processed_items_delta": 9007199254740991}"#) },
                    { try await http.progress(keyed, id, plusOne) },
                ])
            #expect(responses[0].status == 200)
            #expect(responses[1].status == 422, "A overflows: \(responses[1].text)")
            #expect(responses[2].status == 200, "B may use the key A freed: \(responses[2].text)")
            #expect(int(responses[2]["processed_items"]) == 6)
            let retry = try await http.progress(keyed, id, plusOne)
            #expect(retry.status == 200)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true", "B's retry replays")
            #expect(retry.text == responses[2].text)
            let now = try await http.call(.get, "/api/jobs/\(id)/status", headers: t.editorA)
            #expect(int(now["processed_items"]) == 6, "B applied exactly once")
            // And a different request with the same key is a reuse, as for any recorded key.
            #expect(try await http.progress(keyed, id, #"{"processed_items_delta": 2}"#).status == 422)
        }
    }

    /// Item 9: a row lock held elsewhere (a DBA's open transaction) makes the request give up
    /// after `lock_timeout` with a 503 + Retry-After, instead of hanging.
    @Test func lockTimeoutIsA503WithRetryAfter() async throws {
        try await withAPI(configure: { $0.lockTimeout = .milliseconds(300) }) { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let editor = t.editorA
            let started = ContinuousClock.now
            let r = try await whileRowLocked(org: t.orgA, job: id) {
                try await http.progress(editor, id, #"{"processed_items": 1}"#)
            }
            #expect(r.status == 503, "\(r.text)")
            #expect(r.headers[.retryAfter] != nil)
            #expect(r["code"] as? String == "database_busy")
            #expect(ContinuousClock.now - started < .seconds(10))
            let again = try await http.progress(editor, id, #"{"processed_items": 1}"#)
            #expect(again.status == 200, "fine once the lock is gone: \(again.text)")
        }
    }

    /// Item 9: a statement running past `statement_timeout` is cancelled by PostgreSQL and the
    /// request answers 503 + Retry-After.
    @Test func statementTimeoutIsA503WithRetryAfter() async throws {
        try await withAPI(configure: {
            $0.statementTimeout = .milliseconds(300)
            $0.lockTimeout = .zero
        }) { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let editor = t.editorA
            let r = try await whileRowLocked(org: t.orgA, job: id) {
                try await http.call(.post, "/api/jobs/\(id)/cancel", headers: editor)
            }
            #expect(r.status == 503, "\(r.text)")
            #expect(r.headers[.retryAfter] != nil)
        }
    }

    /// Item 9: a deadlock between the server's transaction and another one (here: another
    /// session holds the idempotency key the server needs and then asks for the job row the
    /// server holds) is retried inside the server; the client sees one 200, applied once.
    @Test func deadlockIsRetriedInsideTheServer() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let key = "deadlock-\(UUID().uuidString)"
            let keyed = with(t.editorA, key: key)
            let owner = try TestDatabase.ownerClient(maxConnections: 1)
            defer { Task { await owner.shutdown() } }
            let r = try await owner.withConnection { other in
                // This session waits long before checking for deadlocks, so the server's
                // session (default 1 s) is the one PostgreSQL aborts.
                try await other.query("SET deadlock_timeout = '20s'")
                try await other.query("BEGIN")
                try await other.query("SELECT set_config('app.organization_id', \(t.orgA), true)")
                try await other.query(
                    """
                    INSERT INTO idempotency_keys (organization_id, idempotency_key, method, path, request_hash)
                    VALUES (\(t.orgA), \(key), 'POST', '/elsewhere', \(PGBytes([UInt8](repeating: 7, count: 32))))
                    """)
                let request = Task { try await http.progress(keyed, id, #"{"processed_items_delta": 3}"#) }
                try await Task.sleep(for: .milliseconds(400))  // the server now waits for our key
                try await other.query(
                    "SELECT 1 AS one FROM jobs WHERE organization_id = \(t.orgA) AND job_id = \(id) FOR UPDATE")
                try await other.query("ROLLBACK")
                try await other.query("RESET deadlock_timeout")
                return try await request.value
            }
            #expect(r.status == 200, "\(r.text)")
            #expect(int(r["processed_items"]) == 3)
            let replay = try await http.progress(keyed, id, #"{"processed_items_delta": 3}"#)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(int(replay["processed_items"]) == 3, "applied once")
        }
    }

    /// Item 1: the reported 60-byte amplification is a 422 naming each field, nothing is
    /// stored, and an accepted number reads back exactly as the write answered it.
    @Test func numbersAreRefusedOrStoredInOneForm() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let attack = try await http.progress(
                t.editorA, id, #"{"metadata_patch":{"b":1e131071,"c":1e131071,"d":1e131071}}"#)
            #expect(attack.status == 422)
            for field in ["b", "c", "d"] { #expect(attack.hasIssue("body.metadata_patch.\(field)", "value_error")) }
            let after = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(after.text.utf8.count < 2000, "nothing was stored: \(after.text.utf8.count) bytes")

            let write = try await http.progress(
                t.editorA, id,
                #"{"metadata_patch": {"big": 1e300, "small": 2.50e-3, "n": -0, "f": 1.0}, "error": {"entity_key": "k", "error_type": "e", "message": "m", "details": {"x": 1E+2}}}"#
            )
            #expect(write.status == 200, "\(write.text)")
            let read = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            let written = try #require(write["metadata"] as? [String: Any])
            let stored = try #require(read["metadata"] as? [String: Any])
            #expect(NSDictionary(dictionary: written).isEqual(to: stored), "the write response and the next GET agree")
            #expect(read.text.contains(#""small": 0.0025"#) || read.text.contains(#""small":0.0025"#), "\(read.text)")
            #expect(write.text.contains(#""small":0.0025"#))
            #expect(write.text.contains(#""f":1.0"#) && read.text.contains(#""f":1.0"#))
            #expect(write.text.contains(#""x":100.0"#) && read.text.contains(#""x":100.0"#))
            let big = "1" + String(repeating: "0", count: 300) + ".0"
            #expect(write.text.contains(big) && read.text.contains(big))
            let create = try await http.call(
                .post, "/api/jobs/", headers: t.editorA,
                json: #"{"job_type": "n", "total_items": 1, "metadata": {"a": 12345678901234567890}}"#)
            #expect(create.status == 422)
            #expect(create.hasIssue("body.metadata.a", "value_error"))
        }
    }

    /// Item 11: a cross-site form can send the stytch_session cookie but no Authorization
    /// header. A cookie-authenticated write from another site is a 403 and changes nothing;
    /// same-origin writes, reads, and bearer-authenticated calls are unaffected.
    @Test func cookieWritesFromAnotherSiteAreRefused() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let cookie = ("Cookie", "stytch_session=\(t.soloSession)")
            for (name, value) in [
                ("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site"), ("Origin", "null"),
            ] {
                for contentType in ["application/x-www-form-urlencoded", "text/plain"] {
                    let r = try await http.call(
                        .post, "/api/jobs/\(id)/cancel",
                        headers: h([cookie.0: cookie.1, name: value, "Content-Type": contentType]))
                    #expect(r.status == 403, "\(name): \(value) → \(r.status) \(r.text)")
                }
                let progress = try await http.call(
                    .post, "/api/jobs/\(id)/progress", headers: h([cookie.0: cookie.1, name: value]),
                    json: #"{"mark_started": true}"#)
                #expect(progress.status == 403)
                let create = try await http.call(
                    .post, "/api/jobs/", headers: h([cookie.0: cookie.1, name: value]),
                    json: #"{"job_type": "x", "total_items": 1}"#)
                #expect(create.status == 403)
            }
            let status = try await http.call(
                .get, "/api/jobs/\(id)/status", headers: h([cookie.0: cookie.1, "Sec-Fetch-Site": "cross-site"]))
            #expect(status.status == 200, "a read is not a write")
            #expect(status["status"] as? String == "pending", "nothing was cancelled")
            // Bearer-authenticated calls are unaffected, whatever the Origin.
            var bearer = t.editorA
            bearer[HTTPField.Name("Origin")!] = "https://evil.example"
            #expect(try await http.progress(bearer, id, #"{"mark_started": true}"#).status == 200)
            // Same-origin cookie writes work.
            let same = try await http.call(
                .post, "/api/jobs/\(id)/cancel", headers: h([cookie.0: cookie.1, "Sec-Fetch-Site": "same-origin"]))
            #expect(same.status == 200, "\(same.text)")
            #expect(same["status"] as? String == "cancelled")
        }
    }

    /// Item 12: `apikey revoke` and `session revoke` take the id (no secret on the command line)
    /// or read a token from stdin; `session create --ttl` is bounded.
    @Test func adminRevokesByIdAndBoundsSessionTTL() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let admin = AdminService(database: Database(client: owner))
        let org = TestDatabase.uniqueID("org_cli")
        try await admin.createOrganization(org, name: nil)
        let byID = try await admin.createAPIKey(organization: org, name: "by-id", role: .editor)
        let byStdin = try await admin.createAPIKey(organization: org, name: "by-stdin", role: .editor)
        let listed = try await runJobsAPI(["apikey", "list", org])
        #expect(listed.status == 0)
        let row = try #require(listed.stdout.split(separator: "\n").first { $0.contains("\tby-id\t") })
        let keyID = String(row.split(separator: "\t")[0])
        #expect(keyID.hasPrefix("key_"))
        let revoked = try await runJobsAPI(["apikey", "revoke", keyID])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(try await runJobsAPI(["apikey", "revoke", keyID]).status != 0, "already revoked")
        let piped = try await runJobsAPI(["apikey", "revoke", "-"], stdin: byStdin + "\n")
        #expect(piped.status == 0, "\(piped.stderr)")

        let user = TestDatabase.uniqueID("cli_user")
        try await admin.createUser(user, email: nil)
        let tooLong = try await runJobsAPI(["session", "create", user, "--ttl", "31d"])
        #expect(tooLong.status != 0)
        #expect(tooLong.stderr.contains("at most 30d"), "\(tooLong.stderr)")
        let created = try await runJobsAPI(["session", "create", user, "--ttl", "30d"])
        #expect(created.status == 0, "\(created.stderr)")
        let sessionToken = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let sessionID = try #require(
            created.stderr.split(separator: " ").first { $0.hasPrefix("ses_") }.map(String.init))
        let sessions = try await runJobsAPI(["session", "list", user])
        #expect(sessions.stdout.contains(sessionID))
        #expect(!sessions.stdout.contains(sessionToken), "never the token")
        #expect(try await runJobsAPI(["session", "revoke", sessionID]).status == 0)

        try await withAPI(authCacheTTL: .zero) { (http, _) async throws in
            for token in [byID, byStdin, sessionToken] {
                let r = try await http.call(.get, "/api/jobs/", headers: h(["Authorization": "Bearer \(token)"]))
                #expect(r.status == 401, "revoked: \(token.prefix(8))")
            }
        }
    }

    /// Item 12: failed token lookups are cheap. A token that just failed is answered from a
    /// negative cache; past a per-address budget of failed lookups, a client gets 429 +
    /// Retry-After without a query, while valid cached credentials keep working.
    @Test func floodsOfBadTokensDoNotReachTheDatabase() async throws {
        try await withAPI(configure: {
            $0.authFailureBurst = 5
            $0.authFailuresPerSecond = 1
        }) { (http, t) async throws in
            #expect(try await http.call(.get, "/api/jobs/", headers: t.editorA).status == 200, "cached from now on")
            let repeated = "jak_" + UUID().uuidString
            for _ in 0..<20 {
                #expect(
                    try await http.call(.get, "/api/jobs/", headers: h(["Authorization": "Bearer \(repeated)"])).status
                        == 401)
            }
            var statuses: [Int] = []
            let started = ContinuousClock.now
            for _ in 0..<10 {
                let r = try await http.call(
                    .get, "/api/jobs/", headers: h(["Authorization": "Bearer jak_\(UUID().uuidString)"]))
                statuses.append(r.status)
                if r.status == 429 { #expect(r.headers[.retryAfter] != nil) }
            }
            // The budget refills at one lookup a second: on a slow machine the loop may earn some.
            let refills = Int((ContinuousClock.now - started).components.seconds) + 1
            #expect(statuses.filter { $0 == 401 }.count <= 5 + refills, "\(statuses)")
            #expect(statuses.contains(429), "\(statuses)")
            #expect(statuses.last == 429 || refills > 1, "\(statuses)")
            #expect(try await http.call(.get, "/api/jobs/", headers: t.editorA).status == 200)
        }
    }
}
