import Foundation
import HTTPTypes
import JobsHTTP
import JobsTestSupport
import LibPQ
import Testing

@testable import JobsDomain
@testable import JobsStore

@Suite("Idempotent retries (spec §5)")
struct IdempotencyTests {
    @Test func createReplaysTheOriginalResponse() async throws {
        try await withAPI { (http, _) async throws in
            let (_, headers) = try await freshOrganization()
            let key = "create-\(UUID().uuidString)"
            let first = try await http.call(
                .post, "/api/jobs/", headers: with(headers, key: key),
                json: #"{"job_type": "import", "total_items": 5, "metadata": {"a": 1, "b": 2}}"#)
            #expect(first.status == 201)
            #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            // Same JSON value: other key order and whitespace, no trailing slash.
            let again = try await http.call(
                .post, "/api/jobs", headers: with(headers, key: key),
                json: #"{ "metadata": {"b": 2, "a": 1}, "total_items": 5,   "job_type": "import" }"#)
            #expect(again.status == 201)
            #expect(again.text == first.text)
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(again.headers[.location] == first.headers[.location])
            let list = try await http.call(.get, "/api/jobs/", headers: headers)
            #expect((list["items"] as? [Any])?.count == 1, "applied once")
            let reused = try await http.call(
                .post, "/api/jobs/", headers: with(headers, key: key),
                json: #"{"job_type": "import", "total_items": 6}"#)
            #expect(reused.status == 422)
            #expect(reused.hasIssue("header.Idempotency-Key"))
        }
    }

    @Test(arguments: ["", String(repeating: "k", count: 256), "clé", "tab\there"])
    func malformedKeysAre422(key: String) async throws {
        try await withAPI { (http, t) async throws in
            var headers = t.editorA
            headers[HTTPField.Name("Idempotency-Key")!] = key
            let response = try await http.call(
                .post, "/api/jobs/", headers: headers, json: #"{"job_type": "x", "total_items": 1}"#)
            #expect(response.status == 422, "\(key.prefix(20)): \(response.text)")
            #expect(response.hasIssue("header.Idempotency-Key"))
        }
    }

    @Test func failedRequestsAreNotRecorded() async throws {
        try await withAPI { (http, t) async throws in
            let key = "fail-\(UUID().uuidString)"
            let missing = try await http.progress(
                with(t.editorA, key: key), "job_missing_\(UUID().uuidString.prefix(8))", #"{"processed_items": 1}"#)
            #expect(missing.status == 404)
            let id = try await http.createJob(t.editorA)
            let retried = try await http.progress(with(t.editorA, key: key), id, #"{"processed_items": 1}"#)
            #expect(retried.status == 200, "the key is free after a failure: \(retried.text)")
            #expect(retried.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
        }
    }

    @Test func twentyRacingIdenticalRequestsApplyOnce() async throws {
        try await withAPI(poolSize: 10) { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 100)
            let key = "race-\(UUID().uuidString)"
            let headers = with(t.editorA, key: key)
            let responses = try await withThrowingTaskGroup(of: APIResponse.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await http.progress(
                            headers, id,
                            #"{"processed_items_delta": 1, "error": {"entity_key": "r", "entity_type": "row", "error_type": "e", "message": "m"}}"#
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(responses.allSatisfy { $0.status == 200 })
            #expect(Set(responses.map(\.text)).count == 1, "all get the same response")
            #expect(responses.filter { $0.headers[HTTPField.Name("Idempotent-Replayed")!] == "true" }.count == 19)
            let job = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(int(job["processed_items"]) == 1)
            #expect(int(job["error_count"]) == 1)
        }
    }

    @Test func keysAreScopedToTheOrganizationAndPathsIgnoreTheTrailingSlash() async throws {
        try await withAPI { (http, t) async throws in
            let key = "scoped-\(UUID().uuidString)"
            let a = try await http.call(
                .post, "/api/jobs/", headers: with(t.editorA, key: key), json: #"{"job_type": "x", "total_items": 1}"#)
            let b = try await http.call(
                .post, "/api/jobs/", headers: with(t.bearer(t.keyB), key: key),
                json: #"{"job_type": "x", "total_items": 1}"#)
            #expect(a.status == 201 && b.status == 201)
            #expect(b.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            #expect(a["job_id"] as? String != b["job_id"] as? String)
            let id = try #require(a["job_id"] as? String)
            let cancelKey = "cancel-\(UUID().uuidString)"
            let first = try await http.call(
                .post, "/api/jobs/\(id)/cancel", headers: with(t.editorA, key: cancelKey), json: #"{"reason": "r"}"#)
            let second = try await http.call(
                .post, "/api/jobs/\(id)/cancel/", headers: with(t.editorA, key: cancelKey), json: #"{"reason":"r"}"#)
            #expect(first.status == 200)
            #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(second.text == first.text)
        }
    }

    @Test func expiredKeysAreFreeAndPurgedByTheJanitor() async throws {
        try await withAPI { (http, t) async throws in
            let key = "expire-\(UUID().uuidString)"
            let first = try await http.call(
                .post, "/api/jobs/", headers: with(t.editorA, key: key), json: #"{"job_type": "x", "total_items": 1}"#)
            #expect(first.status == 201)
            let owner = try TestDatabase.ownerClient(maxConnections: 1)
            _ = try await Database(client: owner).transaction(organization: t.orgA) { tx in
                try await tx.query(
                    """
                    UPDATE idempotency_keys SET created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour'
                    WHERE organization_id = \(t.orgA) AND idempotency_key = \(key)
                    """)
            }
            let after = try await http.call(
                .post, "/api/jobs/", headers: with(t.editorA, key: key), json: #"{"job_type": "x", "total_items": 2}"#)
            #expect(after.status == 201, "an expired key is free again: \(after.text)")
            #expect(after.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            // The janitor (running as the app role) deletes expired records of every organization.
            let other = "expire-other-\(UUID().uuidString)"
            _ = try await http.call(
                .post, "/api/jobs/", headers: with(t.bearer(t.keyB), key: other),
                json: #"{"job_type": "x", "total_items": 1}"#)
            _ = try await Database(client: owner).transaction(organization: t.orgB) { tx in
                try await tx.query(
                    """
                    UPDATE idempotency_keys SET created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour'
                    WHERE organization_id = \(t.orgB) AND idempotency_key = \(other)
                    """)
            }
            let app = try await TestDatabase.appClient(maxConnections: 1)
            let purged = try await IdempotencyJanitor(client: app, interval: .seconds(600), logger: .init(label: "t"))
                .purge()
            #expect(purged >= 1)
            let left = try await Database(client: owner).transaction(organization: t.orgB) { tx in
                try await tx.query(
                    "SELECT count(*) AS n FROM idempotency_keys WHERE organization_id = \(t.orgB) AND idempotency_key = \(other)"
                )
                .first!.decode("n", as: Int.self)
            }
            #expect(left == 0)
            await app.shutdown()
            await owner.shutdown()
        }
    }
}
