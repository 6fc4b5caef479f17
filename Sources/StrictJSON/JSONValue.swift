/// A JSON value as produced by `JSONParser` (strict RFC 8259).
///
/// Equality is exact: strings and object keys compare by their UTF-8 bytes
/// (not Swift's canonical-equivalence `==`), numbers compare by their literal
/// text (`5`, `5.0` and `5e0` are three different values), object members
/// compare in stored order.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return _bytesEqual(a, b)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }

    /// The JSON type name, for error messages:
    /// "null", "boolean", "number", "string", "array" or "object".
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// True if any string or object key anywhere in the value contains U+0000.
    public var containsNUL: Bool {
        switch self {
        case .null, .bool, .number:
            return false
        case .string(let s):
            return s.utf8.contains(0)
        case .array(let items):
            return items.contains { $0.containsNUL }
        case .object(let object):
            return object.entries.contains { $0.key.utf8.contains(0) || $0.value.containsNUL }
        }
    }

    /// Number of nested arrays/objects: 0 for scalars, 1 for `[]` or `{}`,
    /// 2 for `[[]]`, ... A document parses with `maxDepth: d` iff its
    /// `nestingDepth <= d`.
    public var nestingDepth: Int {
        switch self {
        case .null, .bool, .number, .string:
            return 0
        case .array(let items):
            return 1 + (items.lazy.map(\.nestingDepth).max() ?? 0)
        case .object(let object):
            return 1 + (object.entries.lazy.map(\.value.nestingDepth).max() ?? 0)
        }
    }
}

/// Byte-wise (code unit) string equality, as JSON / Python compare strings.
/// Swift's `String ==` uses canonical equivalence ("\u{212A}" == "K"), which
/// would let distinct JSON keys collide.
@inline(__always)
func _bytesEqual(_ a: String, _ b: String) -> Bool {
    a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
}
