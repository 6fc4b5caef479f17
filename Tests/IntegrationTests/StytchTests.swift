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

/// People signed in through Stytch B2B, against a faithful local Stytch (`FakeStytch`, a real
/// HTTP server with real RS256 keys), the real server and PostgreSQL.
@Suite("Stytch sessions")
struct StytchTests {
    /// Two organizations of ours linked to two Stytch organizations, and a third Stytch
    /// organization linked to nothing.
    struct Linked: Sendable {
        let orgA: String
        let orgB: String
        let stytchA: String
        let stytchB: String
        let stytchUnlinked: String
        let keyB: String

        static func make() async throws -> Linked {
            try await TestDatabase.migrated()
            let owner = try TestDatabase.ownerClient(maxConnections: 1)
            let admin = AdminService(database: Database(client: owner))
            let linked = Linked(
                orgA: TestDatabase.uniqueID("org_sa"), orgB: TestDatabase.uniqueID("org_sb"),
                stytchA: "organization-test-" + UUID().uuidString.lowercased(),
                stytchB: "organization-test-" + UUID().uuidString.lowercased(),
                stytchUnlinked: "organization-test-" + UUID().uuidString.lowercased(),
                keyB: "")
            try await admin.createOrganization(linked.orgA, name: "Stytch A")
            try await admin.createOrganization(linked.orgB, name: "Stytch B")
            try await admin.linkStytchOrganization(linked.orgA, stytchOrganizationID: linked.stytchA)
            try await admin.linkStytchOrganization(linked.orgB, stytchOrganizationID: linked.stytchB)
            let key = try await admin.createAPIKey(organization: linked.orgB, name: "b", role: .editor)
            await owner.shutdown()
            return Linked(
                orgA: linked.orgA, orgB: linked.orgB, stytchA: linked.stytchA, stytchB: linked.stytchB,
                stytchUnlinked: linked.stytchUnlinked, keyB: key)
        }

        func member(_ stytchOrganization: String, _ roles: [String]) -> FakeStytch.Member {
            FakeStytch.Member(organizationID: stytchOrganization, roles: roles)
        }
    }

    static func cookies(session: String? = nil, jwt: String? = nil) -> HTTPFields {
        var parts: [String] = []
        if let session { parts.append("stytch_session=\(session)") }
        if let jwt { parts.append("stytch_session_jwt=\(jwt)") }
        return [.cookie: parts.joined(separator: "; ")]
    }

    /// The real server over the test database, with Stytch pointing at `fake`.
    func withStytchAPI(
        _ fake: FakeStytch, authCacheTTL: Duration = .seconds(10), jwtMaxAge: Duration = .seconds(30),
        timeout: Duration = .seconds(2), breaker: StytchSessions.CircuitBreakerSettings = .init(),
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withAPI(
            authCacheTTL: authCacheTTL,
            configure: { config in
                config.stytchProjectID = fake.projectID
                config.stytchSecret = fake.secret
                config.stytchBaseURL = URL(string: fake.baseURL)
                config.stytchJWTMaxAge = jwtMaxAge
                config.stytchTimeout = timeout
                config.stytchBreaker = breaker
            }
        ) { (http, _) async throws in try await body(http) }
    }

    @Test func organizationsAreLinkedFromTheCommandLineAndReadOnlyThroughTheAuthFunction() async throws {
        try await TestDatabase.migrated()
        let org = TestDatabase.uniqueID("org_link")
        let other = TestDatabase.uniqueID("org_link2")
        let stytch = "organization-test-" + UUID().uuidString.lowercased()
        let created = try await runJobsAPI(["org", "create", org, "--stytch-organization-id", stytch])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stderr.contains("linked organization \(org) to Stytch organization \(stytch)"))
        #expect(try await runJobsAPI(["org", "create", other]).status == 0)
        let taken = try await runJobsAPI(["org", "link", other, stytch])
        #expect(taken.status != 0)
        #expect(taken.stderr.contains("already linked to organization \(org)"), "\(taken.stderr)")
        let missing = try await runJobsAPI(["org", "link", TestDatabase.uniqueID("nope"), "organization-test-x"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("does not exist"), "\(missing.stderr)")
        let bad = try await runJobsAPI(["org", "link", other, "has space"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("Stytch organization id"))
        // Relinking the same pair is idempotent.
        #expect(try await runJobsAPI(["org", "link", org, stytch]).status == 0)

        let app = try await TestDatabase.appClient(maxConnections: 1)
        let found = try await app.query("SELECT auth_stytch_organization(\(stytch)) AS o").first
        #expect(try found?.decode("o", as: String?.self) == org)
        let none = try await app.query("SELECT auth_stytch_organization('organization-test-none') AS o").first
        #expect(try none?.decode("o", as: String?.self) == nil)
        // The runtime role still cannot read the organizations table itself.
        let denied = await #expect(throws: PGError.self) {
            try await app.query("SELECT organization_id FROM organizations WHERE stytch_organization_id = \(stytch)")
        }
        #expect(denied?.sqlState == .insufficientPrivilege)
        await app.shutdown()
    }

    @Test func aPersonSignedInThroughStytchActsInTheLinkedOrganization() async throws {
        let linked = try await Linked.make()
        try await FakeStytch.with { fake in
            let editor = try await fake.createSession(
                for: linked.member(linked.stytchA, ["stytch_member", "jobs_editor"]))
            let viewer = try await fake.createSession(for: linked.member(linked.stytchA, ["stytch_member"]))
            let unlinked = try await fake.createSession(for: linked.member(linked.stytchUnlinked, ["stytch_admin"]))
            let unmapped = try await fake.createSession(for: linked.member(linked.stytchA, ["billing_admin"]))
            try await withStytchAPI(fake) { http in
                // The opaque cookie: create, and triggered_by defaults to the member.
                let created = try await http.call(
                    .post, "/api/jobs/", headers: Self.cookies(session: editor.sessionToken),
                    json: #"{"job_type": "stytch-import", "total_items": 2}"#)
                #expect(created.status == 201, "\(created.text)")
                #expect(created["triggered_by"] as? String == editor.member.memberID)
                let id = try #require(created["job_id"] as? String)
                // The JWT cookie alone, as the browser's SDK sends it; both cookies together.
                let read = try await http.call(.get, "/api/jobs/\(id)", headers: Self.cookies(jwt: editor.sessionJWT))
                #expect(read.status == 200)
                let both = Self.cookies(session: editor.sessionToken, jwt: editor.sessionJWT)
                #expect(try await http.call(.get, "/api/jobs/\(id)/status", headers: both).status == 200)
                // The viewer reads and may not write; the permission check is the usual one.
                #expect(
                    try await http.call(.get, "/api/jobs/\(id)", headers: Self.cookies(jwt: viewer.sessionJWT)).status
                        == 200)
                let refused = try await http.call(
                    .post, "/api/jobs/\(id)/cancel", headers: Self.cookies(jwt: viewer.sessionJWT))
                #expect(refused.status == 403)
                #expect(refused.detail == "Missing required permission: job:cancel")
                // X-Organization-ID: its own organization is fine, another is 403.
                var own = Self.cookies(session: editor.sessionToken)
                own[.organizationID] = linked.orgA
                #expect(try await http.call(.get, "/api/jobs/", headers: own).status == 200)
                var foreign = Self.cookies(session: editor.sessionToken)
                foreign[.organizationID] = linked.orgB
                #expect(try await http.call(.get, "/api/jobs/", headers: foreign).status == 403)
                // An unlinked Stytch organization, and roles that map to nothing: 403 with a sentence.
                let lost = try await http.call(
                    .get, "/api/jobs/", headers: Self.cookies(session: unlinked.sessionToken))
                #expect(lost.status == 403)
                #expect(lost.detail?.contains("is not linked to an organization of this service") == true)
                #expect(lost.detail?.contains(linked.stytchUnlinked) == true)
                let roleless = try await http.call(.get, "/api/jobs/", headers: Self.cookies(jwt: unmapped.sessionJWT))
                #expect(roleless.status == 403)
                #expect(roleless.detail == "None of your Stytch roles gives access to this service")
                // The Authorization header wins over the cookies: org B's key sees org B.
                var header = Self.cookies(session: editor.sessionToken, jwt: editor.sessionJWT)
                header[.authorization] = "Bearer \(linked.keyB)"
                #expect(try await http.call(.get, "/api/jobs/\(id)", headers: header).status == 404)
                // A bearer Stytch JWT works like the cookie.
                #expect(
                    try await http.call(
                        .get, "/api/jobs/\(id)", headers: [.authorization: "Bearer \(editor.sessionJWT)"]
                    )
                    .status == 200)
                // A garbage bearer token and cookie: 401.
                #expect(try await http.call(.get, "/api/jobs/", headers: Self.cookies(session: "nope")).status == 401)
                #expect(try await http.call(.get, "/api/jobs/", headers: Self.cookies(jwt: "eyJ.x.y")).status == 401)
            }
            #expect(fake.rejectedAuthCalls == 0, "the project's basic auth was right on every call")
            #expect(fake.lastDurationMinutes == nil, "checking a session never extends it")
        }
    }

    @Test func expiredTamperedAndForeignJWTs() async throws {
        let linked = try await Linked.make()
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: linked.member(linked.stytchA, ["jobs_editor"]))
            try await withStytchAPI(fake) { http in
                let get = { @Sendable (jwt: String) async throws -> Int in
                    try await http.call(.get, "/api/jobs/", headers: Self.cookies(jwt: jwt)).status
                }
                #expect(try await get(session.sessionJWT) == 200)
                let localCalls = fake.authenticateCalls
                #expect(localCalls == 0, "a fresh JWT is verified locally")
                // Expired (or older than the max age) but its session lives: Stytch confirms it.
                let expired = try await fake.mintJWT(
                    for: session.sessionToken, issuedAt: Date().addingTimeInterval(-600), lifetime: 300)
                #expect(try await get(expired) == 200)
                #expect(fake.authenticateCalls == 1)
                let old = try await fake.mintJWT(for: session.sessionToken, issuedAt: Date().addingTimeInterval(-120))
                #expect(try await get(old) == 200)
                #expect(fake.authenticateCalls == 2)
                // Not ours, or not genuine: 401 without asking Stytch.
                let wrongAudience = try await fake.mintJWT(for: session.sessionToken, audience: ["project-test-other"])
                let wrongIssuer = try await fake.mintJWT(
                    for: session.sessionToken, issuer: "stytch.com/project-test-other")
                let forged = try await fake.forgeJWT(for: session.sessionToken)
                var parts = session.sessionJWT.split(separator: ".").map(String.init)
                let payload = try #require(Base64URL.decode(parts[1]))
                let text = try #require(String(data: Data(payload), encoding: .utf8))
                parts[1] = Base64URL.encode(
                    Array(text.replacingOccurrences(of: "jobs_editor", with: "jobs_owner").utf8))
                let tampered = parts.joined(separator: ".")
                let future = try await fake.mintJWT(
                    for: session.sessionToken, issuedAt: Date().addingTimeInterval(3600))
                for jwt in [wrongAudience, wrongIssuer, forged, tampered, future, "eyJhbGciOiJub25lIn0.e30."] {
                    #expect(try await get(jwt) == 401)
                }
                #expect(fake.authenticateCalls == 2, "none of those reached Stytch")
                // The session itself expires: an old JWT needs Stytch, which says no. (The answer
                // for `expired` itself is cached up to AUTH_CACHE_TTL_SECONDS.)
                fake.expire(sessionToken: session.sessionToken)
                let older = try await fake.mintJWT(for: session.sessionToken, issuedAt: Date().addingTimeInterval(-200))
                #expect(try await get(older) == 401)
                #expect(fake.authenticateCalls == 3)
            }
        }
    }

    @Test func anUnknownKeyIsFetchedOnceAndRotationKeepsWorking() async throws {
        let linked = try await Linked.make()
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: linked.member(linked.stytchA, ["jobs_viewer"]))
            try await withStytchAPI(fake) { http in
                #expect(
                    try await http.call(.get, "/api/jobs/", headers: Self.cookies(jwt: session.sessionJWT)).status
                        == 200)
                #expect(fake.jwksCalls == 1)
                let newKID = try await fake.rotateKeys()
                let rotated = try await fake.mintJWT(for: session.sessionToken)
                #expect(StytchKeySet.header(of: rotated)?.kid == newKID)
                #expect(try await http.call(.get, "/api/jobs/", headers: Self.cookies(jwt: rotated)).status == 200)
                #expect(fake.jwksCalls == 2, "the unknown kid made one refresh")
                #expect(fake.authenticateCalls == 0, "and the new key verified it locally")
                // JWTs of the previous key (still served during the rotation) keep working.
                #expect(
                    try await http.call(.get, "/api/jobs/", headers: Self.cookies(jwt: session.sessionJWT)).status
                        == 200)
                // A made-up kid: one more refresh at most within the refresh interval, then Stytch decides.
                for _ in 0..<3 {
                    let madeUp = try await fake.forgeJWT(for: session.sessionToken, kid: "jwk-test-made-up")
                    #expect(try await http.call(.get, "/api/jobs/", headers: Self.cookies(jwt: madeUp)).status == 401)
                }
                #expect(fake.jwksCalls == 2, "within 30 s of the last refresh an unknown kid fetches nothing")
            }
        }
    }

    @Test func revocationIsHonouredWithinTheCacheBounds() async throws {
        let linked = try await Linked.make()
        try await FakeStytch.with { fake in
            let opaque = try await fake.createSession(for: linked.member(linked.stytchA, ["jobs_editor"]))
            let jwt = try await fake.createSession(for: linked.member(linked.stytchA, ["jobs_editor"]))
            try await withStytchAPI(fake, authCacheTTL: .seconds(1), jwtMaxAge: .seconds(1)) { http in
                let opaqueHeaders = Self.cookies(session: opaque.sessionToken)
                let jwtHeaders = Self.cookies(jwt: jwt.sessionJWT)
                #expect(try await http.call(.get, "/api/jobs/", headers: opaqueHeaders).status == 200)
                #expect(try await http.call(.get, "/api/jobs/", headers: jwtHeaders).status == 200)
                fake.revoke(sessionToken: opaque.sessionToken)
                fake.revoke(sessionToken: jwt.sessionToken)
                try await Task.sleep(for: .milliseconds(2200))
                #expect(try await http.call(.get, "/api/jobs/", headers: opaqueHeaders).status == 401)
                #expect(try await http.call(.get, "/api/jobs/", headers: jwtHeaders).status == 401)
            }
        }
    }

    @Test func concurrentRequestsWithOneUncachedTokenMakeOneCall() async throws {
        let linked = try await Linked.make()
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: linked.member(linked.stytchA, ["jobs_viewer"]))
            try await withStytchAPI(fake) { http in
                fake.setFault(.delay(.milliseconds(300)), count: 1)
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            try await http.call(
                                .get, "/api/jobs/", headers: Self.cookies(session: session.sessionToken)
                            ).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses == Array(repeating: 200, count: 20))
                #expect(fake.authenticateCalls == 1)
            }
        }
    }

    @Test func stytchDownSlowOrRateLimitingIsA503AndNeverAnonymous() async throws {
        let linked = try await Linked.make()
        try await FakeStytch.with { fake in
            let breaker = StytchSessions.CircuitBreakerSettings(threshold: 5, openFor: .seconds(1))
            try await withStytchAPI(fake, authCacheTTL: .zero, timeout: .milliseconds(500), breaker: breaker) { http in
                let session = try await fake.createSession(for: linked.member(linked.stytchA, ["jobs_editor"]))
                let headers = Self.cookies(session: session.sessionToken)
                func expect503(_ label: String) async throws {
                    let r = try await http.call(.get, "/api/jobs/", headers: headers)
                    #expect(r.status == 503, "\(label)")
                    #expect(r.headers[.retryAfter].flatMap { Int($0) }.map { $0 >= 1 } == true, "\(label)")
                    #expect(r["code"] as? String == "identity_provider_unavailable", "\(label)")
                }
                fake.setFault(.status(500), count: 1)
                try await expect503("5xx")
                fake.setFault(.status(429), count: 1)
                try await expect503("429")
                fake.setFault(.close, count: 1)
                try await expect503("connection closed without an answer")
                fake.setFault(.delay(.seconds(6)), count: 1)
                let started = ContinuousClock.now
                try await expect503("slow")
                // The 500 ms timeout answered, not Stytch's 6 s (a margin for a loaded machine).
                #expect(ContinuousClock.now - started < .seconds(4))
                #expect(try await http.call(.get, "/api/jobs/", headers: headers).status == 200, "recovered")
                // Five failures in a row open the breaker: the next request does not reach Stytch.
                fake.setFault(.status(503), count: 5)
                for _ in 0..<5 { try await expect503("outage") }
                let calls = fake.authenticateCalls
                try await expect503("breaker open")
                #expect(fake.authenticateCalls == calls, "the open breaker made no call (Stytch would have said 200)")
                // API keys do not depend on Stytch.
                #expect(
                    try await http.call(.get, "/api/jobs/", headers: [.authorization: "Bearer \(linked.keyB)"]).status
                        == 200)
                // After the open period one probe goes through, and Stytch is back.
                try await Task.sleep(for: .milliseconds(1100))
                #expect(try await http.call(.get, "/api/jobs/", headers: headers).status == 200)
                #expect(fake.authenticateCalls == calls + 1)
            }
        }
        // Nothing listening at all.
        let closed = try await FakeStytch.start()
        let session = try await closed.createSession(for: linked.member(linked.stytchA, ["jobs_editor"]))
        await closed.stop()
        try await withStytchAPI(closed, authCacheTTL: .zero) { http in
            let r = try await http.call(.get, "/api/jobs/", headers: Self.cookies(session: session.sessionToken))
            #expect(r.status == 503)
            // The JWT needs the keys, which cannot be fetched: 503 too, never a pass.
            let j = try await http.call(.get, "/api/jobs/", headers: Self.cookies(jwt: session.sessionJWT))
            #expect(j.status == 503)
        }
    }

    @Test func noTokenOrSecretReachesTheLogs() async throws {
        let linked = try await Linked.make()
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: linked.member(linked.stytchA, ["jobs_editor"]))
            let environment = [
                "STYTCH_PROJECT_ID": fake.projectID, "STYTCH_SECRET": fake.secret, "STYTCH_BASE_URL": fake.baseURL,
                "LOG_LEVEL": "trace", "AUTH_CACHE_TTL_SECONDS": "0",
            ]
            let (_, text) = try await ServeProcess.run(environment: environment) { base, http in
                for cookie in [
                    "stytch_session=\(session.sessionToken)", "stytch_session_jwt=\(session.sessionJWT)",
                    "stytch_session=not-a-session", "stytch_session_jwt=\(session.sessionJWT)x",
                ] {
                    var request = HTTPClientRequest(url: "\(base)/api/jobs/")
                    request.headers.add(name: "Cookie", value: cookie)
                    _ = try await http.execute(request, timeout: .seconds(10))
                }
                fake.setFault(.status(500), count: 1)
                var failing = HTTPClientRequest(url: "\(base)/api/jobs/")
                failing.headers.add(name: "Cookie", value: "stytch_session=\(session.sessionToken)")
                let response = try await http.execute(failing, timeout: .seconds(10))
                #expect(response.status.code == 503)
            }
            #expect(text.contains("Stytch could not confirm a session"), "the failure is logged")
            for secret in [fake.secret, session.sessionToken, session.sessionJWT, fake.authorizationHeader] {
                #expect(!text.contains(secret))
            }
            #expect(!text.contains(String(session.sessionJWT.split(separator: ".")[2])), "not even the signature")
        }
    }
}
