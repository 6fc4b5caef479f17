/// A strict-parse failure. `offset` is the byte index of the problem.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) at byte \(offset)" }
}

/// Strict RFC 8259 parser: UTF-8 only, no BOM, no duplicate keys, no
/// NaN/Infinity/leading zeros/trailing commas, bounded nesting. It never
/// recurses: containers are tracked on an explicit stack, so hostile
/// nesting fails with "Nesting too deep" instead of exhausting the stack.
public enum JSONParser {
    public static let defaultMaxDepth = 128

    /// Parses exactly one JSON value surrounded by optional whitespace.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> JSONValue in
                var parser = _Parser(buffer)
                return try parser.parseDocument(maxDepth: maxDepth)
            }
        }
        return try result.get()
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) -> JSONValue in
                var parser = _Parser(buffer)
                return try parser.parseDocument(maxDepth: maxDepth)
            }
        }
        return try result.get()
    }

    /// Parses raw bytes in place (e.g. from `ByteBuffer.withUnsafeReadableBytes`).
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError)
        -> JSONValue
    {
        var parser = _Parser(bytes.assumingMemoryBound(to: UInt8.self))
        return try parser.parseDocument(maxDepth: maxDepth)
    }
}

extension UInt8 {
    fileprivate static let quote = UInt8(ascii: "\"")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let comma = UInt8(ascii: ",")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let openBracket = UInt8(ascii: "[")
    fileprivate static let closeBracket = UInt8(ascii: "]")
    fileprivate static let openBrace = UInt8(ascii: "{")
    fileprivate static let closeBrace = UInt8(ascii: "}")
    fileprivate static let minus = UInt8(ascii: "-")
    fileprivate static let plus = UInt8(ascii: "+")
    fileprivate static let dot = UInt8(ascii: ".")
    fileprivate static let zero = UInt8(ascii: "0")
    fileprivate static let nine = UInt8(ascii: "9")

    @inline(__always) fileprivate var isDigit: Bool { self >= .zero && self <= .nine }
    @inline(__always) fileprivate var isJSONWhitespace: Bool {
        self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09
    }
    @inline(__always) fileprivate var isASCIILetter: Bool {
        (self | 0x20) >= UInt8(ascii: "a") && (self | 0x20) <= UInt8(ascii: "z")
    }
}

private struct _Frame {
    let isObject: Bool
    let valueStart: Int
    let keyStart: Int
    /// Built once an object has enough keys that linear duplicate scans get costly.
    var keySet: Set<_ByteKey>?
}

private struct _Parser {
    let b: UnsafeBufferPointer<UInt8>
    let n: Int
    var i = 0
    var scratch: [UInt8] = []

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        self.b = buffer
        self.n = buffer.count
    }

    // MARK: Errors

    func error(_ message: String, at offset: Int) -> JSONParseError {
        JSONParseError(message: message, offset: offset)
    }

    /// A syntax error at `offset`, unless the byte there starts invalid
    /// UTF-8, which is reported as such.
    func syntaxError(_ message: String, at offset: Int) -> JSONParseError {
        if offset < n, b[offset] >= 0x80, utf8SequenceEnd(at: offset) == nil {
            return error("Invalid UTF-8", at: offset)
        }
        return error(message, at: offset)
    }

    // MARK: Document

    @inline(__always)
    mutating func skipWhitespace() {
        while i < n && b[i].isJSONWhitespace { i += 1 }
    }

    mutating func parseDocument(maxDepth: Int) throws(JSONParseError) -> JSONValue {
        if n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
            throw error("Unexpected UTF-8 BOM", at: 0)
        }
        var frames: [_Frame] = []
        var values: [JSONValue] = []
        var keys: [String] = []
        skipWhitespace()

        nextValue: while true {
            // A value is expected at i (whitespace already skipped).
            guard i < n else { throw error("Expecting value", at: i) }
            var value: JSONValue
            let c = b[i]
            switch c {
            case .openBracket, .openBrace:
                if frames.count >= maxDepth { throw error("Nesting too deep", at: i) }
                i += 1
                skipWhitespace()
                if c == .openBrace {
                    if i < n && b[i] == .closeBrace {
                        i += 1
                        value = .object(JSONObject())
                    } else {
                        frames.append(
                            _Frame(isObject: true, valueStart: values.count, keyStart: keys.count, keySet: nil))
                        try parseKey(frame: &frames[frames.count - 1], keys: &keys)
                        continue nextValue
                    }
                } else {
                    if i < n && b[i] == .closeBracket {
                        i += 1
                        value = .array([])
                    } else {
                        frames.append(
                            _Frame(isObject: false, valueStart: values.count, keyStart: keys.count, keySet: nil))
                        continue nextValue
                    }
                }
            case .quote:
                value = .string(try parseString())
            case UInt8(ascii: "t"):
                try expectLiteral(0x74, 0x72, 0x75, 0x65, nil)  // true
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral(0x66, 0x61, 0x6C, 0x73, 0x65)  // false
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral(0x6E, 0x75, 0x6C, 0x6C, nil)  // null
                value = .null
            case .minus, .zero ... .nine:
                value = .number(try parseNumber())
            default:
                throw syntaxError("Expecting value", at: i)
            }

            // A complete value: attach it to the enclosing container(s).
            while true {
                guard let top = frames.last else {
                    skipWhitespace()
                    if i != n { throw syntaxError("Extra data", at: i) }
                    return value
                }
                values.append(value)
                skipWhitespace()
                guard i < n else { throw error("Expecting ',' delimiter", at: i) }
                let d = b[i]
                if d == .comma {
                    i += 1
                    skipWhitespace()
                    if top.isObject {
                        try parseKey(frame: &frames[frames.count - 1], keys: &keys)
                    }
                    continue nextValue
                }
                guard d == (top.isObject ? .closeBrace : .closeBracket) else {
                    throw syntaxError("Expecting ',' delimiter", at: i)
                }
                i += 1
                frames.removeLast()
                if top.isObject {
                    var entries: [(key: String, value: JSONValue)] = []
                    entries.reserveCapacity(keys.count - top.keyStart)
                    var v = top.valueStart
                    for k in top.keyStart..<keys.count {
                        entries.append((key: keys[k], value: values[v]))
                        v += 1
                    }
                    keys.removeSubrange(top.keyStart...)
                    values.removeSubrange(top.valueStart...)
                    value = .object(JSONObject(uniqueEntries: entries))
                } else {
                    let items = Array(values[top.valueStart...])
                    values.removeSubrange(top.valueStart...)
                    value = .array(items)
                }
            }
        }
    }

    /// Parses `"key"` `:` for the object on top of the stack, rejecting duplicates.
    mutating func parseKey(frame: inout _Frame, keys: inout [String]) throws(JSONParseError) {
        guard i < n && b[i] == .quote else {
            throw syntaxError("Expecting property name enclosed in double quotes", at: i)
        }
        let keyOffset = i
        let key = try parseString()
        var duplicate = false
        if frame.keySet != nil {
            duplicate = !frame.keySet!.insert(_ByteKey(key)).inserted
        } else {
            for k in frame.keyStart..<keys.count where _bytesEqual(keys[k], key) {
                duplicate = true
                break
            }
            if !duplicate && keys.count - frame.keyStart >= 16 {
                var set = Set<_ByteKey>(minimumCapacity: 64)
                for k in frame.keyStart..<keys.count { set.insert(_ByteKey(keys[k])) }
                set.insert(_ByteKey(key))
                frame.keySet = set
            }
        }
        if duplicate {
            throw error("Duplicate key \(Self.quotedForMessage(key))", at: keyOffset)
        }
        keys.append(key)
        skipWhitespace()
        guard i < n && b[i] == .colon else { throw syntaxError("Expecting ':' delimiter", at: i) }
        i += 1
        skipWhitespace()
    }

    static func quotedForMessage(_ key: String) -> String {
        let limit = 64
        if key.unicodeScalars.count <= limit {
            return JSONValue.string(key).compactJSON
        }
        return JSONValue.string(String(key.unicodeScalars.prefix(limit))).compactJSON + "..."
    }

    mutating func expectLiteral(_ c0: UInt8, _ c1: UInt8, _ c2: UInt8, _ c3: UInt8, _ c4: UInt8?) throws(JSONParseError)
    {
        let length = c4 == nil ? 4 : 5
        guard n - i >= length, b[i] == c0, b[i + 1] == c1, b[i + 2] == c2, b[i + 3] == c3,
            c4 == nil || b[i + 4] == c4!
        else { throw error("Expecting value", at: i) }
        i += length
    }

    // MARK: Numbers

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = i
        var j = i
        if b[j] == .minus { j += 1 }
        guard j < n && b[j].isDigit else { throw error("Invalid number", at: j) }
        if b[j] == .zero {
            j += 1
            if j < n && b[j].isDigit { throw error("Invalid number", at: j) }  // leading zero
        } else {
            while j < n && b[j].isDigit { j += 1 }
        }
        if j < n && b[j] == .dot {
            j += 1
            guard j < n && b[j].isDigit else { throw error("Invalid number", at: j) }
            while j < n && b[j].isDigit { j += 1 }
        }
        if j < n && (b[j] | 0x20) == UInt8(ascii: "e") {
            j += 1
            if j < n && (b[j] == .plus || b[j] == .minus) { j += 1 }
            guard j < n && b[j].isDigit else { throw error("Invalid number", at: j) }
            while j < n && b[j].isDigit { j += 1 }
        }
        // `0x1F`, `1.5.3`, `1e5e5`, `12abc`: report as a bad number, not as a delimiter problem.
        if j < n && (b[j].isASCIILetter || b[j] == .dot || b[j] == .plus || b[j] == .minus) {
            throw error("Invalid number", at: j)
        }
        i = j
        return JSONNumber(uncheckedText: String(decoding: UnsafeBufferPointer(rebasing: b[start..<j]), as: UTF8.self))
    }

    // MARK: Strings

    /// Parses a string starting at the opening quote at `i`.
    mutating func parseString() throws(JSONParseError) -> String {
        let start = i
        var j = i + 1
        while j < n {
            let c = b[j]
            if c == .quote {
                let s = String(decoding: UnsafeBufferPointer(rebasing: b[(start + 1)..<j]), as: UTF8.self)
                i = j + 1
                return s
            } else if c == .backslash {
                return try parseEscapedString(start: start, from: j)
            } else if c < 0x20 {
                throw error("Invalid control character", at: j)
            } else if c < 0x80 {
                j += 1
            } else {
                j = try validatedUTF8End(at: j)
            }
        }
        throw error("Unterminated string", at: start)
    }

    /// Slow path once a backslash is seen: accumulate into `scratch`.
    mutating func parseEscapedString(start: Int, from firstEscape: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[(start + 1)..<firstEscape]))
        var j = firstEscape
        while j < n {
            let c = b[j]
            if c == .quote {
                i = j + 1
                return String(decoding: scratch, as: UTF8.self)
            } else if c == .backslash {
                guard j + 1 < n else { throw error("Unterminated string", at: start) }
                switch b[j + 1] {
                case .quote: scratch.append(.quote)
                case .backslash: scratch.append(.backslash)
                case UInt8(ascii: "/"): scratch.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    j = try appendUnicodeEscape(at: j)
                    continue
                default:
                    throw error("Invalid \\escape", at: j)
                }
                j += 2
            } else if c < 0x20 {
                throw error("Invalid control character", at: j)
            } else if c < 0x80 {
                scratch.append(c)
                j += 1
            } else {
                let end = try validatedUTF8End(at: j)
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[j..<end]))
                j = end
            }
        }
        throw error("Unterminated string", at: start)
    }

    /// `\uXXXX` (or a `\uXXXX\uXXXX` surrogate pair) at `j`; returns the index after it.
    mutating func appendUnicodeEscape(at j: Int) throws(JSONParseError) -> Int {
        guard let unit = hex4(at: j + 2) else { throw error("Invalid \\uXXXX escape", at: j) }
        var scalar = unit
        var end = j + 6
        if unit >= 0xD800 && unit <= 0xDBFF {
            guard end + 1 < n, b[end] == .backslash, b[end + 1] == UInt8(ascii: "u"),
                let low = hex4(at: end + 2), low >= 0xDC00 && low <= 0xDFFF
            else { throw error("Invalid \\uXXXX escape", at: j) }
            scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            end += 6
        } else if unit >= 0xDC00 && unit <= 0xDFFF {
            throw error("Invalid \\uXXXX escape", at: j)
        }
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
        return end
    }

    func hex4(at j: Int) -> UInt32? {
        guard j + 4 <= n else { return nil }
        var value: UInt32 = 0
        for k in j..<(j + 4) {
            let c = b[k]
            let digit: UInt8
            switch c {
            case .zero ... .nine: digit = c - .zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    // MARK: UTF-8

    @inline(__always)
    func validatedUTF8End(at j: Int) throws(JSONParseError) -> Int {
        guard let end = utf8SequenceEnd(at: j) else { throw error("Invalid UTF-8", at: j) }
        return end
    }

    /// End index of the well-formed multi-byte UTF-8 sequence starting at
    /// `j` (RFC 3629 table: no overlongs, no surrogates, <= U+10FFFF), or nil.
    func utf8SequenceEnd(at j: Int) -> Int? {
        let lead = b[j]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: return nil
        }
        guard j + length <= n else { return nil }
        let second = b[j + 1]
        guard second >= low && second <= high else { return nil }
        for k in (j + 2)..<(j + length) where b[k] & 0xC0 != 0x80 {
            return nil
        }
        return j + length
    }
}
