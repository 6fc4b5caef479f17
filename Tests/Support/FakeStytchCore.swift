import Crypto
import CryptoExtras
import Foundation
import JWTKit
import NIOConcurrencyHelpers

/// One RSA signing key of the fake, with its JWK parts.
struct FakeStytchKey: Sendable {
    let kid: String
    let privateKey: JWTKit.Insecure.RSA.PrivateKey
    let publicKey: _RSA.Signing.PublicKey
    /// Base64url (no padding) big-endian modulus and exponent, as the JWKS serves them.
    let modulus: String
    let exponent: String

    init(kid: String, backing: _RSA.Signing.PrivateKey) throws {
        self.kid = kid
        self.privateKey = try JWTKit.Insecure.RSA.PrivateKey(backing: backing)
        self.publicKey = backing.publicKey
        let primitives = try backing.publicKey.getKeyPrimitives()
        self.modulus = Base64URL.encode(primitives.modulus)
        self.exponent = Base64URL.encode(primitives.publicExponent)
    }

    var jwk: FakeJSON {
        .object([
            "kty": .string("RSA"), "use": .string("sig"), "alg": .string("RS256"), "kid": .string(kid),
            "n": .string(modulus), "e": .string(exponent), "key_ops": .array([.string("verify")]),
            "x5c": .array([]),
        ])
    }
}

struct FakeStytchStoredSession: Sendable {
    var token: String
    var memberSessionID: String
    var member: FakeStytch.Member
    var emailID: String
    var startedAt: Date
    var lastAccessedAt: Date
    var expiresAt: Date
    var revoked = false

    func isAlive(at now: Date) -> Bool { !revoked && expiresAt > now }
}

struct FakeStytchState: Sendable {
    var sessions: [String: FakeStytchStoredSession] = [:]
    var tokenBySessionID: [String: String] = [:]
    /// Every key generated, served or not, by kid.
    var keys: [String: FakeStytchKey] = [:]
    var servedKIDs: [String] = []
    var currentKID: String
    var forgeryKey: JWTKit.Insecure.RSA.PrivateKey?
    var rotations = 0
    var fault: FakeStytch.Fault?
    var faultRemaining = 0
    var authenticateCalls = 0
    var jwksCalls = 0
    var rejectedAuthCalls = 0
    var lastAuthenticateBody: String?
    var lastDurationMinutes: Int?
    var lastJWTRejection: String?

    /// The fault for a request just received, counting it down.
    mutating func takeFault() -> FakeStytch.Fault? {
        guard let fault, faultRemaining > 0 else { return nil }
        faultRemaining -= 1
        if faultRemaining == 0 { self.fault = nil }
        return fault
    }
}

/// The fake's state and logic; the server's handlers hold this, not the `FakeStytch`, so that a
/// dropped fake can stop its server.
final class FakeStytchCore: Sendable {
    let projectID: String
    let secret: String
    let expectedAuthorization: String
    let state: NIOLockedValueBox<FakeStytchState>
    /// Signs with every generated key, by kid (jwt-kit).
    private let signers = JWTKeyCollection()

    init(projectID: String, secret: String) async throws {
        self.projectID = projectID
        self.secret = secret
        self.expectedAuthorization = "Basic " + Data("\(projectID):\(secret)".utf8).base64EncodedString()
        let key = try FakeStytchKey(kid: Self.newKID(), backing: FakeStytchKeyPool.key(0))
        var state = FakeStytchState(currentKID: key.kid)
        state.keys[key.kid] = key
        state.servedKIDs = [key.kid]
        self.state = NIOLockedValueBox(state)
        await signers.add(rsa: key.privateKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
    }

    static func newKID() -> String { "jwk-test-\(FakeStytch.newUUID())" }

    static func makeKey() throws -> JWTKit.Insecure.RSA.PrivateKey {
        try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    var issuer: String { "stytch.com/\(projectID)" }

    // MARK: Sessions

    func createSession(for member: FakeStytch.Member, lifetime: TimeInterval) async throws -> FakeStytch.Session {
        let now = Date()
        let session = FakeStytchStoredSession(
            token: Self.newSessionToken(), memberSessionID: "member-session-test-\(FakeStytch.newUUID())",
            member: member, emailID: "member-email-test-\(FakeStytch.newUUID())", startedAt: now,
            lastAccessedAt: now, expiresAt: now.addingTimeInterval(lifetime))
        state.withLockedValue { state in
            state.sessions[session.token] = session
            state.tokenBySessionID[session.memberSessionID] = session.token
        }
        let jwt = try await mintJWT(
            for: session.token, kid: nil, issuedAt: now, lifetime: 300, audience: nil, issuer: nil,
            signingKeyOverride: nil)
        return FakeStytch.Session(
            sessionToken: session.token, sessionJWT: jwt, memberSessionID: session.memberSessionID, member: member,
            expiresAt: session.expiresAt)
    }

    /// 33 random bytes: 44 base64url characters, no padding.
    static func newSessionToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<33).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    func update(_ sessionToken: String, _ change: (inout FakeStytchStoredSession) -> Void) {
        state.withLockedValue { state in
            if var session = state.sessions[sessionToken] {
                change(&session)
                state.sessions[sessionToken] = session
            }
        }
    }

    // MARK: Keys and JWTs

    func rotateKeys() async throws -> String {
        let index = state.withLockedValue { state in
            state.rotations += 1
            return 1 + state.rotations
        }
        let key = try FakeStytchKey(kid: Self.newKID(), backing: FakeStytchKeyPool.key(index))
        await signers.add(rsa: key.privateKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
        state.withLockedValue { state in
            state.keys[key.kid] = key
            state.servedKIDs.append(key.kid)
            state.currentKID = key.kid
        }
        return key.kid
    }

    /// The key forgeries are signed with: generated on first use, never served.
    func forgeryKey() async throws -> JWTKit.Insecure.RSA.PrivateKey {
        if let key = state.withLockedValue({ $0.forgeryKey }) { return key }
        let key = try JWTKit.Insecure.RSA.PrivateKey(backing: FakeStytchKeyPool.key(1))
        return state.withLockedValue { state in
            if let existing = state.forgeryKey { return existing }
            state.forgeryKey = key
            return key
        }
    }

    func mintJWT(
        for sessionToken: String, kid: String?, issuedAt: Date, lifetime: TimeInterval, audience: [String]?,
        issuer: String?, signingKeyOverride: JWTKit.Insecure.RSA.PrivateKey?
    ) async throws -> String {
        let (session, currentKID, knownKID) = state.withLockedValue { state in
            (state.sessions[sessionToken], state.currentKID, kid.map { state.keys[$0] != nil } ?? true)
        }
        guard let session else { throw FakeStytch.Failure.unknownSessionToken(sessionToken) }
        let kid = kid ?? currentKID
        let payload = FakeStytchClaims(
            claims: claims(
                for: session, issuedAt: issuedAt, lifetime: lifetime, audience: audience ?? [projectID],
                issuer: issuer ?? self.issuer))
        if let signingKeyOverride {
            let keys = JWTKeyCollection()
            await keys.add(rsa: signingKeyOverride, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
            return try await keys.sign(payload, kid: JWKIdentifier(string: kid))
        }
        // jwt-kit falls back to its default key for an unknown kid: refuse it here instead.
        guard knownKID else { throw FakeStytch.Failure.unknownKID(kid) }
        return try await signers.sign(payload, kid: JWKIdentifier(string: kid))
    }

    func authenticationFactors(_ session: FakeStytchStoredSession) -> FakeJSON {
        .array([
            .object([
                "type": .string("magic_link"), "delivery_method": .string("email"),
                "last_authenticated_at": .string(session.startedAt.stytchTimestamp),
                "email_factor": .object([
                    "email_id": .string(session.emailID), "email_address": .string(session.member.email),
                ]),
            ])
        ])
    }

    func claims(
        for session: FakeStytchStoredSession, issuedAt: Date, lifetime: TimeInterval, audience: [String], issuer: String
    ) -> [String: FakeJSON] {
        let iat = Int(issuedAt.timeIntervalSince1970.rounded(.down))
        return [
            "sub": .string(session.member.memberID),
            "aud": .array(audience.map(FakeJSON.string)),
            "iss": .string(issuer),
            "iat": .int(iat),
            "nbf": .int(iat),
            "exp": .int(iat + Int(lifetime.rounded(.down))),
            "https://stytch.com/session": .object([
                "id": .string(session.memberSessionID),
                "started_at": .string(session.startedAt.stytchTimestamp),
                "last_accessed_at": .string(session.lastAccessedAt.stytchTimestamp),
                "expires_at": .string(session.expiresAt.stytchTimestamp),
                "attributes": .object(["ip_address": .string(""), "user_agent": .string("")]),
                "authentication_factors": authenticationFactors(session),
                "roles": .array(session.member.roles.map(FakeJSON.string)),
            ]),
            "https://stytch.com/organization": .object([
                "organization_id": .string(session.member.organizationID),
                "slug": .string(session.member.organizationSlug),
            ]),
        ]
    }

    enum JWTCheck: Equatable {
        /// Verified: the member session id of its session claim.
        case verified(memberSessionID: String)
        /// Not a JWT (segments, base64url, JSON).
        case unparseable
        /// A JWT this project's keys and claims refuse; the reason names the check.
        case refused(reason: String)
    }

    /// Stytch's checks of a `session_jwt`: RS256 under a kid the JWKS serves, the signature, this
    /// project's audience and issuer. Not `exp` (an expired JWT of a live session is accepted),
    /// nor `nbf`.
    func check(jwt: String) -> JWTCheck {
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerData = Base64URL.decode(parts[0]), let header = FakeJSON.parse(headerData),
            let payloadData = Base64URL.decode(parts[1]), let payload = FakeJSON.parse(payloadData),
            let signature = Base64URL.decode(parts[2]),
            case .object = header, case .object = payload
        else { return .unparseable }
        guard header["alg"]?.stringValue == "RS256" else { return .refused(reason: "alg") }
        let key = state.withLockedValue { state -> FakeStytchKey? in
            guard let kid = header["kid"]?.stringValue, state.servedKIDs.contains(kid) else { return nil }
            return state.keys[kid]
        }
        guard let key else { return .refused(reason: "kid") }
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        guard
            key.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: signed),
                padding: .insecurePKCS1v1_5)
        else { return .refused(reason: "signature") }
        let audience: [String] =
            switch payload["aud"] {
            case .string(let value): [value]
            case .array(let values): values.compactMap(\.stringValue)
            default: []
            }
        guard audience.contains(projectID) else { return .refused(reason: "audience") }
        guard payload["iss"]?.stringValue == issuer else { return .refused(reason: "issuer") }
        guard let sessionID = payload["https://stytch.com/session"]?["id"]?.stringValue else {
            return .refused(reason: "session claim")
        }
        return .verified(memberSessionID: sessionID)
    }
}

/// The claims of a session JWT, as jwt-kit signs them. The fake checks claims itself (`check`).
struct FakeStytchClaims: JWTPayload {
    var claims: [String: FakeJSON]

    init(claims: [String: FakeJSON]) { self.claims = claims }

    init(from decoder: any Decoder) throws {
        self.claims = try [String: FakeJSON](from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        try claims.encode(to: encoder)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// The RSA keys of the fakes of one test process. Generating a 2048-bit key takes a long time
/// in a debug build, on a thread of the cooperative pool, and the suites start dozens of fakes
/// in parallel; so fakes share keys by index — 0 is each fake's first key, 1 its forgeries,
/// 2, 3, … its rotations. Distinct indices are distinct keys, which is all a fake relies on (a
/// forgery is signed by a key its JWKS never serves); kids stay unique per fake.
enum FakeStytchKeyPool {
    private static let keys = NIOLockedValueBox([Int: _RSA.Signing.PrivateKey]())

    static func key(_ index: Int) throws -> _RSA.Signing.PrivateKey {
        if let key = keys.withLockedValue({ $0[index] }) { return key }
        let fresh = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        return keys.withLockedValue { keys in
            if let existing = keys[index] { return existing }
            keys[index] = fresh
            return fresh
        }
    }
}
