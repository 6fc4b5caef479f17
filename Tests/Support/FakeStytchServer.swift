import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of the fake's router: Hummingbird's, plus the connection (to close it
/// for `Fault.close`).
struct FakeStytchContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// The fake's HTTP server and its two endpoints.
enum FakeStytchServer {
    /// Starts the server; returns its task (cancel it to stop) and port once it listens.
    static func run(_ core: FakeStytchCore) async throws -> (Task<Void, any Error>, Int) {
        let router = Router(context: FakeStytchContext.self)
        router.post("/v1/b2b/sessions/authenticate") { request, context in
            try await FakeStytchServer.authenticate(request, context, core)
        }
        router.get("/v1/b2b/sessions/jwks/{project_id}") { request, context in
            try await FakeStytchServer.jwks(request, context, core)
        }
        var logger = Logger(label: "FakeStytch")
        logger.logLevel = .critical
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let task = Task {
            defer { portContinuation.finish() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            if case .failure(let error) = await task.result { throw error }
            throw FakeStytch.Failure.serverDidNotStart
        }
        return (task, port)
    }

    // MARK: Endpoints

    static func authenticate(_ request: Request, _ context: FakeStytchContext, _ core: FakeStytchCore) async throws
        -> Response
    {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        let text = String(buffer: body)
        let fault = core.state.withLockedValue { state in
            state.authenticateCalls += 1
            state.lastAuthenticateBody = text
            return state.takeFault()
        }
        if let response = try await apply(fault, context) { return response }
        guard authorized(request, core) else { return unauthorized() }

        guard let json = FakeJSON.parse(Data(text.utf8)), case .object = json else {
            return error(400, "invalid_argument", "Request body must be a JSON object.")
        }
        var duration: Int?
        switch json["session_duration_minutes"] {
        case nil, .null: duration = nil
        case .int(let minutes): duration = minutes
        default:
            return error(400, "invalid_argument", "session_duration_minutes must be an integer.")
        }
        core.state.withLockedValue { $0.lastDurationMinutes = duration }
        if let duration, !(5...527_040).contains(duration) {
            return error(
                400, "invalid_session_duration_minutes",
                "session_duration_minutes must be between 5 and 527040 (366 days).")
        }
        func field(_ name: String) -> (present: Bool, value: String?, valid: Bool) {
            switch json[name] {
            case nil, .null: (false, nil, true)
            case .string(let value): (!value.isEmpty, value.isEmpty ? nil : value, true)
            default: (true, nil, false)
            }
        }
        let token = field("session_token")
        let jwt = field("session_jwt")
        guard token.valid, jwt.valid else {
            return error(400, "invalid_argument", "session_token and session_jwt must be strings.")
        }
        if token.present && jwt.present {
            return error(
                400, "too_many_session_arguments",
                "Please include at most one of session_token, session_jwt, or intermediate_session_token in an"
                    + " authenticate request, not multiple (session_token_or_jwt_required: exactly one).")
        }

        let now = Date()
        let sessionToken: String?
        if let value = token.value {
            sessionToken = value
        } else if let value = jwt.value {
            switch core.check(jwt: value) {
            case .unparseable:
                core.state.withLockedValue { $0.lastJWTRejection = "unparseable" }
                return error(400, "unable_to_parse_session_jwt", "The session_jwt could not be parsed as a JWT.")
            case .refused(let reason):
                core.state.withLockedValue { $0.lastJWTRejection = reason }
                return sessionNotFound()
            case .verified(let memberSessionID):
                sessionToken = core.state.withLockedValue { $0.tokenBySessionID[memberSessionID] }
            }
        } else {
            return error(
                400, "no_session_arguments",
                "Please include one of session_token or session_jwt in an authenticate request"
                    + " (session_token_or_jwt_required).")
        }

        // The session must exist, not be revoked, and not have expired; then it is touched (and
        // extended by session_duration_minutes, as Stytch does).
        let session = core.state.withLockedValue { state -> FakeStytchStoredSession? in
            guard let sessionToken, var session = state.sessions[sessionToken], session.isAlive(at: now) else {
                return nil
            }
            session.lastAccessedAt = now
            if let duration { session.expiresAt = now.addingTimeInterval(TimeInterval(duration) * 60) }
            state.sessions[sessionToken] = session
            return session
        }
        guard let session else { return sessionNotFound() }
        let freshJWT = try await core.mintJWT(
            for: session.token, kid: nil, issuedAt: now, lifetime: 300, audience: nil, issuer: nil,
            signingKeyOverride: nil)
        return ok(authenticateBody(session, jwt: freshJWT, core))
    }

    static func jwks(_ request: Request, _ context: FakeStytchContext, _ core: FakeStytchCore) async throws
        -> Response
    {
        let fault = core.state.withLockedValue { state in
            state.jwksCalls += 1
            return state.takeFault()
        }
        if let response = try await apply(fault, context) { return response }
        guard authorized(request, core) else { return unauthorized() }
        guard context.parameters.get("project_id") == core.projectID else {
            return error(404, "project_not_found", "Project could not be found.")
        }
        let keys = core.state.withLockedValue { state in state.servedKIDs.compactMap { state.keys[$0]?.jwk } }
        return ok(["keys": .array(keys)])
    }

    // MARK: Bodies

    static func authenticateBody(_ session: FakeStytchStoredSession, jwt: String, _ core: FakeStytchCore)
        -> [String: FakeJSON]
    {
        let member = session.member
        let started = FakeJSON.string(session.startedAt.stytchTimestamp)
        let roleIDs = FakeJSON.array(member.roles.map(FakeJSON.string))
        let roles = FakeJSON.array(
            member.roles.map { role in
                .object([
                    "role_id": .string(role),
                    "sources": .array([
                        .object([
                            "type": .string(role == "stytch_member" ? "default_role" : "direct_assignment"),
                            "details": .object([:]),
                        ])
                    ]),
                ])
            })
        return [
            "session_token": .string(session.token),
            "session_jwt": .string(jwt),
            "member_session": .object([
                "member_session_id": .string(session.memberSessionID),
                "member_id": .string(member.memberID),
                "organization_id": .string(member.organizationID),
                "organization_slug": .string(member.organizationSlug),
                "started_at": started,
                "last_accessed_at": .string(session.lastAccessedAt.stytchTimestamp),
                "expires_at": .string(session.expiresAt.stytchTimestamp),
                "authentication_factors": core.authenticationFactors(session),
                "custom_claims": .object([:]),
                "roles": roleIDs,
            ]),
            "member": .object([
                "member_id": .string(member.memberID),
                "organization_id": .string(member.organizationID),
                "email_address": .string(member.email),
                "email_address_verified": .bool(true),
                "status": .string("active"),
                "name": .string(member.name),
                "roles": roles,
                "trusted_metadata": .object([:]),
                "untrusted_metadata": .object([:]),
                "sso_registrations": .array([]),
                "oauth_registrations": .array([]),
                "retired_email_addresses": .array([]),
                "is_breakglass": .bool(false),
                "is_admin": .bool(false),
                "is_locked": .bool(false),
                "mfa_enrolled": .bool(false),
                "mfa_phone_number": .string(""),
                "mfa_phone_number_verified": .bool(false),
                "default_mfa_method": .string(""),
                "member_password_id": .string(""),
                "totp_registration_id": .string(""),
                "created_at": started,
                "updated_at": started,
            ]),
            "organization": .object([
                "organization_id": .string(member.organizationID),
                "organization_name": .string("Organization \(member.organizationSlug)"),
                "organization_slug": .string(member.organizationSlug),
                "organization_logo_url": .string(""),
                "trusted_metadata": .object([:]),
                "email_allowed_domains": .array([]),
                "email_jit_provisioning": .string("NOT_ALLOWED"),
                "email_invites": .string("ALL_ALLOWED"),
                "auth_methods": .string("ALL_ALLOWED"),
                "allowed_auth_methods": .array([]),
                "mfa_policy": .string("OPTIONAL"),
                "mfa_methods": .string("ALL_ALLOWED"),
                "allowed_mfa_methods": .array([]),
                "sso_jit_provisioning": .string("ALL_ALLOWED"),
                "sso_jit_provisioning_allowed_connections": .array([]),
                "sso_active_connections": .array([]),
                "rbac_email_implicit_role_assignments": .array([]),
                "claimed_email_domains": .array([]),
                "created_at": started,
                "updated_at": started,
            ]),
        ]
    }

    // MARK: Responses

    static func newRequestID() -> String { "request-id-test-\(FakeStytch.newUUID())" }

    static func json(_ status: Int, _ body: [String: FakeJSON]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let reason =
            [
                200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
                500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
            ][status] ?? ""
        return Response(
            status: .init(code: status, reasonPhrase: reason), headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: FakeJSON.object(body).text)))
    }

    static func ok(_ body: [String: FakeJSON]) -> Response {
        var body = body
        body["request_id"] = .string(newRequestID())
        body["status_code"] = .int(200)
        return json(200, body)
    }

    /// Stytch's error body.
    static func error(_ status: Int, _ type: String, _ message: String) -> Response {
        json(
            status,
            [
                "status_code": .int(status),
                "request_id": .string(newRequestID()),
                "error_type": .string(type),
                "error_message": .string(message),
                "error_url": .string("https://stytch.com/docs/api/errors/\(status)#\(type)"),
            ])
    }

    static func sessionNotFound() -> Response {
        error(404, "session_not_found", "Session could not be found.")
    }

    static func unauthorized() -> Response {
        error(401, "unauthorized_credentials", "Unauthorized credentials.")
    }

    /// Basic auth with this project's id and secret; counts a refusal.
    static func authorized(_ request: Request, _ core: FakeStytchCore) -> Bool {
        let parts = (request.headers[.authorization] ?? "").split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: parts[1].trimmingCharacters(in: .whitespaces)),
            String(decoding: decoded, as: UTF8.self) == "\(core.projectID):\(core.secret)"
        {
            return true
        }
        core.state.withLockedValue { $0.rejectedAuthCalls += 1 }
        return false
    }

    /// The response a fault makes, or nil to answer as usual (after a delay's wait).
    static func apply(_ fault: FakeStytch.Fault?, _ context: FakeStytchContext) async throws -> Response? {
        switch fault {
        case nil:
            return nil
        case .delay(let duration):
            try await Task.sleep(for: duration)
            return nil
        case .close:
            try? await context.channel.close()
            // Nothing reaches the client: the connection is closed before this is written.
            return error(500, "internal_server_error", "closed")
        case .status(let status):
            switch status {
            case 429: return error(429, "too_many_requests", "Too many requests have been made.")
            case 500...599:
                return error(
                    status, "internal_server_error",
                    "Oops, something seems to have gone wrong, please reach out to support@stytch.com to let us"
                        + " know what went wrong.")
            case 400: return error(400, "bad_request", "Bad request.")
            case 401: return unauthorized()
            case 404: return error(404, "not_found", "Not found.")
            default: return error(status, "unknown_error", "Injected fault \(status).")
            }
        }
    }
}
