public import Foundation

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
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-"
            + pad(Int(parts.tm_mday), 2)
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
        guard let date = parseCanonical(bytes) else { return nil }
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

    /// `YYYY-MM-DDTHH:MM:SS[.f…](Z|±HH:MM)`, the shape `parse` checked (digits are checked here).
    private static func parseCanonical(_ b: [UInt8]) -> Date? {
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard index < b.count, b[index] >= 48, b[index] <= 57 else { return nil }
                value = value * 10 + Int(b[index] - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var index = 19
        var micros = 0
        if b[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(b[index] - 48) }
                digits += 1
                index += 1
            }
            while digits < 6 {
                micros *= 10
                digits += 1
            }
        }
        var offset = 0
        if b[index] == UInt8(ascii: "+") || b[index] == UInt8(ascii: "-") {
            guard let oh = number(index + 1..<index + 3), let om = number(index + 4..<index + 6) else { return nil }
            offset = (b[index] == UInt8(ascii: "-") ? -1 : 1) * (oh * 3600 + om * 60)
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = Int64(timegm(&parts)) - Int64(offset)
        return Date(timeIntervalSince1970: Double(epoch) + Double(micros) / 1_000_000)
    }
}
