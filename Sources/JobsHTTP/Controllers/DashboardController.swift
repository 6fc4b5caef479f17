import Foundation
import HTTPTypes
import Hummingbird
import JobsDomain
import NIOCore

/// The web dashboard: static HTML, CSS and JavaScript from `Resources/dashboard` (no build step),
/// served outside `/api` without authentication — the pages hold no data; the script reads it
/// from `/api` with the browser's `stytch_session` cookie.
///
/// - `GET /` → `303` to `/dashboard`.
/// - `GET /dashboard`, `GET /dashboard/jobs/{job_id}` → `index.html` (the script routes on the
///   path); `GET /dashboard/app.js`, `GET /dashboard/app.css` → the assets.
/// - `GET /dashboard/sign-in` → a form for local sessions (`jobs-api session create`);
///   `POST /dashboard/sign-in` sets the `stytch_session` cookie; `POST /dashboard/sign-out`
///   clears it. In production Stytch's login page sets the cookie instead.
///
/// Every page carries a strict `Content-Security-Policy` (no inline script or style), `nosniff`
/// and `Cache-Control: no-cache`. These routes are not in the OpenAPI document (it describes the
/// API only), so they are not in `Routes.operations` either.
struct DashboardController: Sendable {
    /// How long a sign-in form body may take to arrive.
    var requestTimeout: Duration = .seconds(10)

    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        + "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    static let maxFormBytes = 4096
    static let maxTokenLength = 512

    var routes: [Route] {
        [
            Route(method: .get, path: "/") { _, _ in
                Self.redirect(to: "/dashboard")
            },
            Route(method: .get, path: "/dashboard") { _, _ in try Self.asset("index.html") },
            Route(method: .get, path: "/dashboard/jobs/{job_id}") { _, _ in try Self.asset("index.html") },
            Route(method: .get, path: "/dashboard/app.js") { _, _ in try Self.asset("app.js") },
            Route(method: .get, path: "/dashboard/app.css") { _, _ in try Self.asset("app.css") },
            Route(method: .get, path: "/dashboard/sign-in") { _, _ in try Self.signInPage(status: .ok, error: nil) },
            Route(method: .post, path: "/dashboard/sign-in") { request, _ in
                try await signIn(request)
            },
            Route(method: .post, path: "/dashboard/sign-out") { request, _ in
                try Self.signOut(request)
            },
        ]
    }

    // MARK: Sign-in and sign-out

    /// Checks, in order: cross-site (`403`), form content type (`415`), body size and the token
    /// (`400`). The token goes only into the `Set-Cookie` header: never into a log or a page.
    func signIn(_ request: Request) async throws -> Response {
        if Self.isCrossSite(request) {
            return try Self.signInPage(
                status: .forbidden, error: "Cross-site sign-in refused: use the form on this page.")
        }
        guard Self.isForm(request.headers[.contentType]) else {
            return try Self.signInPage(
                status: .unsupportedMediaType, error: "Send the form as application/x-www-form-urlencoded.")
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Self.maxFormBytes {
            return try Self.signInPage(status: .badRequest, error: "The form is too large (at most 4 KB).")
        }
        guard let body = try await collect(request.body) else {
            return try Self.signInPage(status: .badRequest, error: "The form is too large (at most 4 KB).")
        }
        guard let token = Self.token(fromForm: body) else {
            return try Self.signInPage(
                status: .badRequest,
                error:
                    "That is not a session token: paste the token printed by jobs-api session create (1–512 characters: letters, digits, _ . -)."
            )
        }
        var cookie = "stytch_session=\(token); Path=/; HttpOnly; SameSite=Lax"
        if Self.isHTTPS(request) { cookie += "; Secure" }
        var response = Self.redirect(to: "/dashboard")
        response.headers.append(HTTPField(name: .setCookie, value: cookie))
        return response
    }

    static func signOut(_ request: Request) throws -> Response {
        if isCrossSite(request) {
            return try signInPage(status: .forbidden, error: "Cross-site sign-out refused.")
        }
        let secure = isHTTPS(request) ? "; Secure" : ""
        var response = redirect(to: "/dashboard/sign-in")
        for name in ["stytch_session", "stytch_session_jwt"] {
            response.headers.append(
                HTTPField(name: .setCookie, value: "\(name)=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax\(secure)"))
        }
        return response
    }

    /// `Sec-Fetch-Site` other than `same-origin` / `none`, or (without it) an `Origin` of another
    /// site: the same rule as cookie-authenticated API writes (login CSRF).
    static func isCrossSite(_ request: Request) -> Bool {
        CrossSiteGuard().isCrossSite(
            method: request.method, authority: request.head.authority, headers: request.headers)
    }

    static func isHTTPS(_ request: Request) -> Bool {
        request.headers[.xForwardedProto]?.split(separator: ",").first.map {
            $0.trimmingHTTPWhitespace.lowercased() == "https"
        } ?? false
    }

    static func isForm(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingHTTPWhitespace } ?? ""
        return mediaType.lowercased() == "application/x-www-form-urlencoded"
    }

    /// The body, or nil past 4 KB; `408` when it has not arrived within `requestTimeout`.
    func collect(_ body: RequestBody) async throws -> ByteBuffer? {
        let timeout = requestTimeout
        return try await withThrowingTaskGroup(of: ByteBuffer??.self) { group in
            group.addTask {
                do {
                    return .some(try await body.collect(upTo: Self.maxFormBytes))
                } catch is NIOTooManyBytesError {
                    return .some(nil)
                }
            }
            group.addTask {
                await RequestTimer.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else { throw APIError.requestTimeout }
            return result
        }
    }

    /// The one `token` field of a urlencoded form, when it is 1–512 characters of
    /// `[A-Za-z0-9_.-]`; nil otherwise (missing, repeated, malformed).
    static func token(fromForm body: ByteBuffer) -> String? {
        let text = String(buffer: body)
        var found: [String] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = formDecode(parts[0]) else { return nil }
            guard name == "token" else { continue }
            guard parts.count == 2, let value = formDecode(parts[1]) else { return nil }
            found.append(value.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard found.count == 1, let token = found.first, isToken(token) else { return nil }
        return token
    }

    static func isToken(_ token: String) -> Bool {
        guard (1...maxTokenLength).contains(token.utf8.count) else { return false }
        return token.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2E || byte == 0x2D
        }
    }

    static func formDecode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    // MARK: Responses

    static func redirect(to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    static func asset(_ name: String) throws -> Response {
        guard let buffer = DashboardAssets.files[name] else {
            throw APIError.notFound("The dashboard is not installed with this binary")
        }
        return Response(
            status: .ok, headers: headers(contentType: DashboardAssets.contentType(name)),
            body: .init(byteBuffer: buffer))
    }

    /// The sign-in page; `error` (a fixed sentence, never input) goes where the template says.
    static func signInPage(status: HTTPResponse.Status, error: String?) throws -> Response {
        guard let template = DashboardAssets.files["sign-in.html"] else {
            throw APIError.notFound("The dashboard is not installed with this binary")
        }
        var html = String(buffer: template)
        let message = error.map {
            "<p class=\"alert\" role=\"alert\" data-testid=\"sign-in-error\">\(escapeHTML($0))</p>"
        }
        html = html.replacingOccurrences(of: "<!--ERROR-->", with: message ?? "")
        var headers = headers(contentType: "text/html; charset=utf-8")
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func headers(contentType: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-cache"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        if contentType.hasPrefix("text/html") {
            headers[.contentSecurityPolicy] = contentSecurityPolicy
            headers[.xFrameOptions] = "DENY"
        }
        return headers
    }

    static func escapeHTML(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// The dashboard's files, read once. Found like `OpenAPIDocument`: in the resource bundle beside
/// the executable (`jobs-api_JobsHTTP.resources/dashboard/`), else in the source tree (tests).
enum DashboardAssets {
    static let names = ["index.html", "app.js", "app.css", "sign-in.html"]

    static var directories: [URL] {
        var urls: [URL] = []
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            urls.append(executable.deletingLastPathComponent().appendingPathComponent(OpenAPIDocument.bundleName))
        }
        urls.append(Bundle.main.bundleURL.appendingPathComponent(OpenAPIDocument.bundleName))
        urls = urls.map { $0.appendingPathComponent("dashboard") }
        urls.append(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Resources/dashboard"))
        return urls
    }

    /// Name → bytes, from the first folder that holds `index.html`; empty when none does.
    static let files: [String: ByteBuffer] = {
        for directory in directories {
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("index.html").path) else {
                continue
            }
            var files: [String: ByteBuffer] = [:]
            for name in names {
                if let data = try? Data(contentsOf: directory.appendingPathComponent(name)) {
                    files[name] = ByteBuffer(bytes: data)
                }
            }
            return files
        }
        return [:]
    }()

    static func contentType(_ name: String) -> String {
        if name.hasSuffix(".html") { return "text/html; charset=utf-8" }
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        return "application/octet-stream"
    }
}

extension HTTPField.Name {
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}
