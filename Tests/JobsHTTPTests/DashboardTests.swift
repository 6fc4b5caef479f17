import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobsDomain
import JobsStore
import Logging
import NIOCore
import Testing

@testable import JobsHTTP

/// The dashboard's pages and its sign-in form, through the router on `MemoryStore`.
@Suite struct DashboardTests {
    static let csp =
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

    func withRouter(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let store = MemoryStore()
        store.addSession(
            "jas_dashboardtoken", userID: "user_d", memberships: [.init(organizationID: "org_d", role: .viewer)])
        var config = AppConfiguration()
        config.authCacheTTL = .zero
        let app = buildApplication(
            configuration: config, backend: .memory(store), expectedMigration: 1, logger: Logger(label: "test"))
        try await app.test(.router) { client in try await body(client) }
    }

    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    @Test func rootRedirectsToTheDashboard() async throws {
        try await withRouter { http in
            try await http.execute(uri: "/", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/dashboard")
            }
        }
    }

    @Test func pagesAndAssetsAreServedWithAStrictPolicy() async throws {
        try await withRouter { http in
            for uri in ["/dashboard", "/dashboard/", "/dashboard/jobs/job_123", "/dashboard/sign-in"] {
                try await http.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8", "\(uri)")
                    let policy = response.headers[.contentSecurityPolicy] ?? ""
                    #expect(policy.hasPrefix(Self.csp), "\(uri): \(policy)")
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                    let body = String(buffer: response.body)
                    #expect(body.hasPrefix("<!doctype html>"))
                    // CSP forbids inline code: every script has a src, no style attributes or blocks.
                    #expect(!body.contains("<script>"), "\(uri) has an inline script")
                    #expect(!body.contains("style="), "\(uri) has an inline style")
                    #expect(!body.contains("<style"), "\(uri) has a style block")
                }
            }
            try await http.execute(uri: "/dashboard", method: .get) { response in
                let body = String(buffer: response.body)
                #expect(body.contains("<script src=\"/dashboard/app.js\" defer></script>"))
                #expect(response.headers[.cacheControl] == "no-cache")
            }
            try await http.execute(uri: "/dashboard/app.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(response.headers[.cacheControl] == "no-cache")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                let body = String(buffer: response.body)
                #expect(body.contains("role") && body.contains("progressbar"))
                #expect(!body.contains(".innerHTML"), "data must go in through textContent")
            }
            try await http.execute(uri: "/dashboard/app.css", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
                #expect(String(buffer: response.body).contains("tabular-nums"))
            }
            try await http.execute(uri: "/dashboard/nothing.js", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func signInSetsTheSessionCookieAndTheAPIAcceptsIt() async throws {
        try await withRouter { http in
            var cookie = ""
            try await http.execute(
                uri: "/dashboard/sign-in", method: .post, headers: Self.form.merging([.secFetchSite: "same-origin"]),
                body: ByteBuffer(string: "token=jas_dashboardtoken")
            ) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/dashboard")
                let setCookie = response.headers[values: .setCookie]
                #expect(setCookie == ["stytch_session=jas_dashboardtoken; Path=/; HttpOnly; SameSite=Lax"])
                #expect(String(buffer: response.body).isEmpty)
                cookie = setCookie.first.map { String($0.split(separator: ";")[0]) } ?? ""
            }
            try await http.execute(uri: "/api/jobs/", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok)
            }
            // Behind a TLS proxy the cookie is Secure.
            try await http.execute(
                uri: "/dashboard/sign-in", method: .post,
                headers: Self.form.merging([.xForwardedProto: "https", .secFetchSite: "none"]),
                body: ByteBuffer(string: "other=1&token=jas_dashboardtoken")
            ) { response in
                #expect(response.status == .seeOther)
                #expect(
                    response.headers[.setCookie]
                        == "stytch_session=jas_dashboardtoken; Path=/; HttpOnly; SameSite=Lax; Secure")
            }
        }
    }

    @Test func aBadTokenIsA400PageThatDoesNotEchoIt() async throws {
        let bad = [
            "", "token=", "token=has%20space", "token=%3Cscript%3E", "token=a&token=b", "nothing=here",
            "token=" + String(repeating: "a", count: 513), "token=%ZZ",
        ]
        try await withRouter { http in
            for body in bad {
                try await http.execute(
                    uri: "/dashboard/sign-in", method: .post, headers: Self.form, body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .badRequest, "\(body)")
                    #expect(response.headers[.setCookie] == nil)
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    let page = String(buffer: response.body)
                    #expect(page.contains("data-testid=\"sign-in-error\""), "\(body)")
                    #expect(!page.contains("<script"), "\(body)")
                    #expect(!page.contains("has space") && !page.contains("has%20space"))
                }
            }
            // Over 4 KB.
            try await http.execute(
                uri: "/dashboard/sign-in", method: .post, headers: Self.form,
                body: ByteBuffer(string: "token=abc&pad=" + String(repeating: "x", count: 5000))
            ) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.setCookie] == nil)
            }
            // Not a form.
            try await http.execute(
                uri: "/dashboard/sign-in", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"token":"jas_dashboardtoken"}"#)
            ) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(response.headers[.setCookie] == nil)
            }
        }
    }

    @Test func crossSiteSignInIsRefused() async throws {
        let crossSite: [HTTPFields] = [
            [.secFetchSite: "cross-site"], [.secFetchSite: "same-site"], [.origin: "https://evil.example"],
            [.origin: "null"],
        ]
        try await withRouter { http in
            for extra in crossSite {
                try await http.execute(
                    uri: "/dashboard/sign-in", method: .post, headers: Self.form.merging(extra),
                    body: ByteBuffer(string: "token=jas_dashboardtoken")
                ) { response in
                    #expect(response.status == .forbidden, "\(extra)")
                    #expect(response.headers[.setCookie] == nil)
                    #expect(!String(buffer: response.body).contains("jas_dashboardtoken"))
                }
            }
            try await http.execute(
                uri: "/dashboard/sign-out", method: .post, headers: [.secFetchSite: "cross-site"]
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.setCookie] == nil)
            }
        }
    }

    @Test func signOutClearsBothCookies() async throws {
        try await withRouter { http in
            try await http.execute(
                uri: "/dashboard/sign-out", method: .post,
                headers: [.secFetchSite: "same-origin", .cookie: "stytch_session=jas_dashboardtoken"]
            ) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/dashboard/sign-in")
                let cookies = response.headers[values: .setCookie]
                #expect(cookies.count == 2)
                #expect(cookies.contains { $0.hasPrefix("stytch_session=; Path=/; Max-Age=0") })
                #expect(cookies.contains { $0.hasPrefix("stytch_session_jwt=; Path=/; Max-Age=0") })
            }
            try await http.execute(uri: "/dashboard/sign-out", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
            }
        }
    }

    /// SwiftPM copies the files into the bundle beside the binary (what `serve` and the Docker
    /// image use), and they are what the server serves.
    @Test func theAssetsAreInTheBundleBesideTheBinary() throws {
        let bundled = try #require(DashboardAssets.directories.first)
        for name in DashboardAssets.names {
            let url = bundled.appendingPathComponent(name)
            #expect(FileManager.default.fileExists(atPath: url.path), "\(url.path)")
            let served = try #require(DashboardAssets.files[name], "\(name)")
            #expect(try Data(contentsOf: url) == Data(buffer: served), "\(name)")
        }
    }

    /// The dashboard is not part of the API's description: the OpenAPI comparison stays exact.
    @Test func theDashboardIsNotAnAPIRoute() {
        let served = servedRoutes().map(\.path)
        #expect(!served.contains { $0.hasPrefix("/dashboard") || $0 == "/" })
    }
}

extension HTTPFields {
    fileprivate func merging(_ other: HTTPFields) -> HTTPFields {
        var result = self
        for field in other { result.append(field) }
        return result
    }
}
