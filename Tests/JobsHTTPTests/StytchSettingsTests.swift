import Foundation
import JobsDomain
import Testing

@testable import JobsHTTP

/// The `STYTCH_*` settings, the role mapping and the circuit breaker, without a network.
@Suite("Stytch settings")
struct StytchSettingsTests {
    @Test func stytchIsOffUntilProjectAndSecretAreBothSet() throws {
        #expect(try AppConfiguration.fromEnvironment([:]).stytch == nil)
        for partial in [["STYTCH_PROJECT_ID": "project-test-1"], ["STYTCH_SECRET": "secret-test-1"]] {
            let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(partial) }
            #expect(error?.message.contains("STYTCH_PROJECT_ID and STYTCH_SECRET") == true)
        }
        let test = try #require(
            try AppConfiguration.fromEnvironment(["STYTCH_PROJECT_ID": "project-test-1", "STYTCH_SECRET": "s3cret"])
                .stytch)
        #expect(test.baseURL.absoluteString == "https://test.stytch.com")
        #expect(test.issuer == "stytch.com/project-test-1")
        #expect(test.jwtMaxAge == .seconds(30))
        #expect(test.timeout == .seconds(2))
        let live = try #require(
            try AppConfiguration.fromEnvironment(["STYTCH_PROJECT_ID": "project-live-9", "STYTCH_SECRET": "s"]).stytch)
        #expect(live.baseURL.absoluteString == "https://api.stytch.com")
    }

    @Test func theSecretIsNeverShown() throws {
        let config = try AppConfiguration.fromEnvironment([
            "STYTCH_PROJECT_ID": "project-test-1", "STYTCH_SECRET": "secret-test-do-not-print",
        ])
        let summary = config.summary.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        #expect(summary.contains("STYTCH_PROJECT_ID=project-test-1"))
        #expect(summary.contains("STYTCH_SECRET=********"))
        #expect(!summary.contains("secret-test-do-not-print"))
    }

    @Test(arguments: [
        ("https://stytch.internal.example.com", true), ("http://127.0.0.1:8123", true), ("http://localhost:9", true),
        ("http://[::1]:9", true), ("http://stytch.example.com", false), ("ftp://127.0.0.1", false),
        ("not a url", false), ("https://", false), ("https://a.example.com?x=1", false),
    ])
    func baseURLIsHTTPSOrLoopback(text: String, accepted: Bool) {
        let environment = ["STYTCH_PROJECT_ID": "project-test-1", "STYTCH_SECRET": "s", "STYTCH_BASE_URL": text]
        if accepted {
            #expect(throws: Never.self) { try AppConfiguration.fromEnvironment(environment) }
        } else {
            let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(environment) }
            #expect(error?.message.contains("STYTCH_BASE_URL") == true)
        }
    }

    @Test func theHighestMappedRoleWins() throws {
        let settings = StytchSettings(projectID: "project-test-1", secret: "s")
        #expect(settings.role(forStytchRoles: ["stytch_member"]) == .viewer)
        #expect(settings.role(forStytchRoles: ["stytch_member", "jobs_editor"]) == .editor)
        #expect(settings.role(forStytchRoles: ["jobs_owner", "stytch_admin", "stytch_member"]) == .owner)
        #expect(settings.role(forStytchRoles: ["stytch_admin", "jobs_viewer"]) == .admin)
        #expect(settings.role(forStytchRoles: ["billing_admin"]) == nil)
        #expect(settings.role(forStytchRoles: []) == nil)
    }

    @Test func roleMapSettingReplacesTheDefault() throws {
        let config = try AppConfiguration.fromEnvironment([
            "STYTCH_PROJECT_ID": "project-test-1", "STYTCH_SECRET": "s",
            "STYTCH_ROLE_MAP": " ops = editor ,auditor=viewer",
        ])
        let settings = try #require(config.stytch)
        #expect(settings.roleMap.grants == ["ops": .editor, "auditor": .viewer])
        #expect(settings.role(forStytchRoles: ["stytch_admin", "auditor"]) == .viewer)
        #expect(settings.roleMap.description == "auditor=viewer,ops=editor")
        for bad in ["ops", "ops=superuser", "=viewer", ","] {
            let error = #expect(throws: ConfigurationError.self) {
                try AppConfiguration.fromEnvironment([
                    "STYTCH_PROJECT_ID": "p", "STYTCH_SECRET": "s", "STYTCH_ROLE_MAP": bad,
                ])
            }
            #expect(error?.message.contains("STYTCH_ROLE_MAP") == true, "\(bad)")
        }
    }

    @Test func maxAgeAndTimeoutAreBounded() {
        for (name, value) in [
            ("STYTCH_JWT_MAX_AGE_SECONDS", "301"), ("STYTCH_JWT_MAX_AGE_SECONDS", "-1"), ("STYTCH_TIMEOUT_MS", "50"),
        ] {
            let error = #expect(throws: ConfigurationError.self) {
                try AppConfiguration.fromEnvironment(["STYTCH_PROJECT_ID": "p", "STYTCH_SECRET": "s", name: value])
            }
            #expect(error?.message.contains(name) == true)
        }
    }

    @Test func breakerOpensAfterFailuresInARowAndProbesOnce() {
        let breaker = CircuitBreaker(threshold: 3, openFor: .seconds(5))
        let start = ContinuousClock.now
        #expect(breaker.refusal(now: start) == nil)
        breaker.failed(now: start)
        breaker.failed(now: start)
        breaker.succeeded()
        breaker.failed(now: start)
        breaker.failed(now: start)
        #expect(breaker.refusal(now: start) == nil, "a success in between resets the count")
        breaker.failed(now: start)
        #expect(breaker.refusal(now: start + .seconds(1)) == .seconds(4))
        // After the open period one probe goes through; the others keep waiting.
        #expect(breaker.refusal(now: start + .seconds(6)) == nil)
        #expect(breaker.refusal(now: start + .seconds(6)) != nil)
        breaker.failed(now: start + .seconds(6))
        #expect(breaker.refusal(now: start + .seconds(7)) == .seconds(4), "a failed probe re-opens it")
        #expect(breaker.refusal(now: start + .seconds(12)) == nil)
        breaker.succeeded()
        #expect(breaker.refusal(now: start + .seconds(12)) == nil)
        #expect(!breaker.isOpen)
    }

    @Test func jwtShapeAndHeader() {
        #expect(StytchKeySet.looksLikeJWT("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"))
        #expect(!StytchKeySet.looksLikeJWT("jas_abc"))
        #expect(!StytchKeySet.looksLikeJWT("eyJ.only-one-dot"))
        let header = StytchKeySet.header(of: "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln")
        #expect(header?.alg == "RS256")
        #expect(header?.kid == "k1")
        #expect(StytchKeySet.header(of: "%%%.e30.c2ln") == nil)
        #expect(StytchKeySet.header(of: "e30") == nil)
    }
}
