import AsyncHTTPClient
import Foundation
import JWTKit
import JobsDomain
import Logging
import NIOCore
import NIOHTTP1

/// What a confirmed Stytch session says, from a verified JWT or from Stytch's answer.
struct StytchSession: Sendable, Equatable {
    var memberID: String
    var memberSessionID: String
    var stytchOrganizationID: String
    var roles: [String]
    /// When the session ends (nil when Stytch did not say).
    var expiresAt: Date?
}

/// Stytch B2B's session API: `POST /v1/b2b/sessions/authenticate` and
/// `GET /v1/b2b/sessions/jwks/{project_id}`, with the project's basic auth.
///
/// Every call answers within `settings.timeout` or fails as `.unavailable`. The secret is sent
/// only in the `Authorization` header of these calls; it never appears in an error or a log line.
/// Redirects are not followed (they would carry the credentials elsewhere).
struct StytchAPI: Sendable {
    let settings: StytchSettings
    let logger: Logger

    /// One client for the process (connection reuse across requests; a global is never
    /// deinitialised, so it needs no shutdown).
    static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)),
            connectionPool: .init(idleTimeout: .seconds(50))),
        backgroundActivityLogger: Logger(label: "stytch-http", factory: { _ in SwiftLogNoOpLogHandler() }))

    /// The largest answer read from Stytch (a session with many factors is a few KiB).
    static let maxResponseBytes = 1 << 20

    enum Failure: Error, Equatable {
        /// Unknown, expired or revoked session (Stytch `404`), or a token Stytch calls malformed (`400`).
        case notAuthenticated
        /// Unreachable, too slow, rate-limiting (`429`), failing (5xx), refusing our project
        /// credentials, or an answer we cannot read. `reason` is for the log: no token, no secret.
        case unavailable(reason: String)
    }

    /// `POST /v1/b2b/sessions/authenticate` with `{"session_token": …}` or `{"session_jwt": …}`
    /// (never both, and no `session_duration_minutes`: a check must not extend the session).
    func authenticate(sessionToken: String? = nil, sessionJWT: String? = nil) async throws(Failure) -> StytchSession {
        var body: [String: String] = [:]
        if let sessionToken {
            body["session_token"] = sessionToken
        } else if let sessionJWT {
            body["session_jwt"] = sessionJWT
        }
        let json: Data
        do { json = try JSONEncoder().encode(body) } catch {
            throw .unavailable(reason: "could not encode the request")
        }
        let (status, bytes) = try await call(.POST, path: "/v1/b2b/sessions/authenticate", body: json)
        switch status {
        case 200:
            guard let answer = try? JSONDecoder().decode(AuthenticateResponse.self, from: bytes) else {
                throw .unavailable(reason: "unreadable authenticate answer")
            }
            let session = answer.member_session
            return StytchSession(
                memberID: session.member_id, memberSessionID: session.member_session_id,
                stytchOrganizationID: session.organization_id,
                roles: session.roles ?? answer.member?.roles?.map(\.role_id) ?? [],
                expiresAt: session.expires_at.flatMap(Self.parseDate))
        case 404, 400:
            throw .notAuthenticated
        default:
            throw .unavailable(reason: Self.describe(status: status, bytes))
        }
    }

    /// `GET /v1/b2b/sessions/jwks/{project_id}`: the keys session JWTs are signed with.
    func jwks() async throws(Failure) -> JWKS {
        let project = settings.projectID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? ""
        let (status, bytes) = try await call(.GET, path: "/v1/b2b/sessions/jwks/" + project, body: nil)
        guard status == 200 else { throw .unavailable(reason: "JWKS: " + Self.describe(status: status, bytes)) }
        guard let keys = try? JSONDecoder().decode(JWKS.self, from: bytes) else {
            throw .unavailable(reason: "unreadable JWKS answer")
        }
        return keys
    }

    private func call(_ method: HTTPMethod, path: String, body: Data?) async throws(Failure) -> (Int, Data) {
        var request = HTTPClientRequest(url: settings.baseURL.absoluteString + path)
        request.method = method
        let credentials = Data((settings.projectID + ":" + settings.secret).utf8).base64EncodedString()
        request.headers.add(name: "Authorization", value: "Basic " + credentials)
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let deadline = NIODeadline.now() + .nanoseconds(settings.timeout.inNanoseconds)
        do {
            let response = try await Self.client.execute(request, deadline: deadline)
            let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            return (Int(response.status.code), Data(buffer.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw .unavailable(reason: "no answer within \(settings.timeout)")
        } catch {
            // Connection refused, reset, TLS, an answer past the size limit: the error's type
            // names the kind (its text names the host at most).
            throw .unavailable(reason: "request failed: \(type(of: error)) \(error)")
        }
    }

    /// `429 too_many_requests (request-id-…)`: Stytch's error body, never the request.
    static func describe(status: Int, _ bytes: Data) -> String {
        let error = try? JSONDecoder().decode(ErrorResponse.self, from: bytes)
        var text = "HTTP \(status)"
        if let type = error?.error_type { text += " " + type }
        if let id = error?.request_id { text += " (\(id))" }
        return text
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    // Stytch's JSON, as far as we read it (snake_case field names).
    // swift-format-ignore: AlwaysUseLowerCamelCase
    private struct AuthenticateResponse: Decodable {
        struct MemberSession: Decodable {
            var member_session_id: String
            var member_id: String
            var organization_id: String
            var expires_at: String?
            var roles: [String]?
        }
        struct Member: Decodable {
            struct MemberRole: Decodable { var role_id: String }
            var roles: [MemberRole]?
        }
        var member_session: MemberSession
        var member: Member?
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    private struct ErrorResponse: Decodable {
        var error_type: String?
        var request_id: String?
    }
}
