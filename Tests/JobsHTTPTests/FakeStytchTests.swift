import AsyncHTTPClient
import Foundation
import JWTKit
import JobsTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// The fake Stytch itself, over real HTTP (AsyncHTTPClient to its 127.0.0.1 port): every endpoint
/// and fault mode, so that the tests that point the production client at it can trust it.
@Suite("Fake Stytch") struct FakeStytchTests {
    // MARK: Authenticate by session token

    @Test func authenticateBySessionTokenAnswersStytchsShape() async throws {
        try await FakeStytch.with { fake in
            let member = FakeStytch.Member(
                organizationSlug: "acme", email: "ada@example.com", name: "Ada",
                roles: ["stytch_member", "jobs_editor"])
            let session = try await fake.createSession(for: member)
            #expect(session.sessionToken.count == 44)
            #expect(session.sessionToken.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            #expect(session.memberSessionID.hasPrefix("member-session-test-"))
            #expect(member.memberID.hasPrefix("member-test-"))
            #expect(member.organizationID.hasPrefix("organization-test-"))

            let body = #"{"session_token": "\#(session.sessionToken)"}"#
            let reply = try await authenticate(fake, body: body)
            #expect(reply.status == 200)
            #expect(reply.contentType == "application/json")
            #expect(reply.object["status_code"] as? Int == 200)
            #expect((reply.object["request_id"] as? String)?.hasPrefix("request-id-test-") == true)
            #expect(reply.object["session_token"] as? String == session.sessionToken)
            let jwt = try #require(reply.object["session_jwt"] as? String)
            #expect(jwt.split(separator: ".").count == 3)

            let memberSession = try #require(reply.object["member_session"] as? [String: Any])
            #expect(memberSession["member_session_id"] as? String == session.memberSessionID)
            #expect(memberSession["member_id"] as? String == member.memberID)
            #expect(memberSession["organization_id"] as? String == member.organizationID)
            #expect(memberSession["organization_slug"] as? String == "acme")
            #expect(memberSession["roles"] as? [String] == ["stytch_member", "jobs_editor"])
            #expect((memberSession["custom_claims"] as? [String: Any])?.isEmpty == true)
            for key in ["started_at", "last_accessed_at", "expires_at"] {
                let value = try #require(memberSession[key] as? String)
                #expect(isRFC3339UTC(value), "\(key): \(value)")
            }
            let expiresAt = try #require(memberSession["expires_at"] as? String)
            let expected = try #require(fake.expiresAt(sessionToken: session.sessionToken))
            #expect(abs(try #require(parseTimestamp(expiresAt)).timeIntervalSince(expected)) < 1)
            #expect(abs(expected.timeIntervalSinceNow - 3600) < 10)
            let factors = try #require(memberSession["authentication_factors"] as? [[String: Any]])
            #expect(factors.count == 1)
            #expect(factors.first?["type"] as? String == "magic_link")
            #expect(factors.first?["delivery_method"] as? String == "email")
            #expect(isRFC3339UTC(factors.first?["last_authenticated_at"] as? String ?? ""))
            let emailFactor = try #require(factors.first?["email_factor"] as? [String: Any])
            #expect(emailFactor["email_address"] as? String == "ada@example.com")
            #expect((emailFactor["email_id"] as? String)?.isEmpty == false)

            let replyMember = try #require(reply.object["member"] as? [String: Any])
            #expect(replyMember["member_id"] as? String == member.memberID)
            #expect(replyMember["email_address"] as? String == "ada@example.com")
            #expect(replyMember["organization_id"] as? String == member.organizationID)
            #expect(replyMember["status"] as? String == "active")
            #expect(replyMember["name"] as? String == "Ada")
            let roles = try #require(replyMember["roles"] as? [[String: Any]])
            #expect(roles.compactMap { $0["role_id"] as? String } == ["stytch_member", "jobs_editor"])
            let sourceTypes = roles.map {
                (($0["sources"] as? [[String: Any]]) ?? []).compactMap { $0["type"] as? String }
            }
            #expect(sourceTypes == [["default_role"], ["direct_assignment"]])

            let organization = try #require(reply.object["organization"] as? [String: Any])
            #expect(organization["organization_id"] as? String == member.organizationID)
            #expect(organization["organization_slug"] as? String == "acme")
            #expect(organization["organization_name"] is String)
            #expect((organization["email_allowed_domains"] as? [Any])?.isEmpty == true)
            #expect(reply.object["member_device"] == nil)

            #expect(fake.authenticateCalls == 1)
            #expect(fake.lastAuthenticateBody == body)
            #expect(fake.lastDurationMinutes == nil)
        }
    }

    @Test func sessionDurationMinutesIsRecordedAndExtendsTheSession() async throws {
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: FakeStytch.Member(), lifetime: .seconds(600))
            let reply = try await authenticate(
                fake, body: #"{"session_token": "\#(session.sessionToken)", "session_duration_minutes": 60}"#)
            #expect(reply.status == 200)
            #expect(fake.lastDurationMinutes == 60)
            let expiresAt = try #require(fake.expiresAt(sessionToken: session.sessionToken))
            #expect(abs(expiresAt.timeIntervalSinceNow - 3600) < 10)

            // Absent again: recorded as nil.
            _ = try await authenticate(fake, body: #"{"session_token": "\#(session.sessionToken)"}"#)
            #expect(fake.lastDurationMinutes == nil)
            #expect(fake.authenticateCalls == 2)
        }
    }

    // MARK: Authenticate by session JWT

    @Test func authenticateBySessionJWTIncludingAnExpiredJWTOfALiveSession() async throws {
        try await FakeStytch.with { fake in
            let member = FakeStytch.Member(roles: ["stytch_member", "jobs_admin"])
            let session = try await fake.createSession(for: member)

            let reply = try await authenticate(fake, body: #"{"session_jwt": "\#(session.sessionJWT)"}"#)
            #expect(reply.status == 200)
            #expect(reply.object["session_token"] as? String == session.sessionToken)
            let memberSession = try #require(reply.object["member_session"] as? [String: Any])
            #expect(memberSession["member_session_id"] as? String == session.memberSessionID)
            #expect(memberSession["roles"] as? [String] == ["stytch_member", "jobs_admin"])

            let expired = try await fake.mintJWT(
                for: session.sessionToken, issuedAt: Date().addingTimeInterval(-3600), lifetime: 300)
            let expiredClaims = try #require(payload(of: expired))
            #expect(try #require(expiredClaims["exp"] as? Int) < Int(Date().timeIntervalSince1970))
            let refreshed = try await authenticate(fake, body: #"{"session_jwt": "\#(expired)"}"#)
            #expect(refreshed.status == 200)
            // The answer carries a fresh JWT: unexpired, verifiable with the served JWKS.
            let fresh = try #require(refreshed.object["session_jwt"] as? String)
            let keys = try await keysFromJWKS(fake)
            let claims = try await keys.verify(fresh, as: SessionClaims.self)
            #expect(claims.exp.value > Date())
            #expect(claims.session.id == session.memberSessionID)
        }
    }

    @Test func mintedJWTHasStytchsHeaderAndClaims() async throws {
        try await FakeStytch.with { fake in
            let member = FakeStytch.Member(organizationSlug: "acme", roles: ["stytch_member", "jobs_editor"])
            let session = try await fake.createSession(for: member)
            let jwtHeader = try #require(header(of: session.sessionJWT))
            #expect(jwtHeader["alg"] as? String == "RS256")
            #expect(jwtHeader["typ"] as? String == "JWT")
            #expect(jwtHeader["kid"] as? String == fake.currentKID)
            #expect(fake.currentKID.hasPrefix("jwk-test-"))

            let claims = try #require(payload(of: session.sessionJWT))
            #expect(claims["sub"] as? String == member.memberID)
            #expect(claims["aud"] as? [String] == [fake.projectID])
            #expect(claims["iss"] as? String == "stytch.com/\(fake.projectID)")
            let iat = try #require(claims["iat"] as? Int)
            #expect(claims["nbf"] as? Int == iat)
            #expect(claims["exp"] as? Int == iat + 300)
            #expect(abs(iat - Int(Date().timeIntervalSince1970)) < 10)
            let sessionClaim = try #require(claims["https://stytch.com/session"] as? [String: Any])
            #expect(sessionClaim["id"] as? String == session.memberSessionID)
            #expect(sessionClaim["roles"] as? [String] == ["stytch_member", "jobs_editor"])
            for key in ["started_at", "last_accessed_at", "expires_at"] {
                #expect(isRFC3339UTC(sessionClaim[key] as? String ?? ""), "\(key)")
            }
            let attributes = try #require(sessionClaim["attributes"] as? [String: Any])
            #expect(attributes["ip_address"] as? String == "")
            #expect(attributes["user_agent"] as? String == "")
            let factors = try #require(sessionClaim["authentication_factors"] as? [[String: Any]])
            #expect(factors.first?["type"] as? String == "magic_link")
            let organization = try #require(claims["https://stytch.com/organization"] as? [String: Any])
            #expect(organization["organization_id"] as? String == member.organizationID)
            #expect(organization["slug"] as? String == "acme")

            // The overrides land in the claims.
            let custom = try await fake.mintJWT(
                for: session.sessionToken, issuedAt: Date(timeIntervalSince1970: 1_800_000_000), lifetime: 60,
                audience: ["other-project"], issuer: "evil.example")
            let customClaims = try #require(payload(of: custom))
            #expect(customClaims["iat"] as? Int == 1_800_000_000)
            #expect(customClaims["exp"] as? Int == 1_800_000_060)
            #expect(customClaims["aud"] as? [String] == ["other-project"])
            #expect(customClaims["iss"] as? String == "evil.example")

            await #expect(throws: FakeStytch.Failure.unknownSessionToken("nope")) {
                try await fake.mintJWT(for: "nope")
            }
            await #expect(throws: FakeStytch.Failure.unknownKID("jwk-test-unknown")) {
                try await fake.mintJWT(for: session.sessionToken, kid: "jwk-test-unknown")
            }
        }
    }

    @Test func refusedJWTsAnswerSessionNotFoundAndGarbageCannotBeParsed() async throws {
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: FakeStytch.Member())
            let token = session.sessionToken

            let forged = try await fake.forgeJWT(for: token)
            #expect(header(of: forged)?["kid"] as? String == fake.currentKID)
            try await expectError(authenticate(fake, body: #"{"session_jwt": "\#(forged)"}"#), 404, "session_not_found")
            #expect(fake.lastJWTRejection == "signature")

            let unknownKID = try await fake.forgeJWT(for: token, kid: "jwk-test-not-served")
            try await expectError(
                authenticate(fake, body: #"{"session_jwt": "\#(unknownKID)"}"#), 404, "session_not_found")
            #expect(fake.lastJWTRejection == "kid")

            let otherAudience = try await fake.mintJWT(for: token, audience: ["project-test-other"])
            try await expectError(
                authenticate(fake, body: #"{"session_jwt": "\#(otherAudience)"}"#), 404, "session_not_found")
            #expect(fake.lastJWTRejection == "audience")

            let otherIssuer = try await fake.mintJWT(for: token, issuer: "stytch.com/project-test-other")
            try await expectError(
                authenticate(fake, body: #"{"session_jwt": "\#(otherIssuer)"}"#), 404, "session_not_found")
            #expect(fake.lastJWTRejection == "issuer")

            // Signed by a key of the test's own under the current kid: a forgery too.
            let ownKey = try FakeStytch.makeRSAKey()
            let overridden = try await fake.mintJWT(for: token, signingKeyOverride: ownKey)
            try await expectError(
                authenticate(fake, body: #"{"session_jwt": "\#(overridden)"}"#), 404, "session_not_found")
            #expect(fake.lastJWTRejection == "signature")

            // A valid JWT with one byte of its payload changed.
            let parts = session.sessionJWT.split(separator: ".").map(String.init)
            let claims = try #require(payload(of: session.sessionJWT))
            let impostor = claims.merging(["sub": "member-test-impostor"]) { _, new in new }
            let tamperedPayload = try JSONSerialization.data(withJSONObject: impostor).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            let tampered = [parts[0], tamperedPayload, parts[2]].joined(separator: ".")
            try await expectError(
                authenticate(fake, body: #"{"session_jwt": "\#(tampered)"}"#), 404, "session_not_found")

            try await expectError(
                authenticate(fake, body: #"{"session_jwt": "not-a-jwt"}"#), 400, "unable_to_parse_session_jwt")

            // The session itself is fine.
            #expect(try await authenticate(fake, body: #"{"session_jwt": "\#(session.sessionJWT)"}"#).status == 200)
        }
    }

    // MARK: Dead sessions

    @Test func revokedExpiredAndUnknownSessionsAnswer404SessionNotFound() async throws {
        try await FakeStytch.with { fake in
            let revoked = try await fake.createSession(for: FakeStytch.Member())
            let expired = try await fake.createSession(for: FakeStytch.Member())
            let shortLived = try await fake.createSession(for: FakeStytch.Member(), lifetime: .milliseconds(1))
            #expect(try await authenticate(fake, body: tokenBody(revoked.sessionToken)).status == 200)
            fake.revoke(sessionToken: revoked.sessionToken)
            fake.expire(sessionToken: expired.sessionToken)
            try await Task.sleep(for: .milliseconds(20))

            for token in [revoked.sessionToken, expired.sessionToken, shortLived.sessionToken, "unknown-token"] {
                let reply = try await authenticate(fake, body: tokenBody(token))
                try expectError(reply, 404, "session_not_found")
                #expect(reply.object["error_message"] as? String == "Session could not be found.")
                #expect(
                    reply.object["error_url"] as? String == "https://stytch.com/docs/api/errors/404#session_not_found")
                #expect((reply.object["request_id"] as? String)?.hasPrefix("request-id-test-") == true)
                #expect(reply.contentType == "application/json")
            }
            // By JWT too: the signature is fine, the session is not.
            for session in [revoked, expired] {
                try await expectError(
                    authenticate(fake, body: #"{"session_jwt": "\#(session.sessionJWT)"}"#), 404, "session_not_found")
            }
            #expect(try #require(fake.expiresAt(sessionToken: expired.sessionToken)) < Date())
        }
    }

    // MARK: Credentials and arguments

    @Test func badBasicAuthAnswers401OnBothEndpoints() async throws {
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: FakeStytch.Member())
            let wrongSecret = basic(fake.projectID, "secret-test-wrong")
            let wrongProject = basic("project-test-other", fake.secret)
            let refused: [Auth] = [
                .missing, .header(wrongSecret), .header(wrongProject), .header("Bearer \(fake.secret)"),
                .header("Basic !!!"),
            ]
            for authorization in refused {
                try await expectError(
                    authenticate(fake, body: tokenBody(session.sessionToken), authorization: authorization), 401,
                    "unauthorized_credentials")
                try await expectError(
                    send(fake, .GET, "/v1/b2b/sessions/jwks/\(fake.projectID)", authorization: authorization), 401,
                    "unauthorized_credentials")
            }
            #expect(fake.rejectedAuthCalls == 10)
            #expect(fake.authenticateCalls == 5)
            #expect(fake.jwksCalls == 5)
            // The scheme is case-insensitive, as HTTP says.
            let lowercase = "basic " + Data("\(fake.projectID):\(fake.secret)".utf8).base64EncodedString()
            #expect(
                try await authenticate(fake, body: tokenBody(session.sessionToken), authorization: .header(lowercase))
                    .status
                    == 200)
            #expect(fake.authorizationHeader == basic(fake.projectID, fake.secret))
            #expect(fake.rejectedAuthCalls == 10)
        }
    }

    @Test func bothOrNeitherArgumentAndBadBodiesAnswer400() async throws {
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: FakeStytch.Member())
            let both = #"{"session_token": "\#(session.sessionToken)", "session_jwt": "\#(session.sessionJWT)"}"#
            try await expectError(authenticate(fake, body: both), 400, "too_many_session_arguments")
            try await expectError(authenticate(fake, body: "{}"), 400, "no_session_arguments")
            try await expectError(authenticate(fake, body: #"{"session_token": ""}"#), 400, "no_session_arguments")
            try await expectError(authenticate(fake, body: "{not json"), 400, "invalid_argument")
            try await expectError(authenticate(fake, body: "[1]"), 400, "invalid_argument")
            try await expectError(authenticate(fake, body: #"{"session_token": 7}"#), 400, "invalid_argument")
            try await expectError(
                authenticate(fake, body: #"{"session_token": "x", "session_duration_minutes": "60"}"#), 400,
                "invalid_argument")
            try await expectError(
                authenticate(fake, body: #"{"session_token": "x", "session_duration_minutes": 1}"#), 400,
                "invalid_session_duration_minutes")
            #expect(fake.lastDurationMinutes == 1)
            #expect(fake.lastAuthenticateBody == #"{"session_token": "x", "session_duration_minutes": 1}"#)
            #expect(fake.authenticateCalls == 8)
        }
    }

    // MARK: JWKS

    @Test func jwksServesTheKeysAndVerifiesMintedJWTsButNotForgeries() async throws {
        try await FakeStytch.with { fake in
            let reply = try await send(fake, .GET, "/v1/b2b/sessions/jwks/\(fake.projectID)")
            #expect(reply.status == 200)
            #expect(reply.contentType == "application/json")
            #expect(reply.object["status_code"] as? Int == 200)
            #expect((reply.object["request_id"] as? String)?.hasPrefix("request-id-test-") == true)
            let keys = try #require(reply.object["keys"] as? [[String: Any]])
            #expect(keys.count == 1)
            let key = try #require(keys.first)
            #expect(key["kty"] as? String == "RSA")
            #expect(key["use"] as? String == "sig")
            #expect(key["alg"] as? String == "RS256")
            #expect(key["kid"] as? String == fake.currentKID)
            #expect(key["e"] as? String == "AQAB")
            #expect(key["key_ops"] as? [String] == ["verify"])
            #expect((key["x5c"] as? [Any])?.isEmpty == true)
            let modulus = try #require(key["n"] as? String)
            #expect(modulus.count == 342)  // 256 bytes, base64url without padding
            #expect(!modulus.contains("=") && !modulus.contains("+") && !modulus.contains("/"))
            #expect(fake.jwksCalls == 1)

            let session = try await fake.createSession(for: FakeStytch.Member(roles: ["stytch_member"]))
            let collection = JWTKeyCollection()
            try await collection.add(jwksJSON: reply.text)
            let claims = try await collection.verify(session.sessionJWT, as: SessionClaims.self)
            #expect(claims.sub.value == session.member.memberID)
            #expect(claims.aud.value == [fake.projectID])
            #expect(claims.iss.value == "stytch.com/\(fake.projectID)")
            #expect(claims.session.id == session.memberSessionID)
            #expect(claims.organization.organizationID == session.member.organizationID)

            let forged = try await fake.forgeJWT(for: session.sessionToken)
            await #expect(throws: (any Error).self) {
                _ = try await collection.verify(forged, as: SessionClaims.self)
            }

            try await expectError(
                send(fake, .GET, "/v1/b2b/sessions/jwks/project-test-other"), 404, "project_not_found")
            #expect(fake.jwksCalls == 2)
        }
    }

    @Test func rotationKeepsTheOldKidServedUntilDropOldKeys() async throws {
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: FakeStytch.Member())
            let oldKID = fake.currentKID
            let oldJWT = session.sessionJWT

            let newKID = try await fake.rotateKeys()
            #expect(newKID != oldKID)
            #expect(fake.currentKID == newKID)
            #expect(try await servedKIDs(fake) == [oldKID, newKID])
            #expect(fake.servedKIDs == [oldKID, newKID])

            // New JWTs carry the new kid; old ones still verify, with the JWKS and at authenticate.
            let newJWT = try await fake.mintJWT(for: session.sessionToken)
            #expect(header(of: newJWT)?["kid"] as? String == newKID)
            let fresh = try await authenticate(fake, body: #"{"session_jwt": "\#(oldJWT)"}"#)
            #expect(fresh.status == 200)
            #expect(header(of: fresh.object["session_jwt"] as? String ?? "")?["kid"] as? String == newKID)
            let keys = try await keysFromJWKS(fake)
            _ = try await keys.verify(oldJWT, as: SessionClaims.self)
            _ = try await keys.verify(newJWT, as: SessionClaims.self)
            let oldKIDAgain = try await fake.mintJWT(for: session.sessionToken, kid: oldKID)
            #expect(header(of: oldKIDAgain)?["kid"] as? String == oldKID)

            fake.dropOldKeys()
            #expect(try await servedKIDs(fake) == [newKID])
            try await expectError(authenticate(fake, body: #"{"session_jwt": "\#(oldJWT)"}"#), 404, "session_not_found")
            #expect(fake.lastJWTRejection == "kid")
            #expect(try await authenticate(fake, body: #"{"session_jwt": "\#(newJWT)"}"#).status == 200)
            let keysAfterDrop = try await keysFromJWKS(fake)
            _ = try await keysAfterDrop.verify(newJWT, as: SessionClaims.self)
        }
    }

    // MARK: Faults

    @Test func statusFaultsAnswerStytchsErrorBodiesForTheNextRequestsThenClear() async throws {
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: FakeStytch.Member())
            fake.setFault(.status(429), count: 2)
            try await expectError(authenticate(fake, body: tokenBody(session.sessionToken)), 429, "too_many_requests")
            let jwks = try await send(fake, .GET, "/v1/b2b/sessions/jwks/\(fake.projectID)")
            try expectError(jwks, 429, "too_many_requests")
            #expect(jwks.object["error_url"] as? String == "https://stytch.com/docs/api/errors/429#too_many_requests")
            #expect(try await authenticate(fake, body: tokenBody(session.sessionToken)).status == 200)

            fake.setFault(.status(503))
            for _ in 0..<3 {
                try await expectError(
                    authenticate(fake, body: tokenBody(session.sessionToken)), 503, "internal_server_error")
            }
            fake.setFault(.status(500), count: 1)
            try await expectError(
                send(fake, .GET, "/v1/b2b/sessions/jwks/\(fake.projectID)"), 500, "internal_server_error")
            #expect(try await authenticate(fake, body: tokenBody(session.sessionToken)).status == 200)

            // nil clears at once; faulted requests are counted, and the fault comes before the credentials.
            fake.setFault(.status(503))
            fake.setFault(nil)
            #expect(try await authenticate(fake, body: tokenBody(session.sessionToken)).status == 200)
            fake.setFault(.status(429), count: 1)
            try await expectError(
                authenticate(fake, body: tokenBody(session.sessionToken), authorization: .missing), 429,
                "too_many_requests")
            #expect(fake.authenticateCalls == 8)
            #expect(fake.jwksCalls == 2)
            #expect(fake.rejectedAuthCalls == 0)
        }
    }

    @Test func delayFaultDelaysTheAnswer() async throws {
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: FakeStytch.Member())
            let clock = ContinuousClock()
            fake.setFault(.delay(.seconds(3)), count: 2)
            var start = clock.now
            #expect(try await authenticate(fake, body: tokenBody(session.sessionToken)).status == 200)
            let slow = clock.now - start
            start = clock.now
            #expect(try await send(fake, .GET, "/v1/b2b/sessions/jwks/\(fake.projectID)").status == 200)
            let slowJWKS = clock.now - start
            start = clock.now
            #expect(try await authenticate(fake, body: tokenBody(session.sessionToken)).status == 200)
            let quick = clock.now - start
            #expect(slow >= .seconds(3))
            #expect(slowJWKS >= .seconds(3))
            // The fault has cleared after two requests (a margin for a loaded machine).
            #expect(quick < .milliseconds(2500))
            #expect(fake.authenticateCalls == 2)
            #expect(fake.jwksCalls == 1)
        }
    }

    @Test func closeFaultClosesTheConnectionWithoutAnAnswer() async throws {
        try await FakeStytch.with { fake in
            let session = try await fake.createSession(for: FakeStytch.Member())
            fake.setFault(.close, count: 2)
            // No answer at all (not even a 500): the client sees the connection close.
            await #expect(throws: HTTPClientError.remoteConnectionClosed) {
                _ = try await authenticate(fake, body: tokenBody(session.sessionToken))
            }
            await #expect(throws: HTTPClientError.remoteConnectionClosed) {
                _ = try await send(fake, .GET, "/v1/b2b/sessions/jwks/\(fake.projectID)")
            }
            #expect(fake.authenticateCalls == 1)
            #expect(fake.jwksCalls == 1)
            #expect(fake.lastAuthenticateBody == tokenBody(session.sessionToken))
            #expect(try await authenticate(fake, body: tokenBody(session.sessionToken)).status == 200)
        }
    }

    // MARK: Lifecycle

    @Test func stopClosesThePortAndIsIdempotent() async throws {
        let fake = try await FakeStytch.start(projectID: "project-test-custom", secret: "secret-test-custom")
        #expect(fake.projectID == "project-test-custom")
        #expect(fake.secret == "secret-test-custom")
        #expect(fake.baseURL == "http://127.0.0.1:\(fake.port)")
        #expect(fake.port > 0)
        #expect(try await send(fake, .GET, "/v1/b2b/sessions/jwks/project-test-custom").status == 200)
        await fake.stop()
        await fake.stop()
        await #expect(throws: (any Error).self) {
            _ = try await send(fake, .GET, "/v1/b2b/sessions/jwks/project-test-custom", timeout: .seconds(1))
        }

        let other = try await FakeStytch.start()
        #expect(other.projectID == FakeStytch.defaultProjectID)
        #expect(other.secret.hasPrefix("secret-test-"))
        #expect(other.secret.count == "secret-test-".count + 32)
        await other.stop()
    }

    // MARK: Helpers

    struct Reply {
        var status: Int
        var contentType: String?
        var text: String
        var object: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        }
    }

    /// The claims of a Stytch session JWT as a client would decode them; only `sub` is required
    /// to be a live token here (exp is checked by the tests that care).
    struct SessionClaims: JWTPayload {
        struct SessionClaim: Codable {
            var id: String
            var roles: [String]
        }
        struct OrganizationClaim: Codable {
            var organizationID: String
            var slug: String
            enum CodingKeys: String, CodingKey {
                case organizationID = "organization_id"
                case slug
            }
        }
        var sub: SubjectClaim
        var aud: AudienceClaim
        var iss: IssuerClaim
        var exp: ExpirationClaim
        var session: SessionClaim
        var organization: OrganizationClaim

        enum CodingKeys: String, CodingKey {
            case sub, aud, iss, exp
            case session = "https://stytch.com/session"
            case organization = "https://stytch.com/organization"
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    private let client = HTTPClient.shared

    func send(
        _ fake: FakeStytch, _ method: HTTPMethod, _ path: String, body: String? = nil,
        authorization: Auth = .valid, timeout: TimeAmount = .seconds(10)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: fake.baseURL + path)
        request.method = method
        switch authorization {
        case .valid: request.headers.add(name: "Authorization", value: fake.authorizationHeader)
        case .missing: break
        case .header(let value): request.headers.add(name: "Authorization", value: value)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Reply(
            status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
            text: String(buffer: bytes))
    }

    /// The `Authorization` header of a request.
    enum Auth {
        /// The fake's project id and secret.
        case valid
        case missing
        case header(String)
    }

    /// POST authenticate with the fake's credentials, or `authorization`.
    func authenticate(_ fake: FakeStytch, body: String, authorization: Auth = .valid) async throws -> Reply {
        try await send(fake, .POST, "/v1/b2b/sessions/authenticate", body: body, authorization: authorization)
    }

    func expectError(
        _ reply: Reply, _ status: Int, _ type: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(reply.status == status, sourceLocation: sourceLocation)
        #expect(reply.contentType == "application/json", sourceLocation: sourceLocation)
        #expect(reply.object["status_code"] as? Int == status, sourceLocation: sourceLocation)
        #expect(reply.object["error_type"] as? String == type, "\(reply.text)", sourceLocation: sourceLocation)
        #expect((reply.object["error_message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(
            reply.object["error_url"] as? String == "https://stytch.com/docs/api/errors/\(status)#\(type)",
            sourceLocation: sourceLocation)
        #expect(
            (reply.object["request_id"] as? String)?.hasPrefix("request-id-test-") == true,
            sourceLocation: sourceLocation)
    }

    func tokenBody(_ token: String) -> String { #"{"session_token": "\#(token)"}"# }

    func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    func keysFromJWKS(_ fake: FakeStytch) async throws -> JWTKeyCollection {
        let reply = try await send(fake, .GET, "/v1/b2b/sessions/jwks/\(fake.projectID)")
        let keys = JWTKeyCollection()
        try await keys.add(jwksJSON: reply.text)
        return keys
    }

    func servedKIDs(_ fake: FakeStytch) async throws -> [String] {
        let reply = try await send(fake, .GET, "/v1/b2b/sessions/jwks/\(fake.projectID)")
        return ((reply.object["keys"] as? [[String: Any]]) ?? []).compactMap { $0["kid"] as? String }
    }

    func segment(_ jwt: String, _ index: Int) -> [String: Any]? {
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var base64 = parts[index].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    func header(of jwt: String) -> [String: Any]? { segment(jwt, 0) }
    func payload(of jwt: String) -> [String: Any]? { segment(jwt, 1) }

    func isRFC3339UTC(_ text: String) -> Bool {
        text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/) != nil
    }

    func parseTimestamp(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601)
    }
}
