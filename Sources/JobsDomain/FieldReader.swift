import StrictJSON

/// Reads the fields of one JSON object with pydantic-strict rules, collecting FastAPI-style
/// issues instead of stopping at the first. `null` counts as absent everywhere.
struct FieldReader {
    let object: JSONObject
    let location: [String]
    private(set) var issues: [ValidationIssue] = []
    private var known: Set<String> = []

    init(_ object: JSONObject, at location: [String]) {
        self.object = object
        self.location = location
    }

    /// Reads a body that must be a JSON object (or records why it is not).
    static func requireObject(_ value: JSONValue, at location: [String]) -> Result<JSONObject, APIError> {
        guard case .object(let object) = value else {
            return .failure(
                .validation([
                    issue(
                        location, msg: "Input should be a valid dictionary or object to extract fields from",
                        type: "model_attributes_type")
                ]))
        }
        return .success(object)
    }

    static func issue(_ location: [String], msg: String, type: String) -> ValidationIssue {
        ValidationIssue(loc: location.map(ValidationIssue.Location.key), msg: msg, type: type)
    }

    mutating func add(_ field: String?, msg: String, type: String) {
        issues.append(Self.issue(location + (field.map { [$0] } ?? []), msg: msg, type: type))
    }

    /// The value of a field, nil when absent or null.
    private mutating func value(_ name: String) -> JSONValue? {
        known.insert(name)
        guard let value = object[name] else { return nil }
        if case .null = value { return nil }
        return value
    }

    /// Whether the field is present with `null` (only `triggered_by` cares).
    func isExplicitNull(_ name: String) -> Bool {
        if case .null? = object[name] { return true }
        return false
    }

    mutating func required(_ name: String) {
        if object[name] == nil || isExplicitNull(name) {
            add(name, msg: "Field required", type: "missing")
        }
    }

    /// An integer in 0 ... 2^53 - 1. `"5"`, `5.0` and `true` are refused.
    mutating func integer(_ name: String) -> Int64? {
        guard let value = value(name) else { return nil }
        guard case .number(let number) = value, Self.isIntegerLiteral(number.text) else {
            add(name, msg: "Input should be a valid integer", type: "int_type")
            return nil
        }
        guard let int = number.int64 else {
            if number.text.hasPrefix("-") {
                add(name, msg: "Input should be greater than or equal to 0", type: "greater_than_equal")
            } else {
                add(name, msg: "Input should be less than or equal to \(Limits.maxInteger)", type: "less_than_equal")
            }
            return nil
        }
        if int < 0 {
            add(name, msg: "Input should be greater than or equal to 0", type: "greater_than_equal")
            return nil
        }
        if int > Limits.maxInteger {
            add(name, msg: "Input should be less than or equal to \(Limits.maxInteger)", type: "less_than_equal")
            return nil
        }
        return int
    }

    static func isIntegerLiteral(_ text: String) -> Bool {
        !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// A string of `min...max` characters (Unicode scalars, as Python counts) without NUL.
    mutating func string(_ name: String, min: Int = 0, max: Int) -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let string) = value else {
            add(name, msg: "Input should be a valid string", type: "string_type")
            return nil
        }
        return checkString(string, field: name, min: min, max: max)
    }

    mutating func checkString(_ string: String, field: String?, min: Int, max: Int) -> String? {
        let count = string.unicodeScalars.count
        if count < min {
            add(
                field, msg: "String should have at least \(min) character\(min == 1 ? "" : "s")",
                type: "string_too_short")
            return nil
        }
        if count > max {
            add(field, msg: "String should have at most \(max) characters", type: "string_too_long")
            return nil
        }
        if string.unicodeScalars.contains("\u{0}") {
            add(field, msg: "Value error, strings must not contain the NUL character", type: "value_error")
            return nil
        }
        return string
    }

    /// An array of at most `maxCount` strings of 1...`maxLength` characters.
    mutating func stringArray(_ name: String, maxCount: Int, maxLength: Int) -> [String]? {
        guard let value = value(name) else { return nil }
        guard case .array(let items) = value, items.count <= maxCount else {
            add(name, msg: "Input should be a valid list of at most \(maxCount) strings", type: "list_type")
            return nil
        }
        var strings: [String] = []
        for item in items {
            guard case .string(let string) = item,
                let checked = checkString(string, field: name, min: 1, max: maxLength)
            else {
                if case .string = item {} else { add(name, msg: "Input should be a valid string", type: "string_type") }
                return nil
            }
            strings.append(checked)
        }
        return strings
    }

    /// A duration in whole seconds within `range`: a string in the `PRUNE_AFTER` format
    /// (`90s`, `30m`, `12h`, `7d`, `600`) or an integer number of seconds.
    mutating func durationSeconds(_ name: String, range: ClosedRange<Int64>) -> Int64? {
        guard let value = value(name) else { return nil }
        let seconds: Int64?
        switch value {
        case .string(let text):
            seconds = DurationParser.parse(text).map { $0.components.seconds }
        case .number(let number) where Self.isIntegerLiteral(number.text):
            seconds = number.int64
        default:
            seconds = nil
        }
        guard let seconds else {
            add(
                name,
                msg:
                    "Value error, \(name) must be a duration such as \"90s\", \"30m\", \"2h\" or \"1d\", or an integer number of seconds",
                type: "value_error")
            return nil
        }
        guard range.contains(seconds) else {
            add(
                name,
                msg: "Value error, \(name) must be between \(range.lowerBound) and \(range.upperBound) seconds",
                type: "value_error")
            return nil
        }
        return seconds
    }

    mutating func bool(_ name: String) -> Bool? {
        guard let value = value(name) else { return nil }
        guard case .bool(let bool) = value else {
            add(name, msg: "Input should be a valid boolean", type: "bool_type")
            return nil
        }
        return bool
    }

    /// A JSON object of at most `maxBytes` as compact JSON, without NUL in keys or strings, its
    /// numbers within the stored-number rule and rewritten in their stored form (so the size is
    /// measured on what is stored; see `JSONNumber.canonical`).
    mutating func dictionary(_ name: String, maxBytes: Int) -> JSONObject? {
        guard let sent = value(name) else { return nil }
        guard case .object = sent else {
            add(name, msg: "Input should be a valid dictionary", type: "dict_type")
            return nil
        }
        if sent.containsNUL {
            add(name, msg: "Value error, strings must not contain the NUL character", type: "value_error")
            return nil
        }
        let value: JSONValue
        switch sent.canonicalizingNumbers(
            at: (location + [name]).map(ValidationIssue.Location.key), maxNumberBytes: maxBytes)
        {
        case .value(let canonical): value = canonical
        case .refused(let numberIssues):
            issues += numberIssues
            return nil
        case .tooLarge:
            add(name, msg: "Value error, \(name) must be at most \(maxBytes) bytes as JSON", type: "value_error")
            return nil
        }
        guard case .object(let object) = value else { return nil }
        if value.compactByteCount > maxBytes {
            add(name, msg: "Value error, \(name) must be at most \(maxBytes) bytes as JSON", type: "value_error")
            return nil
        }
        return object
    }

    /// A nested object read by `body` (which gets its own reader at `location + [name]`).
    mutating func nested<T>(_ name: String, _ body: (inout FieldReader) -> T) -> T? {
        guard let value = value(name) else { return nil }
        guard case .object(let object) = value else {
            add(
                name, msg: "Input should be a valid dictionary or object to extract fields from",
                type: "model_attributes_type")
            return nil
        }
        var reader = FieldReader(object, at: location + [name])
        let result = body(&reader)
        reader.rejectUnknown()
        issues += reader.issues
        return reader.issues.isEmpty ? result : nil
    }

    /// Every key not read is an unknown field: a typo must never be dropped silently.
    mutating func rejectUnknown() {
        for key in object.keys where !known.contains(key) {
            add(key, msg: "Extra inputs are not permitted", type: "extra_forbidden")
        }
    }
}
