import Foundation

/// Well-known PostgreSQL type OIDs used for parameter binding and decoding.
public enum PGType {
    public static let bool: UInt32 = 16
    public static let bytea: UInt32 = 17
    public static let int8: UInt32 = 20
    public static let int2: UInt32 = 21
    public static let int4: UInt32 = 23
    public static let text: UInt32 = 25
    public static let json: UInt32 = 114
    public static let float4: UInt32 = 700
    public static let float8: UInt32 = 701
    public static let unknown: UInt32 = 705
    public static let varchar: UInt32 = 1043
    public static let timestamp: UInt32 = 1114
    public static let timestamptz: UInt32 = 1184
    public static let numeric: UInt32 = 1700
    public static let uuid: UInt32 = 2950
    public static let jsonb: UInt32 = 3802
    public static let textArray: UInt32 = 1009
}

/// One bound parameter: its text representation (nil for SQL NULL) and its type OID.
public struct PGBind: Sendable, Equatable {
    public var value: String?
    public var type: UInt32
    public init(value: String?, type: UInt32) {
        self.value = value
        self.type = type
    }
}

/// A Swift value that can be sent as a query parameter.
public protocol PGEncodable: Sendable {
    var pgBind: PGBind { get }
}

/// A Swift value that can be read from a result column (text format).
public protocol PGDecodable {
    /// Decodes the text form of a non-NULL column value of the given type OID.
    init?(pgText: String, type: UInt32)
}

extension String: PGEncodable, PGDecodable {
    public var pgBind: PGBind { PGBind(value: self, type: PGType.text) }
    public init?(pgText: String, type: UInt32) { self = pgText }
}

extension Int64: PGEncodable, PGDecodable {
    public var pgBind: PGBind { PGBind(value: String(self), type: PGType.int8) }
    public init?(pgText: String, type: UInt32) {
        guard let value = Int64(pgText) else { return nil }
        self = value
    }
}

extension Int: PGEncodable, PGDecodable {
    public var pgBind: PGBind { PGBind(value: String(self), type: PGType.int8) }
    public init?(pgText: String, type: UInt32) {
        guard let value = Int(pgText) else { return nil }
        self = value
    }
}

extension Int32: PGEncodable, PGDecodable {
    public var pgBind: PGBind { PGBind(value: String(self), type: PGType.int4) }
    public init?(pgText: String, type: UInt32) {
        guard let value = Int32(pgText) else { return nil }
        self = value
    }
}

extension Bool: PGEncodable, PGDecodable {
    public var pgBind: PGBind { PGBind(value: self ? "t" : "f", type: PGType.bool) }
    public init?(pgText: String, type: UInt32) {
        switch pgText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension Double: PGEncodable, PGDecodable {
    public var pgBind: PGBind {
        // PostgreSQL spells the special values itself; Swift's "inf"/"nan" are not accepted.
        let text: String
        if isNaN {
            text = "NaN"
        } else if self == .infinity {
            text = "Infinity"
        } else if self == -.infinity {
            text = "-Infinity"
        } else {
            text = "\(self)"
        }
        return PGBind(value: text, type: PGType.float8)
    }
    public init?(pgText: String, type: UInt32) {
        switch pgText {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(pgText) else { return nil }
            self = value
        }
    }
}

extension Date: PGEncodable, PGDecodable {
    public var pgBind: PGBind { PGBind(value: PGTimestamp.format(self), type: PGType.timestamptz) }
    public init?(pgText: String, type: UInt32) {
        guard let date = PGTimestamp.parse(pgText) else { return nil }
        self = date
    }
}

extension Optional: PGEncodable where Wrapped: PGEncodable {
    public var pgBind: PGBind {
        switch self {
        case .none:
            // The type of a NULL is inferred from the statement's context.
            return PGBind(value: nil, type: 0)
        case .some(let wrapped): return wrapped.pgBind
        }
    }
}

/// Binary data, bound as `bytea` and decoded from PostgreSQL's hex output.
public struct PGBytes: PGEncodable, PGDecodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    public var pgBind: PGBind {
        var text = [UInt8]()
        text.reserveCapacity(2 + bytes.count * 2)
        text.append(UInt8(ascii: "\\"))
        text.append(UInt8(ascii: "x"))
        for byte in bytes {
            text.append(Self.hexDigits[Int(byte >> 4)])
            text.append(Self.hexDigits[Int(byte & 0x0f)])
        }
        return PGBind(value: String(decoding: text, as: UTF8.self), type: PGType.bytea)
    }

    public init?(pgText: String, type: UInt32) {
        let utf8 = Array(pgText.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"),
            utf8.count % 2 == 0
        else { return nil }
        var out = [UInt8]()
        out.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        bytes = out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A JSON document, bound as `jsonb`. `text` is the JSON text exactly as sent or received.
public struct PGJSON: PGEncodable, PGDecodable, Hashable {
    public var text: String
    /// Wraps JSON text that the caller guarantees is valid JSON.
    public init(text: String) { self.text = text }
    public var pgBind: PGBind { PGBind(value: text, type: PGType.jsonb) }
    public init?(pgText: String, type: UInt32) { text = pgText }
}

/// Formats and parses PostgreSQL `timestamptz` text (ISO DateStyle, any UTC offset).
public enum PGTimestamp {
    /// `2026-11-29T04:46:12.123456Z` — microsecond precision, always UTC.
    public static func format(_ date: Date) -> String {
        var micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        if !micros.isFinite { micros = 0 }
        return format(microseconds: Int64(micros))
    }

    /// Formats microseconds since the Unix epoch exactly (no floating point on the way).
    public static func format(microseconds total: Int64) -> String {
        var seconds = total / 1_000_000
        var fraction = total % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let s = String(value)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(Int(fraction), 6))Z"
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]` (a `T` separator and `Z` are accepted).
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= b.count else { return nil }
            var value = 0
            for k in 0..<width {
                let c = b[i + k]
                guard c >= 48, c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            i += width
            return value
        }
        func expect(_ chars: [UInt8]) -> Bool {
            guard i < b.count, chars.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect([45]), let month = number(2), expect([45]), let day = number(2),
            expect([32, 84]), let hour = number(2), expect([58]), let minute = number(2), expect([58]),
            let second = number(2)
        else { return nil }
        var micros = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(b[i] - 48) }
                digits += 1
                i += 1
            }
            while digits < 6 {
                micros *= 10
                digits += 1
            }
        }
        var offset = 0
        if i < b.count {
            if b[i] == 90 {  // Z
                i += 1
            } else if b[i] == 43 || b[i] == 45 {
                let sign = b[i] == 45 ? -1 : 1
                i += 1
                guard let oh = number(2) else { return nil }
                var om = 0
                var os = 0
                if i < b.count, b[i] == 58 {
                    i += 1
                    guard let m = number(2) else { return nil }
                    om = m
                    if i < b.count, b[i] == 58 {
                        i += 1
                        guard let s = number(2) else { return nil }
                        os = s
                    }
                }
                offset = sign * (oh * 3600 + om * 60 + os)
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
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

/// A `text[]` parameter, quoted element by element (nil elements are SQL NULL). Cast it in
/// SQL (`$1::int8[]`, `$2::jsonb[]`, ...) to bind arrays of other types from their text forms.
public struct PGTextArray: PGEncodable, Hashable {
    public var elements: [String?]
    public init(_ elements: [String]) { self.elements = elements }
    public init(optional elements: [String?]) { self.elements = elements }
    public var pgBind: PGBind {
        let quoted = elements.map { element -> String in
            guard let element else { return "NULL" }
            var out = "\""
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { out.append("\\") }
                out.unicodeScalars.append(character)
            }
            return out + "\""
        }
        return PGBind(value: "{" + quoted.joined(separator: ",") + "}", type: PGType.textArray)
    }
}
