import Foundation
public import JobsDomain
import NIOConcurrencyHelpers

/// Turns a bearer token or session cookie into a principal, caching answers briefly.
///
/// Lookups are by SHA-256 of the token (an index lookup on a hash reveals nothing about how
/// close a guess was). A revoked key or ended session stops working once its cache entry
/// expires: `cacheTTL` is capped at 30 seconds.
///
/// Failed lookups are kept cheap for the database: a token that just failed is answered from a
/// negative cache (same TTL, at most 5 s), and each client address may cause only so many
/// failed lookups (a token bucket: `failureBurst`, refilled at `failuresPerSecond`); past that
/// it gets `429` + `Retry-After` without a query, so a flood of bad tokens cannot exhaust the pool.
public final class Authenticator: Sendable {
    let credentials: any CredentialStore
    /// Stytch B2B sessions, when Stytch is configured: then the cookies and bearer JWTs are
    /// Stytch sessions. Nil: the `stytch_session` cookie carries local sessions.
    let stytch: StytchSessions?
    let cacheTTL: Duration
    let negativeTTL: Duration
    let failureBurst: Double
    let failuresPerSecond: Double
    private let cache = ExpiringCache<Principal?>()
    private let buckets = NIOLockedValueBox([String: (tokens: Double, at: ContinuousClock.Instant)]())
    private static let maxCacheEntries = 10_000

    public init(
        credentials: any CredentialStore, cacheTTL: Duration = .seconds(10), failureBurst: Int = 200,
        failuresPerSecond: Int = 20, stytch: StytchSessions? = nil
    ) {
        self.credentials = credentials
        self.stytch = stytch
        self.cacheTTL = min(cacheTTL, .seconds(30))
        self.negativeTTL = min(self.cacheTTL, .seconds(5))
        self.failureBurst = Double(failureBurst)
        self.failuresPerSecond = Double(failuresPerSecond)
    }

    public enum Credential: Sendable {
        /// `Authorization: Bearer …`: an API key (`jak_…`), a local session (`jas_…`), or with
        /// Stytch configured a Stytch session JWT.
        case bearer(String)
        /// The `stytch_session` (opaque token) and `stytch_session_jwt` cookies; at least one.
        case cookies(session: String?, jwt: String?)
    }

    /// The principal, or nil for a malformed, unknown, expired or revoked token. Throws
    /// `APIError.tooManyRequests` when `clientAddress` has used up its failed lookups, and
    /// `APIError.identityProviderUnavailable` when Stytch could not be asked.
    public func authenticate(_ credential: Credential, clientAddress: String? = nil) async throws -> Principal? {
        let now = ContinuousClock.now
        // Answers from the cache cost nothing; what would ask the database or Stytch is refused
        // first when this address has used up its failed lookups.
        // Only such lookups, when they find nothing, spend the address's budget.
        var asked = false
        let principal = try await lookUp(credential, now: now) { [self] () throws(APIError) in
            asked = true
            if let clientAddress, !hasFailuresLeft(clientAddress, now: now) {
                throw .tooManyRequests("Too many failed authentication attempts from this address; retry shortly")
            }
        }
        if principal == nil, asked, let clientAddress { spendFailure(clientAddress, now: now) }
        return principal
    }

    private func lookUp(
        _ credential: Credential, now: ContinuousClock.Instant, throttle: () throws(APIError) -> Void
    ) async throws -> Principal? {
        switch credential {
        case .bearer(let token):
            guard Self.isAcceptable(token) else { return nil }
            if token.hasPrefix(Token.apiKeyPrefix) {
                return try await cached("b:" + token, now: now, throttle: throttle) {
                    try await credentials.apiKey(hash: Token.hash(token))
                }
            }
            if let stytch, StytchKeySet.looksLikeJWT(token) {
                try throttle()
                return try await stytch.principal(sessionToken: nil, sessionJWT: token)
            }
            return try await cached("s:" + token, now: now, throttle: throttle) {
                try await credentials.session(token: token)
            }
        case .cookies(let session, let jwt):
            let session = session.flatMap { Self.isAcceptable($0) ? $0 : nil }
            let jwt = jwt.flatMap { Self.isAcceptable($0) ? $0 : nil }
            if let stytch {
                guard session != nil || jwt != nil else { return nil }
                try throttle()
                return try await stytch.principal(sessionToken: session, sessionJWT: jwt)
            }
            guard let session else { return nil }
            return try await cached("s:" + session, now: now, throttle: throttle) {
                try await credentials.session(token: session)
            }
        }
    }

    private static func isAcceptable(_ token: String) -> Bool {
        !token.isEmpty && token.utf8.count <= 4096
    }

    /// API keys and local sessions, cached for `cacheTTL` (unknown ones for `negativeTTL`).
    private func cached(
        _ key: String, now: ContinuousClock.Instant, throttle: () throws(APIError) -> Void,
        _ fetch: () async throws -> Principal?
    ) async throws -> Principal? {
        if let principal = cache.value(key, now: now) { return principal }
        try throttle()
        let principal = try await fetch()
        cache.store(key, principal, for: principal == nil ? negativeTTL : cacheTTL, now: now)
        return principal
    }

    // MARK: Failed lookups per address (token bucket)

    private func refilled(_ bucket: (tokens: Double, at: ContinuousClock.Instant)?, now: ContinuousClock.Instant)
        -> Double
    {
        guard let bucket else { return failureBurst }
        let elapsed = now - bucket.at
        let seconds = elapsed.inSeconds
        return min(failureBurst, bucket.tokens + seconds * failuresPerSecond)
    }

    private func hasFailuresLeft(_ address: String, now: ContinuousClock.Instant) -> Bool {
        guard failureBurst > 0 else { return true }
        return buckets.withLockedValue { refilled($0[address], now: now) >= 1 }
    }

    private func spendFailure(_ address: String, now: ContinuousClock.Instant) {
        guard failureBurst > 0 else { return }
        buckets.withLockedValue { buckets in
            if buckets.count >= Self.maxCacheEntries { buckets.removeAll(keepingCapacity: true) }
            buckets[address] = (refilled(buckets[address], now: now) - 1, now)
        }
    }
}
