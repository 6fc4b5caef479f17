/// A JSON number, kept as the literal text that was parsed so that
/// `5`, `5.0`, `5e0` and `-0` stay distinguishable.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The literal exactly as written (always valid RFC 8259 number syntax,
    /// except for non-finite doubles, see `init(_: Double)`).
    public let text: String

    /// Text the caller guarantees is RFC 8259 number syntax (the parser, the number rule).
    public init(uncheckedText: String) {
        self.text = uncheckedText
    }

    public init(_ value: Int64) {
        self.text = String(value)
    }

    public init(_ value: Int) {
        self.text = String(value)
    }

    /// Shortest representation that round-trips (Swift's `description`:
    /// `65.2`, `100.0`, `1e+20`). Non-finite values have no JSON number
    /// form: NaN and ±infinity are stored as the text `null` (serialized as
    /// JSON `null`, like pydantic's default `ser_json_inf_nan`), and their
    /// `double` is NaN.
    public init(_ value: Double) {
        self.text = value.isFinite ? value.description : "null"
    }

    /// True for an integer literal: no fraction and no exponent.
    public var isIntegerLiteral: Bool {
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) else {
            return false
        }
        return !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// Non-nil only for an integer literal (no '.', no exponent) that fits
    /// in Int64. `-0` gives 0.
    public var int64: Int64? {
        Int64(text)  // rejects '.', 'e', 'E' and out-of-range values
    }

    /// `Double(text)`: may be ±infinity (`1e400`) or ±0 (`1e-400`, `-0`).
    public var double: Double {
        Double(text) ?? .nan
    }

    public var description: String { text }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        _bytesEqual(lhs.text, rhs.text)
    }
}
