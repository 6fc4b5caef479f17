import Crypto
import Foundation

/// Webhook signatures as the Standard Webhooks specification defines them, so receivers can use
/// its verifier libraries: the secret is `whsec_` + base64 of 24–64 random bytes; the signed
/// content is `<webhook-id>.<webhook-timestamp>.<body>`; the `webhook-signature` header is
/// `v1,<base64 HMAC-SHA256>` (space-separated when several secrets sign during a rotation).
public enum WebhookSignature {
    public static let secretPrefix = "whsec_"

    /// A new secret: `whsec_` + base64 of 32 random bytes.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return secretPrefix + Data(bytes).base64EncodedString()
    }

    /// The key bytes of a `whsec_` secret, or nil when it is not one (bad base64, or a key
    /// shorter than 24 or longer than 64 bytes).
    public static func key(of secret: String) -> [UInt8]? {
        guard secret.hasPrefix(secretPrefix),
            let data = Data(base64Encoded: String(secret.dropFirst(secretPrefix.count))),
            (24...64).contains(data.count)
        else { return nil }
        return [UInt8](data)
    }

    /// The `webhook-signature` value for one message, signed with each of `secrets`.
    public static func sign(id: String, timestamp: Int64, body: [UInt8], secrets: [String]) -> String? {
        var signed = Array("\(id).\(timestamp).".utf8)
        signed += body
        var parts: [String] = []
        for secret in secrets {
            guard let key = key(of: secret) else { return nil }
            let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))
            parts.append("v1," + Data(mac).base64EncodedString())
        }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
}
