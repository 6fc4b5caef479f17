public import StrictJSON

/// The one rule for numbers a client stores (inside `metadata`, `metadata_patch` and the
/// `details` of errors and warnings), and the one form they are stored and returned in.
///
/// Why: PostgreSQL's `jsonb` keeps numbers as `numeric` and prints them in full, so an
/// exponent is an amplifier (`1e131071` is 9 bytes sent, 131,072 digits stored and returned),
/// and the write response (which echoes the literal) would disagree with later reads.
///
/// The rule: a number is either an integer literal within ±(2^53 − 1), or a finite IEEE-754
/// double with at most 17 significant digits and a decimal exponent within ±308. Anything
/// else is a `422` naming the field. An accepted number is rewritten, before it is measured or
/// stored, in the plain decimal form PostgreSQL itself prints (no exponent, no superfluous
/// zeros, a fraction part kept for non-integer literals: `1e2` → `100.0`, `1.50` → `1.5`,
/// `-0` → `0`), so the write response, the next `GET` and psql all show the same text, and
/// size limits apply to what is stored.
extension JSONNumber {
    /// Most significant digits a non-integer literal may carry (a double's round-trip precision).
    static let maxSignificantDigits = 17
    /// The decimal exponent range (that of finite doubles).
    static let exponentRange = -308...308

    /// The stored form of this literal, or nil when the rule refuses it.
    public var canonical: JSONNumber? {
        let bytes = Array(text.utf8)
        var i = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { i += 1 }
        var integerDigits: [UInt8] = []
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            integerDigits.append(bytes[i])
            i += 1
        }
        var fractionDigits: [UInt8] = []
        var isIntegerLiteral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            isIntegerLiteral = false
            i += 1
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                fractionDigits.append(bytes[i])
                i += 1
            }
        }
        var exponent = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            isIntegerLiteral = false
            i += 1
            var exponentNegative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            var digits = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                // Leading zeros are free; past 6 significant digits the exponent is out of any range.
                if exponent > 0 || bytes[i] != 0x30 { digits += 1 }
                if digits > 6 { return nil }
                exponent = exponent * 10 + Int(bytes[i] - 0x30)
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        guard i == bytes.count, !integerDigits.isEmpty else { return nil }

        if isIntegerLiteral {
            guard let value = Int64(text), value >= -Limits.maxInteger, value <= Limits.maxInteger else { return nil }
            return JSONNumber(value)
        }
        // Significant digits: drop leading and trailing zeros of all the mantissa's digits.
        let all = integerDigits + fractionDigits
        guard let first = all.firstIndex(where: { $0 != 0x30 }) else {
            return JSONNumber(uncheckedText: "0.0")  // zero, whatever its exponent or sign
        }
        let last = all.lastIndex(where: { $0 != 0x30 })!
        let significant = Array(all[first...last])
        guard significant.count <= Self.maxSignificantDigits else { return nil }
        // Digits before the decimal point, counted from the first significant digit.
        let pointPosition = integerDigits.count - first + exponent
        guard Self.exponentRange.contains(pointPosition - 1), let double = Double(text), double.isFinite else {
            return nil
        }
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        if pointPosition >= significant.count {
            out += significant + [UInt8](repeating: 0x30, count: pointPosition - significant.count) + Array(".0".utf8)
        } else if pointPosition <= 0 {
            out += Array("0.".utf8) + [UInt8](repeating: 0x30, count: -pointPosition) + significant
        } else {
            out += significant[..<pointPosition] + [UInt8(ascii: ".")] + significant[pointPosition...]
        }
        return JSONNumber(uncheckedText: String(decoding: out, as: UTF8.self))
    }
}

extension JSONValue {
    /// The outcome of `canonicalizingNumbers`.
    enum CanonicalNumbers {
        case value(JSONValue)
        /// Numbers the rule refuses, with their locations.
        case refused([ValidationIssue])
        /// The numbers alone would take more than the byte budget once stored.
        case tooLarge
    }

    /// This value with every number in its stored form. Stops early (without building the
    /// rest) once the stored numbers alone pass `maxNumberBytes`, so a body of short exponents
    /// cannot make the server build a huge value just to measure it.
    func canonicalizingNumbers(at location: [ValidationIssue.Location], maxNumberBytes: Int) -> CanonicalNumbers {
        var issues: [ValidationIssue] = []
        var budget = maxNumberBytes
        let value = canonicalized(at: location, issues: &issues, budget: &budget)
        if !issues.isEmpty { return .refused(issues) }
        return budget < 0 ? .tooLarge : .value(value)
    }

    private func canonicalized(
        at location: [ValidationIssue.Location], issues: inout [ValidationIssue], budget: inout Int
    ) -> JSONValue {
        if budget < 0 { return self }
        switch self {
        case .null, .bool, .string: return self
        case .number(let number):
            guard let canonical = number.canonical else {
                issues.append(
                    ValidationIssue(
                        loc: location,
                        msg:
                            "Value error, a number must be an integer within ±\(Limits.maxInteger) or a finite double "
                            + "with at most \(JSONNumber.maxSignificantDigits) significant digits and an exponent within ±308",
                        type: "value_error"))
                return self
            }
            budget -= canonical.text.utf8.count
            return .number(canonical)
        case .array(let items):
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                out.append(item.canonicalized(at: location + [.index(index)], issues: &issues, budget: &budget))
            }
            return .array(out)
        case .object(let object):
            var out: [(key: String, value: JSONValue)] = []
            out.reserveCapacity(object.count)
            for entry in object.entries {
                out.append(
                    (
                        entry.key,
                        entry.value.canonicalized(at: location + [.key(entry.key)], issues: &issues, budget: &budget)
                    ))
            }
            return .object(JSONObject(uniqueEntries: out))
        }
    }
}
