import Foundation
import HTTPTypes
import HummingbirdTesting
import JobsTestSupport
import LibPQ
import Testing

@testable import JobsDomain
@testable import JobsHTTP
@testable import JobsStore

/// The webhook outbox against PostgreSQL: an event row is written by the statement that ends
/// the job (both writer paths), once, only for subscribed enabled endpoints; `webhook_claim`
/// never hands one row to two instances; the owner-only routes.
@Suite("Webhook outbox")
struct WebhookOutboxTests {
    /// The outbox rows of one job, as (event type, endpoint) pairs.
    static func rows(_ owner: PGClient, organization: String, job: String) async throws -> [(String, String)] {
        try await Database(client: owner).read(
            organization: organization,
            [
                """
                SELECT event_type, endpoint_id, payload FROM webhook_outbox
                WHERE organization_id = \(organization) AND job_id = \(job) ORDER BY created_at
                """
            ])[0].map { (try $0.decode("event_type"), try $0.decode("endpoint_id")) }
    }

    /// An endpoint nothing answers at (deliveries fail and stay pending, which is all these
    /// tests look at).
    static let deadURL = "https://receiver.invalid/hooks"

    @Test func theEndingStatementQueuesOneEventPerSubscribedEndpoint() async throws {
        try await withAPI { (http, t) async throws in
            let owner = try TestDatabase.ownerClient(maxConnections: 2)
            let store = WebhookStore(database: Database(client: owner))
            let all = try await store.add(organization: t.orgA, url: Self.deadURL, events: WebhookEvent.allCases)
            let failedOnly = try await store.add(organization: t.orgA, url: Self.deadURL, events: [.failed])
            let disabled = try await store.add(organization: t.orgA, url: Self.deadURL, events: WebhookEvent.allCases)
            _ = try await Database(client: owner).read(
                organization: t.orgA,
                [
                    """
                    UPDATE webhook_endpoints SET enabled = false WHERE organization_id = \(t.orgA)
                    AND endpoint_id = \(disabled.0.endpointID)
                    """
                ])
            defer {
                Task {
                    for e in [all, failedOnly, disabled] {
                        _ = try? await store.remove(organization: t.orgA, id: e.0.endpointID)
                    }
                    await owner.shutdown()
                }
            }

            // The one-round-trip path (no key): completed.
            let fast = try await http.createJob(t.editorA, total: 2)
            #expect(try await http.progress(t.editorA, fast, #"{"mark_started": true}"#).status == 200)
            #expect(
                try await http.progress(t.editorA, fast, #"{"processed_items": 2, "mark_completed": true}"#).status
                    == 200)
            // Repeating the end changes nothing and queues nothing.
            #expect(try await http.progress(t.editorA, fast, #"{"mark_completed": true}"#).status == 200)
            var rows = try await Self.rows(owner, organization: t.orgA, job: fast)
            #expect(rows.map(\.0) == ["job.completed"], "\(rows)")
            #expect(rows.map(\.1) == [all.0.endpointID])

            // The locked path (an Idempotency-Key): failed goes to both subscribed endpoints.
            let locked = try await http.createJob(t.editorA, total: 2)
            let response = try await http.call(
                .post, "/api/jobs/\(locked)/progress", headers: with(t.editorA, key: UUID().uuidString),
                json: #"{"mark_failed": "broken"}"#)
            #expect(response.status == 200)
            rows = try await Self.rows(owner, organization: t.orgA, job: locked)
            #expect(rows.map(\.0) == ["job.failed", "job.failed"])
            #expect(Set(rows.map(\.1)) == [all.0.endpointID, failedOnly.0.endpointID])

            // Cancel: subscribed by `all` only. A running job queues nothing.
            let cancelled = try await http.createJob(t.editorA, total: 2)
            let running = try await http.createJob(t.editorA, total: 2)
            #expect(try await http.call(.post, "/api/jobs/\(cancelled)/cancel", headers: t.editorA).status == 200)
            #expect(try await http.progress(t.editorA, running, #"{"mark_started": true}"#).status == 200)
            #expect(try await Self.rows(owner, organization: t.orgA, job: cancelled).map(\.0) == ["job.cancelled"])
            #expect(try await Self.rows(owner, organization: t.orgA, job: running).isEmpty)

            // The payload is the job as the API shows it.
            let payload = try await Database(client: owner).read(
                organization: t.orgA,
                [
                    """
                    SELECT payload FROM webhook_outbox WHERE organization_id = \(t.orgA) AND job_id = \(fast)
                    """
                ])[0].first!.decode("payload", as: String.self)
            let object = try #require(JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
            #expect(object["type"] as? String == "job.completed")
            let data = try #require(object["data"] as? [String: Any])
            #expect(data["job_id"] as? String == fast && data["status"] as? String == "completed")
            #expect(int(data["processed_items"]) == 2 && data["errors"] == nil)
        }
    }

    @Test func concurrentClaimsNeverShareARow() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 4)
        let tenants = try await TenantStore.shared.get()
        let org = tenants.orgB
        let store = WebhookStore(database: Database(client: owner))
        let (endpoint, _) = try await store.add(organization: org, url: Self.deadURL, events: [.completed])
        let marker = TestDatabase.uniqueID("claim")
        for i in 0..<40 {
            _ = try await Database(client: owner).read(
                organization: org,
                [
                    WebhookStore.enqueueQuery(
                        organization: org, jobID: "\(marker)-\(i)", event: .completed, payload: "{}")
                ])
        }
        async let first = store.claim(limit: 1000, lease: .seconds(60))
        async let second = store.claim(limit: 1000, lease: .seconds(60))
        let (a, b) = try await (first, second)
        let mine = { (batch: [ClaimedDelivery]) in
            batch.filter { $0.endpointID == endpoint.endpointID }.map(\.messageID)
        }
        #expect(Set(mine(a)).isDisjoint(with: mine(b)), "a row was claimed twice")
        // Servers of other suites may run a deliverer too and lease some rows first: whoever
        // claimed each row, each was claimed exactly once (a claim counts an attempt).
        let attempts = try await Database(client: owner).read(
            organization: org,
            [
                """
                SELECT attempts FROM webhook_outbox WHERE organization_id = \(org) AND endpoint_id = \(endpoint.endpointID)
                """
            ])[0].map { try $0.decode("attempts", as: Int.self) }
        #expect(attempts.count == 40 && attempts.allSatisfy { $0 == 1 }, "\(attempts)")
        #expect(
            try await store.claim(limit: 1000, lease: .seconds(60)).filter { $0.endpointID == endpoint.endpointID }
                .isEmpty,
            "leased rows are not due again before the lease ends")
        #expect(try await store.remove(organization: org, id: endpoint.endpointID))
        await owner.shutdown()
    }

    @Test func onlyOwnersManageWebhooks() async throws {
        try await withAPI { (http, t) async throws in
            for role in [Role.viewer, .editor, .admin] {
                let response = try await http.call(.get, "/api/webhooks", headers: t.bearer(t.keyA[role]!))
                #expect(response.status == 403, "\(role)")
            }
            let owner = t.bearer(t.keyA[.owner]!)
            let created = try await http.call(
                .post, "/api/webhooks", headers: owner,
                json: #"{"url": "https://example.com/h", "events": ["job.failed"]}"#)
            #expect(created.status == 201)
            let id = try #require(created.object["endpoint_id"] as? String)
            #expect((created.object["secret"] as? String)?.hasPrefix("whsec_") == true)
            // Another organization's owner: a 404, never the endpoint.
            var ownerB = t.bearer(t.multiSession)
            ownerB[HTTPField.Name("X-Organization-ID")!] = t.orgB
            #expect(try await http.call(.get, "/api/webhooks/\(id)", headers: ownerB).status == 404)
            let fetched = try await http.call(.get, "/api/webhooks/\(id)", headers: owner)
            #expect(fetched.status == 200 && fetched.object["secret"] == nil)
            #expect(try await http.call(.delete, "/api/webhooks/\(id)", headers: owner).status == 204)
            #expect(try await http.call(.get, "/api/webhooks/\(id)", headers: owner).status == 404)
        }
    }
}
