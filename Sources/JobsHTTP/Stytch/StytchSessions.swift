import Foundation
public import JobsDomain
public import Logging
import NIOConcurrencyHelpers

/// Stytch B2B sessions as principals: the session verifier behind the `stytch_session` and
/// `stytch_session_jwt` cookies (and bearer session JWTs) when Stytch is configured.
///
/// - A session JWT is verified locally (RS256, the project's JWKS, audience, issuer) and trusted
///   while younger than `jwtMaxAge`; an older or expired one, or one signed by a key we do not
///   know, is confirmed with Stytch's authenticate call, as Stytch's SDKs do.
/// - An opaque session token is confirmed with the authenticate call.
/// - Answers from Stytch are cached per SHA-256 of the token for at most `cacheTTL`
///   (`AUTH_CACHE_TTL_SECONDS`) and never past the session's expiry; "no such session" for at
///   most 5 s. Concurrent requests with the same uncached token share one call.
/// - Stytch unreachable, slow (past `timeout`), rate-limiting or failing → `503` +
///   `Retry-After` (`APIError.identityProviderUnavailable`): fail closed, never anonymous. After
///   5 such failures in a row a circuit breaker answers `503` at once for 5 s, then lets one
///   call probe.
/// - The member acts in the organization linked to its Stytch organization (`jobs-api org
///   link`), with the highest role its Stytch roles map to (`STYTCH_ROLE_MAP`).
public final class StytchSessions: Sendable {
    let settings: StytchSettings
    let api: StytchAPI
    let keys: StytchKeySet
    let credentials: any CredentialStore
    let cacheTTL: Duration
    let negativeTTL: Duration
    let breaker: CircuitBreaker
    let logger: Logger

    private let answers = ExpiringCache<StytchSession?>()
    private let inFlight = NIOLockedValueBox([String: Task<StytchSession?, any Error>]())
    private let links = ExpiringCache<String?>()
    /// `Retry-After` when Stytch failed (the breaker's remaining time when it is open).
    static let retryAfterSeconds = 2

    public init(
        settings: StytchSettings, credentials: any CredentialStore, cacheTTL: Duration = .seconds(10),
        breaker: CircuitBreakerSettings = .init(), logger: Logger
    ) {
        self.settings = settings
        self.api = StytchAPI(settings: settings, logger: logger)
        self.keys = StytchKeySet(api: api, logger: logger)
        self.credentials = credentials
        self.cacheTTL = min(cacheTTL, .seconds(30))
        self.negativeTTL = min(self.cacheTTL, .seconds(5))
        self.breaker = CircuitBreaker(threshold: breaker.threshold, openFor: breaker.openFor)
        self.logger = logger
    }

    /// The breaker's thresholds (tests shorten them).
    public struct CircuitBreakerSettings: Sendable {
        public var threshold: Int
        public var openFor: Duration
        public init(threshold: Int = 5, openFor: Duration = .seconds(5)) {
            self.threshold = threshold
            self.openFor = openFor
        }
    }

    /// The member behind these cookies (or a bearer JWT), nil when not authenticated. Throws
    /// `APIError.identityProviderUnavailable` when Stytch could not be asked.
    public func principal(sessionToken: String?, sessionJWT: String?) async throws -> Principal? {
        var session: StytchSession?
        if let sessionJWT {
            switch await keys.verify(sessionJWT) {
            case .valid(let verified):
                session = verified
            case .invalid:
                return nil
            case .stale, .unknownKey:
                session = try await confirm(sessionToken: sessionToken, sessionJWT: sessionJWT)
            case .keysUnavailable(let reason):
                guard sessionToken != nil else {
                    logger.warning("Stytch session JWT not checked: no keys", metadata: ["reason": "\(reason)"])
                    throw APIError.identityProviderUnavailable(retryAfter: Self.retryAfterSeconds)
                }
                session = try await confirm(sessionToken: sessionToken, sessionJWT: nil)
            }
        } else if let sessionToken {
            session = try await confirm(sessionToken: sessionToken, sessionJWT: nil)
        }
        guard let session else { return nil }
        return .stytchMember(
            memberID: session.memberID, stytchOrganizationID: session.stytchOrganizationID,
            organizationID: try await linkedOrganization(session.stytchOrganizationID),
            role: settings.role(forStytchRoles: session.roles))
    }

    // MARK: Stytch's authenticate call: cached, shared, guarded

    func confirm(sessionToken: String?, sessionJWT: String?) async throws -> StytchSession? {
        guard let token = sessionToken ?? sessionJWT else { return nil }
        let key = (sessionToken != nil ? "t:" : "j:") + Base64URL.encode(Token.hash(token))
        let now = ContinuousClock.now
        if let session = answers.value(key, now: now) { return session }
        let task = inFlight.withLockedValue { running in
            if let task = running[key] { return task }
            let task = Task { [self] in
                defer { _ = inFlight.withLockedValue { $0.removeValue(forKey: key) } }
                return try await ask(
                    sessionToken: sessionToken, sessionJWT: sessionToken == nil ? sessionJWT : nil, key: key)
            }
            running[key] = task
            return task
        }
        return try await task.value
    }

    private func ask(sessionToken: String?, sessionJWT: String?, key: String) async throws -> StytchSession? {
        if let wait = breaker.refusal() {
            throw APIError.identityProviderUnavailable(retryAfter: max(1, Int(wait.components.seconds) + 1))
        }
        do {
            let session = try await api.authenticate(sessionToken: sessionToken, sessionJWT: sessionJWT)
            breaker.succeeded()
            var ttl = cacheTTL
            if let expiresAt = session.expiresAt {
                ttl = min(ttl, .milliseconds(max(0, Int64(expiresAt.timeIntervalSinceNow * 1000))))
            }
            answers.store(key, session, for: ttl)
            return session
        } catch .notAuthenticated {
            breaker.succeeded()
            answers.store(key, nil, for: negativeTTL)
            return nil
        } catch .unavailable(let reason) {
            breaker.failed()
            logger.warning(
                "Stytch could not confirm a session; answering 503",
                metadata: ["reason": "\(reason)", "breaker_open": "\(breaker.isOpen)"])
            throw APIError.identityProviderUnavailable(retryAfter: Self.retryAfterSeconds)
        }
    }

    // MARK: Organization links

    func linkedOrganization(_ stytchOrganizationID: String) async throws -> String? {
        if let organization = links.value(stytchOrganizationID) { return organization }
        let organization = try await credentials.organization(linkedToStytch: stytchOrganizationID)
        links.store(stytchOrganizationID, organization, for: cacheTTL)
        return organization
    }
}
