import Foundation
import HTTPTypes
import JobsHTTP
import LibPQ
import Testing

@testable import JobsDomain
@testable import JobsStore

@Suite("Authentication, tenancy and roles (spec §1)")
struct AuthTenancyTests {
    @Test func noCredentialsIs401WithChallenge() async throws {
        try await withAPI { (http, _) async throws in
            let response = try await http.call(.get, "/api/jobs/")
            #expect(response.status == 401)
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
            #expect(response.detail == "Not authenticated")
        }
    }

    @Test func everyBadTokenIsTheSame401() async throws {
        try await withAPI { (http, t) async throws in
            let attempts: [HTTPFields] = [
                h(["Authorization": "Basic dXNlcjpwYXNz"]), h(["Authorization": "Bearer"]),
                h(["Authorization": "Bearer "]),
                t.bearer("jak_unknownunknownunknownunknownunknownunknown0"), t.bearer("not-a-token"),
                t.bearer(t.revokedKeyA), t.bearer(t.expiredSession), t.bearer(t.revokedSession),
                h(["Cookie": "stytch_session=\(t.expiredSession)"]), h(["Cookie": "other=1"]),
            ]
            var bodies = Set<String>()
            for headers in attempts {
                let response = try await http.call(.get, "/api/jobs/", headers: headers)
                #expect(response.status == 401, "\(headers)")
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                bodies.insert(response.text)
            }
            #expect(bodies.count == 1, "the body never says which kind of failure it was")
        }
    }

    @Test func sessionCookieWorksAndTheHeaderWins() async throws {
        try await withAPI { (http, t) async throws in
            let cookie = try await http.call(
                .get, "/api/jobs/", headers: h(["Cookie": "a=b; stytch_session=\(t.soloSession)"]))
            #expect(cookie.status == 200)
            var both = t.bearer("jak_badbadbadbadbadbadbadbadbadbadbadbadbadbad00")
            both[.cookie] = "stytch_session=\(t.soloSession)"
            #expect(try await http.call(.get, "/api/jobs/", headers: both).status == 401)
            var good = t.editorA
            good[.cookie] = "stytch_session=garbage"
            #expect(try await http.call(.get, "/api/jobs/", headers: good).status == 200)
            // A session token also works as a bearer token.
            #expect(try await http.call(.get, "/api/jobs/", headers: t.bearer(t.soloSession)).status == 200)
        }
    }

    @Test func apiKeyAndOrganizationHeader() async throws {
        try await withAPI { (http, t) async throws in
            var same = t.editorA
            same[HTTPField.Name("X-Organization-ID")!] = t.orgA
            #expect(try await http.call(.get, "/api/jobs/", headers: same).status == 200)
            var other = t.editorA
            other[HTTPField.Name("X-Organization-ID")!] = t.orgB
            #expect(try await http.call(.get, "/api/jobs/", headers: other).status == 403)
            var empty = t.editorA
            empty[HTTPField.Name("X-Organization-ID")!] = ""
            #expect(try await http.call(.get, "/api/jobs/", headers: empty).status == 400)
        }
    }

    @Test func sessionMembershipRules() async throws {
        try await withAPI { (http, t) async throws in
            let org = HTTPField.Name("X-Organization-ID")!
            // One membership: acts there without the header.
            let solo = try await http.call(
                .post, "/api/jobs/", headers: t.bearer(t.soloSession), json: #"{"job_type":"x","total_items":1}"#)
            #expect(solo.status == 201)
            #expect(solo["organization_id"] as? String == t.orgA)
            #expect(solo["triggered_by"] as? String == t.soloUser, "defaults to the session's user id")
            var soloB = t.bearer(t.soloSession)
            soloB[org] = t.orgB
            let notMember = try await http.call(.get, "/api/jobs/", headers: soloB)
            #expect(notMember.status == 403)
            // Several memberships: the header is required.
            let multi = try await http.call(.get, "/api/jobs/", headers: t.bearer(t.multiSession))
            #expect(multi.status == 400)
            #expect(multi.detail?.contains("X-Organization-ID") == true)
            var multiA = t.bearer(t.multiSession)
            multiA[org] = t.orgA
            #expect(try await http.call(.get, "/api/jobs/", headers: multiA).status == 200)
            let viewerCreate = try await http.call(
                .post, "/api/jobs/", headers: multiA, json: #"{"job_type":"x","total_items":1}"#)
            #expect(viewerCreate.status == 403)
            #expect(viewerCreate.detail == "Missing required permission: job:create")
            var multiB = t.bearer(t.multiSession)
            multiB[org] = t.orgB
            #expect(
                try await http.call(.post, "/api/jobs/", headers: multiB, json: #"{"job_type":"x","total_items":1}"#)
                    .status == 201)
            // No membership.
            #expect(try await http.call(.get, "/api/jobs/", headers: t.bearer(t.loneSession)).status == 403)
            var loneA = t.bearer(t.loneSession)
            loneA[org] = t.orgA
            #expect(try await http.call(.get, "/api/jobs/", headers: loneA).status == 403)
        }
    }

    @Test(arguments: Role.allCases)
    func rolePermissionMatrix(role: Role) async throws {
        try await withAPI { (http, t) async throws in
            let headers = t.bearer(t.keyA[role]!)
            let job = try await http.createJob(t.editorA)
            let canWrite = role != .viewer
            let read = try await http.call(.get, "/api/jobs/\(job)", headers: headers)
            #expect(read.status == 200)
            #expect(try await http.call(.get, "/api/jobs/\(job)/status", headers: headers).status == 200)
            #expect(try await http.call(.get, "/api/jobs/\(job)/errors", headers: headers).status == 200)
            #expect(try await http.call(.get, "/api/jobs/?limit=1", headers: headers).status == 200)
            let create = try await http.call(
                .post, "/api/jobs/", headers: headers, json: #"{"job_type":"x","total_items":1}"#)
            #expect(create.status == (canWrite ? 201 : 403))
            let progress = try await http.progress(headers, job, #"{"processed_items": 1}"#)
            #expect(progress.status == (canWrite ? 200 : 403))
            let cancel = try await http.call(.post, "/api/jobs/\(job)/cancel", headers: headers)
            #expect(cancel.status == (canWrite ? 200 : 403))
            if !canWrite {
                #expect(create.detail == "Missing required permission: job:create")
                #expect(cancel.detail == "Missing required permission: job:cancel")
            }
        }
    }

    @Test func permissionIsCheckedBeforeTheBody() async throws {
        try await withAPI { (http, t) async throws in
            let viewer = t.bearer(t.keyA[.viewer]!)
            let response = try await http.call(.post, "/api/jobs/", headers: viewer, json: "{not json")
            #expect(response.status == 403)
            let unauthenticated = try await http.call(.post, "/api/jobs/", json: "{not json")
            #expect(unauthenticated.status == 401)
        }
    }

    @Test func anotherOrganizationsJobIs404OnEveryRoute() async throws {
        try await withAPI { (http, t) async throws in
            let theirs = try await http.createJob(t.bearer(t.keyB))
            let before = try await http.call(.get, "/api/jobs/\(theirs)", headers: t.bearer(t.keyB))
            let mine = t.bearer(t.keyA[.owner]!)
            let attempts: [(HTTPRequest.Method, String, String?)] = [
                (.get, "", nil), (.get, "/status", nil), (.get, "/errors", nil), (.get, "/warnings", nil),
                (.post, "/progress", #"{"processed_items": 5, "mark_completed": true}"#), (.post, "/cancel", nil),
                (.post, "/progress", "{}"),
            ]
            for (method, suffix, body) in attempts {
                let response = try await http.call(method, "/api/jobs/\(theirs)\(suffix)", headers: mine, json: body)
                #expect(response.status == 404, "\(method) \(suffix): \(response.text)")
            }
            let list = try await http.call(.get, "/api/jobs/?limit=200", headers: mine)
            let ids = ((list["items"] as? [[String: Any]]) ?? []).compactMap { $0["job_id"] as? String }
            #expect(!ids.contains(theirs))
            let after = try await http.call(.get, "/api/jobs/\(theirs)", headers: t.bearer(t.keyB))
            #expect(
                after.text
                    == before.text.replacingOccurrences(
                        of: "\"duration_seconds\":null", with: "\"duration_seconds\":null"))
            #expect(after["status"] as? String == "pending")
            #expect(int(after["processed_items"]) == 0)
        }
    }

    @Test func revokedKeyStopsWorkingWithinTheCacheTTL() async throws {
        try await withAPI(authCacheTTL: .seconds(1)) { http, t in
            let owner = try TestDatabase.ownerClient(maxConnections: 1)
            let admin = AdminService(database: Database(client: owner))
            let token = try await admin.createAPIKey(organization: t.orgA, name: "short-lived", role: .editor)
            #expect(try await http.call(.get, "/api/jobs/", headers: t.bearer(token)).status == 200)
            #expect(try await admin.revokeAPIKey(token: token))
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await http.call(.get, "/api/jobs/", headers: t.bearer(token)).status == 401)
            await owner.shutdown()
        }
    }
}
