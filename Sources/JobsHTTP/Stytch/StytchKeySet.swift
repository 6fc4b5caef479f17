import Foundation
import JWTKit
import JobsDomain
import Logging

/// Local verification of Stytch session JWTs against the project's JWKS.
///
/// The keys are fetched on first use, again every hour, and again when a JWT names a `kid` we do
/// not hold (Stytch rotates keys about twice a year and serves both for a month) — at most once
/// per `unknownKeyRefreshInterval`, so a stream of made-up `kid`s cannot make us hammer Stytch.
/// The `kid` is checked here before jwt-kit verifies: jwt-kit would fall back to its default key
/// for an unknown one.
actor StytchKeySet {
    let api: StytchAPI
    let logger: Logger
    static let refreshInterval: Duration = .seconds(3600)
    static let unknownKeyRefreshInterval: Duration = .seconds(30)
    /// Clock skew tolerated on `nbf`/`iat` in the future.
    static let leeway: TimeInterval = 60

    private var keys = JWTKeyCollection()
    private var kids: Set<String> = []
    private var fetchedAt: ContinuousClock.Instant?
    private var lastUnknownKeyRefresh: ContinuousClock.Instant?
    private var refreshing: Task<Void, any Error>?

    init(api: StytchAPI, logger: Logger) {
        self.api = api
        self.logger = logger
    }

    /// What a JWT is, checked locally.
    enum Outcome: Sendable, Equatable {
        /// Signed by a current key, for this project, not expired, issued within `jwtMaxAge`.
        case valid(StytchSession)
        /// Genuine but expired or older than `jwtMaxAge`: only Stytch can say whether its session
        /// still lives.
        case stale
        /// Its `kid` is not among the project's keys even after a refresh: Stytch decides.
        case unknownKey
        /// Not a Stytch session JWT of this project: malformed, bad signature, wrong algorithm,
        /// audience or issuer, not yet valid.
        case invalid
        /// The keys could not be fetched (and none were held).
        case keysUnavailable(reason: String)
    }

    func verify(_ token: String, now: Date = Date()) async -> Outcome {
        guard let header = Self.header(of: token), header.alg == "RS256", let kid = header.kid, !kid.isEmpty
        else { return .invalid }
        let due = fetchedAt.map { ContinuousClock.now - $0 > Self.refreshInterval } ?? true
        if due || !kids.contains(kid) {
            let mayRefresh =
                due || lastUnknownKeyRefresh.map { ContinuousClock.now - $0 > Self.unknownKeyRefreshInterval } ?? true
            if mayRefresh {
                if !due { lastUnknownKeyRefresh = .now }
                do { try await refresh() } catch {
                    logger.warning("could not fetch Stytch's JWKS", metadata: ["reason": "\(error)"])
                    if kids.isEmpty { return .keysUnavailable(reason: "\(error)") }
                }
            }
            if !kids.contains(kid) { return .unknownKey }
        }
        let claims: StytchClaims
        do {
            claims = try await keys.verify(token, as: StytchClaims.self)
        } catch {
            return .invalid
        }
        guard claims.aud.value.contains(api.settings.projectID), claims.iss.value == api.settings.issuer else {
            return .invalid
        }
        if let nbf = claims.nbf, nbf.value.timeIntervalSince(now) > Self.leeway { return .invalid }
        if claims.iat.value.timeIntervalSince(now) > Self.leeway { return .invalid }
        let maxAge = TimeInterval(api.settings.jwtMaxAge.components.seconds)
        if claims.exp.value <= now || now.timeIntervalSince(claims.iat.value) > maxAge { return .stale }
        return .valid(claims.session(member: claims.sub.value))
    }

    /// Fetches the keys once for all callers waiting at the same moment.
    private func refresh() async throws {
        if let refreshing { return try await refreshing.value }
        let task = Task { [api] in
            let jwks = try await api.jwks()
            let fresh = JWTKeyCollection()
            var ids: Set<String> = []
            for key in jwks.keys where key.keyType == .rsa {
                guard let id = key.keyIdentifier?.string else { continue }
                try await fresh.add(jwk: key)
                ids.insert(id)
            }
            self.install(fresh, ids)
        }
        refreshing = task
        defer { refreshing = nil }
        try await task.value
    }

    private func install(_ collection: JWTKeyCollection, _ ids: Set<String>) {
        keys = collection
        kids = ids
        fetchedAt = .now
    }

    struct Header: Decodable {
        var alg: String?
        var kid: String?
    }

    /// The JOSE header, decoded without trusting anything in it yet.
    static func header(of token: String) -> Header? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Base64URL.decode(String(parts[0])) else { return nil }
        return try? JSONDecoder().decode(Header.self, from: Data(data))
    }

    /// Whether a bearer token has the shape of a JWT (three base64url parts, a JSON header).
    static func looksLikeJWT(_ token: String) -> Bool {
        token.hasPrefix("eyJ") && token.utf8.count(where: { $0 == UInt8(ascii: ".") }) == 2
    }
}

/// The claims of a Stytch B2B session JWT that this service reads.
struct StytchClaims: JWTPayload {
    var sub: SubjectClaim
    var aud: AudienceClaim
    var iss: IssuerClaim
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var nbf: NotBeforeClaim?
    var sessionClaim: SessionClaim
    var organizationClaim: OrganizationClaim

    enum CodingKeys: String, CodingKey {
        case sub, aud, iss, iat, exp, nbf
        case sessionClaim = "https://stytch.com/session"
        case organizationClaim = "https://stytch.com/organization"
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct SessionClaim: Codable, Sendable {
        var id: String
        var roles: [String]?
        var expires_at: String?
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct OrganizationClaim: Codable, Sendable {
        var organization_id: String
    }

    /// What the session is, from a verified JWT.
    func session(member: String) -> StytchSession {
        StytchSession(
            memberID: member, memberSessionID: sessionClaim.id, stytchOrganizationID: organizationClaim.organization_id,
            roles: sessionClaim.roles ?? [], expiresAt: exp.value)
    }

    /// Signature checks happen in jwt-kit; the time and audience checks in `StytchKeySet.verify`
    /// (an expired JWT is not invalid: Stytch may still confirm its session).
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
