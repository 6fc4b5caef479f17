public import Foundation
public import JWTKit
import NIOConcurrencyHelpers

/// A fake of Stytch's B2B session API for tests: a real Hummingbird server on 127.0.0.1 (an
/// ephemeral port), in this process, serving
///
/// - `POST /v1/b2b/sessions/authenticate` (by `session_token` or `session_jwt`), and
/// - `GET /v1/b2b/sessions/jwks/{project_id}`,
///
/// both behind HTTP Basic auth with the project id and secret, with the response and error shapes
/// of Stytch's API reference. Sessions, keys and faults are set up from the test; JWTs are RS256
/// with real 2048-bit keys that the JWKS serves.
///
/// Choices where Stytch's documentation does not say (see also `authenticate` below):
/// - a `session_jwt` whose signature does not verify, whose `kid` the JWKS does not serve, whose
///   `alg` is not RS256, or whose `aud`/`iss` are not this project's answers **404
///   `session_not_found`** (like a revoked session; `lastJWTRejection` says which check failed);
///   a string that is not a JWT at all answers 400 `unable_to_parse_session_jwt`;
/// - both `session_token` and `session_jwt` answer 400 `too_many_session_arguments`, neither
///   400 `no_session_arguments` (the names Stytch's SDKs document);
/// - the JWT's `nbf` and `exp` are not checked: Stytch accepts an expired JWT of a live session.
public final class FakeStytch: Sendable {
    public static let defaultProjectID = "project-test-11111111-2222-3333-4444-555555555555"

    /// A project member: what a session authenticates as.
    public struct Member: Sendable, Equatable {
        public var memberID: String
        /// The Stytch organization id, "organization-test-<uuid>".
        public var organizationID: String
        public var organizationSlug: String
        public var email: String
        public var name: String
        /// Role ids, e.g. ["stytch_member", "jobs_editor"].
        public var roles: [String]

        public init(
            memberID: String = "member-test-\(FakeStytch.newUUID())",
            organizationID: String = "organization-test-\(FakeStytch.newUUID())",
            organizationSlug: String = "test-organization",
            email: String = "member@example.com",
            name: String = "Test Member",
            roles: [String] = ["stytch_member"]
        ) {
            self.memberID = memberID
            self.organizationID = organizationID
            self.organizationSlug = organizationSlug
            self.email = email
            self.name = name
            self.roles = roles
        }
    }

    /// A session as `createSession` started it.
    public struct Session: Sendable {
        /// Opaque: 44 random base64url characters.
        public var sessionToken: String
        /// Signed with the key that was current at creation.
        public var sessionJWT: String
        /// "member-session-test-<uuid>".
        public var memberSessionID: String
        public var member: Member
        public var expiresAt: Date
    }

    /// A fault the next requests of either endpoint meet (`setFault`).
    public enum Fault: Sendable, Equatable {
        /// Answer this status with Stytch's error body: 429 → `too_many_requests`,
        /// 5xx → `internal_server_error`.
        case status(Int)
        /// Wait this long, then answer as usual.
        case delay(Duration)
        /// Read the request, then close the connection without answering.
        case close
    }

    public enum Failure: Error, Equatable {
        case unknownSessionToken(String)
        case unknownKID(String)
        case serverDidNotStart
    }

    public let projectID: String
    public let secret: String
    /// The port the server listens on (127.0.0.1).
    public let port: Int
    /// "http://127.0.0.1:<port>", no trailing slash.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The `Authorization` header value Stytch expects: "Basic base64(projectID:secret)".
    public var authorizationHeader: String { core.expectedAuthorization }

    let core: FakeStytchCore
    private let server: NIOLockedValueBox<Task<Void, any Error>?>

    private init(core: FakeStytchCore, port: Int, server: Task<Void, any Error>) {
        self.core = core
        self.projectID = core.projectID
        self.secret = core.secret
        self.port = port
        self.server = NIOLockedValueBox(server)
    }

    deinit {
        // A fake dropped without `stop()` still frees its port.
        server.withLockedValue { $0?.cancel() }
    }

    /// Generates the first signing key and starts the server.
    public static func start(
        projectID: String = FakeStytch.defaultProjectID,
        secret: String = FakeStytch.randomSecret()
    ) async throws -> FakeStytch {
        let core = try await FakeStytchCore(projectID: projectID, secret: secret)
        let (server, port) = try await FakeStytchServer.run(core)
        return FakeStytch(core: core, port: port, server: server)
    }

    /// Stops the server and waits for it to close (idempotent).
    public func stop() async {
        let task = server.withLockedValue { task in
            defer { task = nil }
            return task
        }
        guard let task else { return }
        task.cancel()
        _ = await task.result
    }

    /// Runs `body` with a started fake and always stops it.
    public static func with<T: Sendable>(
        projectID: String = FakeStytch.defaultProjectID,
        secret: String = FakeStytch.randomSecret(),
        _ body: (FakeStytch) async throws -> T
    ) async throws -> T {
        let fake = try await start(projectID: projectID, secret: secret)
        do {
            let result = try await body(fake)
            await fake.stop()
            return result
        } catch {
            await fake.stop()
            throw error
        }
    }

    // MARK: Sessions

    /// A new active session for `member`, expiring after `lifetime`.
    public func createSession(for member: Member, lifetime: Duration = .seconds(3600)) async throws -> Session {
        try await core.createSession(for: member, lifetime: lifetime.timeInterval)
    }

    /// A JWT for an existing session (by token), with overrides for the negative tests. `kid` must
    /// name a key the fake generated (served or dropped) unless `signingKeyOverride` is given,
    /// which then signs under `kid` (default: the current kid).
    public func mintJWT(
        for sessionToken: String,
        kid: String? = nil,
        issuedAt: Date = Date(),
        lifetime: TimeInterval = 300,
        audience: [String]? = nil,
        issuer: String? = nil,
        signingKeyOverride: Insecure.RSA.PrivateKey? = nil
    ) async throws -> String {
        try await core.mintJWT(
            for: sessionToken, kid: kid, issuedAt: issuedAt, lifetime: lifetime, audience: audience,
            issuer: issuer, signingKeyOverride: signingKeyOverride)
    }

    /// A JWT signed by a key that is NOT in the JWKS but carries `kid` (default: the current
    /// kid): a forgery.
    public func forgeJWT(for sessionToken: String, kid: String? = nil) async throws -> String {
        let key = try await core.forgeryKey()
        return try await core.mintJWT(
            for: sessionToken, kid: kid, issuedAt: Date(), lifetime: 300, audience: nil, issuer: nil,
            signingKeyOverride: key)
    }

    /// The session ends now: authenticate answers 404 `session_not_found`.
    public func revoke(sessionToken: String) {
        core.update(sessionToken) { $0.revoked = true }
    }

    /// The session's `expires_at` moves to the past.
    public func expire(sessionToken: String) {
        core.update(sessionToken) { $0.expiresAt = Date().addingTimeInterval(-1) }
    }

    /// The session's `expires_at` now (it moves when authenticate gets `session_duration_minutes`).
    public func expiresAt(sessionToken: String) -> Date? {
        core.state.withLockedValue { $0.sessions[sessionToken]?.expiresAt }
    }

    // MARK: Keys

    /// A new current key (a new kid) signs from now on; the old ones stay in the JWKS, as Stytch
    /// keeps a rotated key for a month. Returns the new kid.
    @discardableResult
    public func rotateKeys() async throws -> String {
        try await core.rotateKeys()
    }

    /// The JWKS serves only the current key.
    public func dropOldKeys() {
        core.state.withLockedValue { state in state.servedKIDs = [state.currentKID] }
    }

    public var currentKID: String { core.state.withLockedValue { $0.currentKID } }
    /// The kids the JWKS serves, oldest first.
    public var servedKIDs: [String] { core.state.withLockedValue { $0.servedKIDs } }

    /// A fresh 2048-bit RSA key, e.g. for `mintJWT(signingKeyOverride:)`.
    public static func makeRSAKey() throws -> Insecure.RSA.PrivateKey {
        try FakeStytchCore.makeKey()
    }

    // MARK: Faults

    /// `fault` applies to the next `count` requests of either endpoint, then clears (nil clears now).
    public func setFault(_ fault: Fault?, count: Int = .max) {
        core.state.withLockedValue { state in
            state.fault = count > 0 ? fault : nil
            state.faultRemaining = fault == nil ? 0 : count
        }
    }

    // MARK: Observations

    /// Requests received on the authenticate endpoint (all of them: faulted and refused too).
    public var authenticateCalls: Int { core.state.withLockedValue { $0.authenticateCalls } }
    /// Requests received on the JWKS endpoint.
    public var jwksCalls: Int { core.state.withLockedValue { $0.jwksCalls } }
    /// Requests (either endpoint) refused for bad Basic auth.
    public var rejectedAuthCalls: Int { core.state.withLockedValue { $0.rejectedAuthCalls } }
    /// The raw body text of the last authenticate request.
    public var lastAuthenticateBody: String? { core.state.withLockedValue { $0.lastAuthenticateBody } }
    /// `session_duration_minutes` of the last authenticate request (nil: absent).
    public var lastDurationMinutes: Int? { core.state.withLockedValue { $0.lastDurationMinutes } }
    /// Why the last refused `session_jwt` was refused (e.g. "signature", "kid", "audience").
    public var lastJWTRejection: String? { core.state.withLockedValue { $0.lastJWTRejection } }

    // MARK: Helpers

    /// "secret-test-" and 32 random hex digits.
    public static func randomSecret() -> String {
        "secret-test-" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// A lowercase UUID, as in Stytch's ids.
    public static func newUUID() -> String { UUID().uuidString.lowercased() }
}
