import Crypto
import Foundation

/// Secret bearer tokens: 256 random bits, base64url, with a prefix saying what they are.
/// Only their SHA-256 is stored; the token itself is shown once.
public enum Token {
    public static let apiKeyPrefix = "jak_"
    public static let sessionPrefix = "jas_"

    /// A new token: `prefix` + 43 base64url characters (32 bytes from the system CSPRNG).
    public static func generate(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + Base64URL.encode(bytes)
    }

    /// SHA-256 of the token's UTF-8 bytes (what the database stores and looks up).
    public static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// The first characters of a token, safe to show to recognise it (not enough to use it).
    public static func displayPrefix(_ token: String) -> String {
        String(token.prefix(12))
    }
}
