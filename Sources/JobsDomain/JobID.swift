public import Foundation

/// Job ids: `job_` + a ULID (48-bit millisecond time + 80 random bits, Crockford base32), so
/// they are URL-safe, 30 characters, roughly time-ordered and unguessable.
public enum JobID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func generate(now: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: millis >> UInt64(8 * (5 - i))) }
        for i in 6..<16 { bytes[i] = UInt8.random(in: .min ... .max, using: &generator) }
        // 26 base32 digits = 130 bits: two zero bits, then the 128 bits above.
        func bit(_ i: Int) -> Int {
            if i < 2 { return 0 }
            let j = i - 2
            return Int(bytes[j / 8] >> UInt8(7 - j % 8)) & 1
        }
        var chars = [UInt8]()
        chars.reserveCapacity(26)
        for digit in 0..<26 {
            var value = 0
            for k in 0..<5 { value = value << 1 | bit(digit * 5 + k) }
            chars.append(alphabet[value])
        }
        return "job_" + String(decoding: chars, as: UTF8.self)
    }
}
