import Foundation

/// RFC 3339 timestamps as the API shows and reads them.
public enum Timestamp {
    /// `2026-11-29T04:46:12.123Z`: UTC, milliseconds (truncated), `Z`.
    public static func format(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = millis / 1000
        var fraction = millis % 1000
        if fraction < 0 {
            fraction += 1000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(Int(fraction), 3) + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Parses an RFC 3339 date-time (`T` or space, fraction optional, `Z` or an offset required).
    /// A `+` that a query string turned into a space before the offset is accepted.
    public static func parse(_ text: String) -> Date? {
        var bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return nil }
        // 2026-11-29T04:46:12[.fff](Z|+hh:mm)
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10])
        else { return nil }
        var index = 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
            if index == start { return nil }
        }
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index == bytes.count - 1 else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: " "):
            guard bytes.count - index == 6, bytes[index + 3] == UInt8(ascii: ":") else { return nil }
            if bytes[index] == UInt8(ascii: " ") { bytes[index] = UInt8(ascii: "+") }
        default:
            return nil
        }
        bytes[10] = UInt8(ascii: "T")
        if bytes.last == UInt8(ascii: "z") { bytes[bytes.count - 1] = UInt8(ascii: "Z") }
        guard let date = PGTimestampBridge.parse(String(decoding: bytes, as: UTF8.self)) else { return nil }
        // Reject impossible dates that timegm would normalise (e.g. 2026-02-31).
        let day = Int(String(decoding: bytes[8..<10], as: UTF8.self)) ?? 0
        let month = Int(String(decoding: bytes[5..<7], as: UTF8.self)) ?? 0
        let hour = Int(String(decoding: bytes[11..<13], as: UTF8.self)) ?? 99
        let minute = Int(String(decoding: bytes[14..<16], as: UTF8.self)) ?? 99
        let second = Int(String(decoding: bytes[17..<19], as: UTF8.self)) ?? 99
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let year = Int(String(decoding: bytes[0..<4], as: UTF8.self)) ?? 0
        let components = DateComponents(year: year, month: month)
        guard let first = calendar.date(from: components),
            let range = calendar.range(of: .day, in: .month, for: first), range.contains(day)
        else { return nil }
        return date
    }
}
