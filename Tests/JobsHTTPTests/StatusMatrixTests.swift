import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobsDomain
import JobsStore
import JobsTestSupport
import Logging
import Testing

@testable import JobsHTTP

/// The HTTP status matrix of the contract (401/400/403/405/413/415/422/404/409 and the rules
/// behind them), through the real router and middleware with the in-memory store: no database,
/// seconds for the whole suite. The integration suite runs the same routes on PostgreSQL.
@Suite("Status matrix (in memory)")
struct StatusMatrixTests {
    /// How the people and workers of the matrix authenticate: API keys and local sessions, or
    /// (for the same rows) Stytch sessions in the browser's cookies, against a local Stytch.
    /// Every row must answer the same either way.
    enum Credentials: String, CaseIterable, Sendable {
        case keys, stytch
    }

    /// Two organizations; A has an editor and a viewer, B an editor; a user with one membership
    /// (admin of A), a user with two, a user with none. With `.stytch`, the editors, the viewer
    /// and A's admin are Stytch members (roles `jobs_editor`, `stytch_member`, `stytch_admin`)
    /// of Stytch organizations linked to A and B, sending the opaque cookie, the JWT cookie or
    /// both; the two multi-organization users stay local sessions (a Stytch session is in one
    /// organization).
    struct Tenants: Sendable {
        var editorA: HTTPFields = bearer("jak_editor_a")
        var viewerA: HTTPFields = bearer("jak_viewer_a")
        var editorB: HTTPFields = bearer("jak_editor_b")
        var userA: HTTPFields = cookie("sess_user_a")
        let userAB: HTTPFields = bearer("sess_user_ab")
        let loner: HTTPFields = bearer("sess_loner")

        static func setUp(_ store: MemoryStore, _ credentials: Credentials, fake: FakeStytch?) async throws -> Tenants {
            store.addAPIKey("jak_editor_a", keyID: "k1", organization: "org_a", role: .editor)
            store.addAPIKey("jak_viewer_a", keyID: "k2", organization: "org_a", role: .viewer)
            store.addAPIKey("jak_editor_b", keyID: "k3", organization: "org_b", role: .editor)
            store.addSession(
                "sess_user_a", userID: "user_a", memberships: [.init(organizationID: "org_a", role: .admin)])
            store.addSession(
                "sess_user_ab", userID: "user_ab",
                memberships: [
                    .init(organizationID: "org_a", role: .viewer), .init(organizationID: "org_b", role: .owner),
                ])
            store.addSession("sess_loner", userID: "loner", memberships: [])
            var tenants = Tenants()
            guard credentials == .stytch, let fake else { return tenants }
            let stytchA = "organization-test-" + FakeStytch.newUUID()
            let stytchB = "organization-test-" + FakeStytch.newUUID()
            store.linkStytchOrganization(stytchA, to: "org_a")
            store.linkStytchOrganization(stytchB, to: "org_b")
            let editorA = try await fake.createSession(
                for: .init(organizationID: stytchA, roles: ["stytch_member", "jobs_editor"]))
            let viewerA = try await fake.createSession(for: .init(organizationID: stytchA, roles: ["stytch_member"]))
            let editorB = try await fake.createSession(for: .init(organizationID: stytchB, roles: ["jobs_editor"]))
            let adminA = try await fake.createSession(
                for: .init(organizationID: stytchA, roles: ["stytch_member", "stytch_admin"]))
            tenants.editorA = [
                .cookie: "stytch_session=\(editorA.sessionToken); stytch_session_jwt=\(editorA.sessionJWT)"
            ]
            tenants.viewerA = [.cookie: "stytch_session_jwt=\(viewerA.sessionJWT)"]
            tenants.editorB = [.cookie: "stytch_session=\(editorB.sessionToken)"]
            tenants.userA = [.cookie: "stytch_session=\(adminA.sessionToken)"]
            return tenants
        }
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }
    static func cookie(_ token: String) -> HTTPFields { [.cookie: "stytch_session=\(token)"] }

    func withRouter(
        _ credentials: Credentials = .keys, migrationVersion: Int = Int.max,
        _ body: @Sendable (any TestClientProtocol, Tenants) async throws -> Void
    ) async throws {
        let store = MemoryStore(migrationVersion: migrationVersion)
        var config = AppConfiguration()
        config.authCacheTTL = .zero
        let fake = credentials == .stytch ? try await FakeStytch.start() : nil
        if let fake {
            config.stytchProjectID = fake.projectID
            config.stytchSecret = fake.secret
            config.stytchBaseURL = URL(string: fake.baseURL)
        }
        do {
            let tenants = try await Tenants.setUp(store, credentials, fake: fake)
            let app = buildApplication(
                configuration: config, backend: .memory(store), expectedMigration: 9, logger: Logger(label: "test"))
            try await app.test(.router) { client in try await body(client, tenants) }
            if let fake { #expect(fake.rejectedAuthCalls == 0) }
            await fake?.stop()
        } catch {
            await fake?.stop()
            throw error
        }
    }

    @Test(arguments: Credentials.allCases) func authentication401(_ credentials: Credentials) async throws {
        try await withRouter(credentials) { (http, _) async throws in
            for headers: HTTPFields in [
                [:], Self.bearer("jak_unknown"), [.authorization: "Basic abc"], [.authorization: "Bearer"],
                Self.cookie("unknown"), [.authorization: "Bearer a b"],
            ] {
                let r = try await http.call(.get, "/api/jobs/", headers: headers)
                #expect(r.status == 401, "\(headers)")
                #expect(r.headers[.wwwAuthenticate] == "Bearer")
                #expect(r.detail == "Not authenticated")
            }
            // 401 comes before the body and the permission checks.
            #expect(try await http.call(.post, "/api/jobs/", json: "not json").status == 401)
        }
    }

    @Test(arguments: Credentials.allCases) func tenancy400And403(_ credentials: Credentials) async throws {
        try await withRouter(credentials) { (http, t) async throws in
            var several = t.userAB
            #expect(try await http.call(.get, "/api/jobs/", headers: several).status == 400)
            several[.organizationID] = "org_b"
            #expect(try await http.call(.get, "/api/jobs/", headers: several).status == 200)
            several[.organizationID] = "org_c"
            #expect(try await http.call(.get, "/api/jobs/", headers: several).status == 403)
            var empty = t.editorA
            empty[.organizationID] = ""
            #expect(try await http.call(.get, "/api/jobs/", headers: empty).status == 400)
            var twice = t.editorA
            twice.append(HTTPField(name: .organizationID, value: "org_a"))
            twice.append(HTTPField(name: .organizationID, value: "org_a"))
            #expect(try await http.call(.get, "/api/jobs/", headers: twice).status == 400)
            var foreign = t.editorA
            foreign[.organizationID] = "org_b"
            #expect(try await http.call(.get, "/api/jobs/", headers: foreign).status == 403)
            #expect(try await http.call(.get, "/api/jobs/", headers: t.loner).status == 403)
            #expect(try await http.call(.get, "/api/jobs/", headers: t.userA).status == 200)
        }
    }

    @Test(arguments: Credentials.allCases) func permissions403BeforeTheBody(_ credentials: Credentials) async throws {
        try await withRouter(credentials) { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let create = try await http.call(.post, "/api/jobs/", headers: t.viewerA, json: "{")
            #expect(create.status == 403)
            #expect(create.detail == "Missing required permission: job:create")
            #expect(
                try await http.call(.post, "/api/jobs/\(id)/progress", headers: t.viewerA, json: "{}").status == 403)
            #expect(try await http.call(.post, "/api/jobs/\(id)/cancel", headers: t.viewerA).status == 403)
            #expect(try await http.call(.get, "/api/jobs/\(id)", headers: t.viewerA).status == 200)
        }
    }

    @Test(arguments: Credentials.allCases) func bodies415And413And422(_ credentials: Credentials) async throws {
        try await withRouter(credentials) { (http, t) async throws in
            #expect(
                try await http.call(.post, "/api/jobs/", headers: t.editorA, json: "{}", contentType: "text/plain")
                    .status == 415)
            #expect(
                try await http.call(.post, "/api/jobs/", headers: t.editorA, json: "{}", contentType: nil).status == 415
            )
            let huge = String(repeating: "x", count: 1_100_000)
            let big = try await http.call(.post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "\#(huge)"}"#)
            #expect(big.status == 413)
            let missing = try await http.call(.post, "/api/jobs/", headers: t.editorA, json: "{}")
            #expect(missing.status == 422)
            #expect(missing.hasIssue("body.job_type", "missing"))
            let unknown = try await http.call(
                .post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "a", "colour": 1}"#)
            #expect(unknown.status == 422)
            #expect(unknown.hasIssue("body.colour"))
            let typed = try await http.call(.post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": 5}"#)
            #expect(typed.status == 422)
            let duplicate = try await http.call(
                .post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "a", "job_type": "b"}"#)
            #expect(duplicate.status == 422)
            let malformed = try await http.call(.post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "#)
            #expect(malformed.status == 422)
            var badKey = t.editorA
            badKey[.idempotencyKey] = String(repeating: "k", count: 256)
            let key = try await http.call(.post, "/api/jobs/", headers: badKey, json: #"{"job_type": "a"}"#)
            #expect(key.status == 422)
            #expect(key.hasIssue("header.Idempotency-Key"))
            for query in ["limit=0", "limit=201", "limit=x", "status=done", "cursor=%%%", "created_after=yesterday"] {
                #expect(try await http.call(.get, "/api/jobs/?\(query)", headers: t.editorA).status == 422, "\(query)")
            }
        }
    }

    @Test(arguments: Credentials.allCases) func unknownJobs404AndOtherTenants404(_ credentials: Credentials)
        async throws
    {
        try await withRouter(credentials) { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            for path in ["", "/status", "/errors", "/warnings"] {
                #expect(try await http.call(.get, "/api/jobs/job_nope\(path)", headers: t.editorA).status == 404)
                // Another organization's job is a 404, never a 403.
                #expect(try await http.call(.get, "/api/jobs/\(id)\(path)", headers: t.editorB).status == 404)
            }
            #expect(
                try await http.call(.post, "/api/jobs/\(id)/progress", headers: t.editorB, json: "{}").status == 404)
            #expect(try await http.call(.post, "/api/jobs/\(id)/cancel", headers: t.editorB).status == 404)
            #expect(
                try await http.call(.get, "/api/jobs/\(String(repeating: "j", count: 65))", headers: t.editorA).status
                    == 404)
            #expect(try await http.call(.get, "/nowhere").status == 404)
        }
    }

    @Test(arguments: Credentials.allCases) func methods405WithAllow(_ credentials: Credentials) async throws {
        try await withRouter(credentials) { (http, t) async throws in
            let put = try await http.call(.put, "/api/jobs/abc/progress", headers: t.editorA)
            #expect(put.status == 405)
            #expect(put.headers[.allow] == "POST")
            let delete = try await http.call(.delete, "/api/jobs/", headers: t.editorA)
            #expect(delete.status == 405)
            #expect(delete.headers[.allow] == "POST, GET")
        }
    }

    @Test(arguments: Credentials.allCases) func progressRulesAndTerminal409(_ credentials: Credentials) async throws {
        try await withRouter(credentials) { (http, t) async throws in
            let id = try await http.createJob(t.editorA, total: 10)
            let started = try await http.progress(
                t.editorA, id,
                #"{"mark_started": true, "processed_items_delta": 4, "error": {"entity_key": "r1", "error_type": "bad", "message": "m"}}"#
            )
            #expect(started.status == 200, "\(started.text)")
            #expect(started["status"] as? String == "in_progress")
            #expect(started["processed_items"] as? Int == 4)
            #expect(started["error_count"] as? Int == 1)
            #expect((started["errors"] as? [Any])?.count == 1)
            let done = try await http.progress(t.editorA, id, #"{"processed_items": 10, "mark_completed": true}"#)
            #expect(done.status == 200)
            #expect(["completed", "partial_success"].contains(done["status"] as? String ?? ""))
            // A terminal job refuses further reports and cancels.
            #expect(try await http.progress(t.editorA, id, #"{"processed_items_delta": 1}"#).status == 409)
            #expect(try await http.call(.post, "/api/jobs/\(id)/cancel", headers: t.editorA).status == 409)
            let errors = try await http.call(.get, "/api/jobs/\(id)/errors", headers: t.editorA)
            #expect(errors.status == 200)
            #expect((errors["items"] as? [Any])?.count == 1)

            let other = try await http.createJob(t.editorA)
            let cancelled = try await http.call(.post, "/api/jobs/\(other)/cancel", headers: t.editorA)
            #expect(cancelled.status == 200)
            #expect(cancelled["status"] as? String == "cancelled")
            #expect(try await http.progress(t.editorA, other, #"{"processed_items_delta": 1}"#).status == 409)
        }
    }

    @Test(arguments: Credentials.allCases) func idempotentRetriesReplayAndRefuseReuse(_ credentials: Credentials)
        async throws
    {
        try await withRouter(credentials) { (http, t) async throws in
            var keyed = t.editorA
            keyed[.idempotencyKey] = "create-1"
            let first = try await http.call(
                .post, "/api/jobs/", headers: keyed, json: #"{"job_type": "a", "total_items": 1}"#)
            #expect(first.status == 201, "\(first.text)")
            #expect(first.headers[.location] != nil)
            let again = try await http.call(
                .post, "/api/jobs/", headers: keyed, json: #"{ "total_items": 1, "job_type" : "a" }"#)
            #expect(again.status == 201)
            #expect(again.headers[.idempotentReplayed] == "true")
            #expect(again.text == first.text)
            let reused = try await http.call(
                .post, "/api/jobs/", headers: keyed, json: #"{"job_type": "b", "total_items": 1}"#)
            #expect(reused.status == 422)
            let id = try #require(first["job_id"] as? String)
            keyed[.idempotencyKey] = "report-1"
            let report = try await http.progress(keyed, id, #"{"processed_items_delta": 2}"#)
            let replay = try await http.progress(keyed, id, #"{"processed_items_delta": 2}"#)
            #expect(replay.headers[.idempotentReplayed] == "true")
            #expect(replay.text == report.text)
            let job = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(job["processed_items"] as? Int == 2, "the retry was not applied twice")
        }
    }

    @Test(arguments: Credentials.allCases) func listPagesNewestFirstWithinTheTenant(_ credentials: Credentials)
        async throws
    {
        try await withRouter(credentials) { (http, t) async throws in
            var ids: [String] = []
            for _ in 0..<5 { ids.append(try await http.createJob(t.editorA, type: "paged")) }
            _ = try await http.createJob(t.editorB, type: "paged")
            var seen: [String] = []
            var uri = "/api/jobs/?job_type=paged&limit=2"
            while true {
                let page = try await http.call(.get, uri, headers: t.editorA)
                #expect(page.status == 200)
                seen += ((page["items"] as? [[String: Any]]) ?? []).compactMap { $0["job_id"] as? String }
                guard let next = page["next_cursor"] as? String else { break }
                uri = "/api/jobs/?job_type=paged&limit=2&cursor=\(next)"
            }
            #expect(Set(seen) == Set(ids))
            #expect(seen.count == 5)
        }
    }

    @Test func readinessFollowsTheMigrationVersion() async throws {
        try await withRouter(migrationVersion: 9) { (http, _) async throws in
            #expect(try await http.call(.get, "/readyz").status == 200)
            #expect(try await http.call(.get, "/healthz").status == 200)
        }
        try await withRouter(migrationVersion: 3) { (http, _) async throws in
            let r = try await http.call(.get, "/readyz")
            #expect(r.status == 503)
            #expect(r.headers[.retryAfter] == "5")
        }
    }
}
