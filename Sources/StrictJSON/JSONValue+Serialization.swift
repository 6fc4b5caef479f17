extension JSONValue {
    /// Compact JSON (no whitespace). Strings escape only `"`, `\` and
    /// control characters below U+0020 (`\b \f \n \r \t`, else `\u00XX`);
    /// everything else, including non-ASCII and `/`, is written raw.
    /// Numbers are written as their `text`; object keys in stored order.
    public var compactJSON: String {
        String(decoding: compactJSONBytes, as: UTF8.self)
    }

    /// `compactJSON` as UTF-8 bytes (e.g. for a response body).
    public var compactJSONBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(compactByteCount)
        write(into: &out)
        return out
    }

    /// `compactJSON.utf8.count`, computed without building the output.
    public var compactByteCount: Int {
        switch self {
        case .null, .bool(true): return 4
        case .bool(false): return 5
        case .number(let number): return number.text.utf8.count
        case .string(let s): return Self.escapedByteCount(s)
        case .array(let items):
            var total = 2 + max(items.count - 1, 0)
            for item in items { total += item.compactByteCount }
            return total
        case .object(let object):
            var total = 2 + max(object.count - 1, 0)
            for entry in object.entries {
                total += Self.escapedByteCount(entry.key) + 1 + entry.value.compactByteCount
            }
            return total
        }
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(true): out.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case .bool(false): out.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case .number(let number): out.append(contentsOf: number.text.utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (index, entry) in object.entries.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(entry.key, into: &out)
                out.append(UInt8(ascii: ":"))
                entry.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func escapedByteCount(_ s: String) -> Int {
        var total = 2
        for byte in s.utf8 {
            switch byte {
            case 0x22, 0x5C, 0x08, 0x0C, 0x0A, 0x0D, 0x09: total += 2
            case 0..<0x20: total += 6
            default: total += 1
            }
        }
        return total
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let wroteContiguous: Void? = s.utf8.withContiguousStorageIfAvailable { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if runStart < index {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                }
                appendEscape(byte, into: &out)
                runStart = index + 1
            }
            if runStart < bytes.count {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
            }
        }
        if wroteContiguous == nil {
            for byte in s.utf8 {
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                    appendEscape(byte, into: &out)
                } else {
                    out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    static func appendEscape(_ byte: UInt8, into out: inout [UInt8]) {
        let backslash = UInt8(ascii: "\\")
        switch byte {
        case 0x22: out.append(contentsOf: [backslash, 0x22])
        case 0x5C: out.append(contentsOf: [backslash, backslash])
        case 0x08: out.append(contentsOf: [backslash, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [backslash, UInt8(ascii: "f")])
        case 0x0A: out.append(contentsOf: [backslash, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [backslash, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [backslash, UInt8(ascii: "t")])
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [
                backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                hex[Int(byte >> 4)], hex[Int(byte & 0x0F)],
            ])
        }
    }
}
