import Foundation
import Testing

@testable import JobsDomain

@Suite struct WebhookSignatureTests {
    /// Computed with the Python `standardwebhooks` package (an independent implementation of the
    /// specification): `Webhook(secret).sign(id, datetime(1764460800, UTC), body)`.
    @Test func matchesTheReferenceImplementation() throws {
        let secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        let body = #"{"type":"job.completed","timestamp":"2025-11-30T00:00:00Z","data":{"job_id":"job_1"}}"#
        let signature = WebhookSignature.sign(
            id: "msg_2kTQ0b5LZQ3G0mKqJkXv1vWcF6J", timestamp: 1_764_460_800, body: Array(body.utf8),
            secrets: [secret])
        #expect(signature == "v1,MIkVgT8ItpFFvLO+/TnK5sTFcb69BO7gFHGiJGR8rjQ=")
    }

    @Test func aRotationSignsWithBothSecretsAndBadSecretsAreRefused() throws {
        let old = WebhookSignature.newSecret()
        let new = WebhookSignature.newSecret()
        #expect(old != new)
        #expect(WebhookSignature.key(of: new)?.count == 32)
        let both = try #require(WebhookSignature.sign(id: "m", timestamp: 1, body: [], secrets: [old, new]))
        let parts = both.split(separator: " ")
        #expect(parts.count == 2)
        #expect(parts.allSatisfy { $0.hasPrefix("v1,") })
        #expect(String(parts[1]) == WebhookSignature.sign(id: "m", timestamp: 1, body: [], secrets: [new]))
        for bad in [
            "", "whsec_", "whsec_!!!", "sk_" + String(new.dropFirst(6)),
            "whsec_" + Data(count: 8).base64EncodedString(),
        ] {
            #expect(WebhookSignature.key(of: bad) == nil, "\(bad)")
            #expect(WebhookSignature.sign(id: "m", timestamp: 1, body: [], secrets: [bad]) == nil)
        }
    }
}
