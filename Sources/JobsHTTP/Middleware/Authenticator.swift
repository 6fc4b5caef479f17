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
    let cacheTTL: Duration
    let negativeTTL: Duration
    let failureBurst: Double
    let failuresPerSecond: Double
    private let cache = NIOLockedValueBox([String: (Principal?, ContinuousClock.Instant)]())
    private let buckets = NIOLockedValueBox([String: (tokens: Double, at: ContinuousClock.Instant)]())
    private static let maxCacheEntries = 10_000

    public init(
        credentials: any CredentialStore, cacheTTL: Duration = .seconds(10), failureBurst: Int = 200,
        failuresPerSecond: Int = 20
    ) {
        self.credentials = credentials
        self.cacheTTL = min(cacheTTL, .seconds(30))
        self.negativeTTL = min(self.cacheTTL, .seconds(5))
        self.failureBurst = Double(failureBurst)
        self.failuresPerSecond = Double(failuresPerSecond)
    }

    public enum Credential: Sendable {
        case bearer(String)
        case sessionCookie(String)
    }

    /// The principal, or nil for a malformed, unknown, expired or revoked token. Throws
    /// `APIError.tooManyRequests` when `clientAddress` has used up its failed lookups.
    public func authenticate(_ credential: Credential, clientAddress: String? = nil) async throws -> Principal? {
        let (token, isCookie): (String, Bool) =
            switch credential {
            case .bearer(let t): (t, false)
            case .sessionCookie(let t): (t, true)
            }
        guard !token.isEmpty, token.utf8.count <= 4096 else { return nil }
        let key = (isCookie ? "c:" : "b:") + token
        let now = ContinuousClock.now
        if let (principal, expiry) = cache.withLockedValue({ $0[key] }), expiry > now {
            return principal
        }
        if let clientAddress, !hasFailuresLeft(clientAddress, now: now) {
            throw APIError.tooManyRequests("Too many failed authentication attempts from this address; retry shortly")
        }
        let principal: Principal?
        if !isCookie && token.hasPrefix(Token.apiKeyPrefix) {
            principal = try await credentials.apiKey(hash: Token.hash(token))
        } else {
            principal = try await credentials.session(token: token)
        }
        if principal == nil, let clientAddress { spendFailure(clientAddress, now: now) }
        let ttl = principal == nil ? negativeTTL : cacheTTL
        if ttl > .zero {
            cache.withLockedValue { entries in
                if entries.count >= Self.maxCacheEntries { entries.removeAll(keepingCapacity: true) }
                entries[key] = (principal, now + ttl)
            }
        }
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
