import Testing

@testable import StrictJSON

// MARK: - Helpers

private func parse(_ text: String, maxDepth: Int = JSONParser.defaultMaxDepth) throws -> JSONValue {
    try JSONParser.parse(text, maxDepth: maxDepth)
}

/// The error for `bytes`, or nil if they parsed.
private func parseError(_ bytes: [UInt8], maxDepth: Int = JSONParser.defaultMaxDepth) -> JSONParseError? {
    do {
        _ = try JSONParser.parse(bytes, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

private func parseError(_ text: String, maxDepth: Int = JSONParser.defaultMaxDepth) -> JSONParseError? {
    parseError(Array(text.utf8), maxDepth: maxDepth)
}

private func number(_ text: String) throws -> JSONNumber {
    guard case .number(let n) = try parse(text) else {
        Issue.record("\(text) did not parse as a number")
        return JSONNumber(0)
    }
    return n
}

/// A JSON string literal containing `inner` raw bytes: `"` + inner + `"`.
private func quoted(_ inner: [UInt8]) -> [UInt8] {
    [0x22] + inner + [0x22]
}

// MARK: - Numbers

@Suite struct JSONNumberTests {
    @Test func integerVersusFloatLiteralsStayDistinct() throws {
        let five = try number("5")
        let fivePointZero = try number("5.0")
        let fiveE0 = try number("5e0")
        #expect(five.text == "5")
        #expect(fivePointZero.text == "5.0")
        #expect(fiveE0.text == "5e0")
        #expect(five.int64 == 5)
        #expect(fivePointZero.int64 == nil)
        #expect(fiveE0.int64 == nil)
        #expect(five.isIntegerLiteral && !fivePointZero.isIntegerLiteral && !fiveE0.isIntegerLiteral)
        #expect(five.double == 5 && fivePointZero.double == 5 && fiveE0.double == 5)
        #expect(five != fivePointZero && fivePointZero != fiveE0)
        #expect(try parse("5") != parse("5.0"))
    }

    @Test func negativeZero() throws {
        let n = try number("-0")
        #expect(n.text == "-0")
        #expect(n.int64 == 0)
        #expect(n.double == 0 && n.double.sign == .minus)
        #expect(JSONValue.number(n).compactJSON == "-0")
        #expect(try number("-0.0").int64 == nil)
    }

    @Test func largeIntegers() throws {
        #expect(try number("9007199254740993").int64 == 9_007_199_254_740_993)
        #expect(try number("9223372036854775807").int64 == Int64.max)
        #expect(try number("-9223372036854775808").int64 == Int64.min)
        #expect(try number("9223372036854775808").int64 == nil)
        let huge = try number("99999999999999999999")
        #expect(huge.int64 == nil)
        #expect(huge.isIntegerLiteral)
        #expect(huge.double.isFinite && huge.double == 1e20)
        #expect(JSONValue.number(huge).compactJSON == "99999999999999999999")
    }

    @Test func overflowingAndUnderflowingExponents() throws {
        #expect(try number("1e400").double == .infinity)
        #expect(try number("-1e400").double == -.infinity)
        #expect(try number("1e-400").double == 0)
        #expect(JSONValue.number(try number("1e400")).compactJSON == "1e400")
    }

    @Test(arguments: ["0", "-0", "12", "-12", "0.5", "-0.5", "1.25e3", "1E3", "1e+3", "1e-3", "1E-03", "123.456e-789"])
    func validNumbersKeepTheirText(_ text: String) throws {
        let n = try number(text)
        #expect(n.text == text)
        #expect(JSONValue.number(n).compactJSON == text)
    }

    @Test func buildingNumbers() throws {
        #expect(JSONNumber(Int64(-42)).text == "-42")
        #expect(JSONNumber(7).text == "7")
        #expect(JSONNumber(65.2).text == "65.2")
        #expect(JSONNumber(100.0).text == "100.0")
        #expect(JSONNumber(0.1).text == "0.1")
        #expect(JSONNumber(-0.0).text == "-0.0")
        #expect(JSONNumber(1e20).text == "1e+20")
        for d in [
            65.2, 100.0, 0.1, 1e20, 1e-7, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude, 1.0 / 3.0,
        ] {
            let text = JSONValue.number(JSONNumber(d)).compactJSON
            guard case .number(let back) = try parse(text) else {
                Issue.record("\(text) not a number")
                continue
            }
            #expect(back.double == d, "\(text)")
        }
        #expect(JSONNumber(65.2).int64 == nil)
        #expect(JSONNumber(Int64(65)).int64 == 65)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteDoublesSerializeAsNull(_ d: Double) throws {
        let n = JSONNumber(d)
        #expect(n.double.isNaN)
        #expect(n.int64 == nil)
        #expect(!n.isIntegerLiteral)
        #expect(try parse(JSONValue.number(n).compactJSON) == .null)
    }
}

// MARK: - Rejected input

@Suite struct JSONRejectionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let input: String
        let message: String
        let offset: Int
        init(_ input: String, _ message: String, _ offset: Int) {
            self.input = input
            self.message = message
            self.offset = offset
        }
        var testDescription: String { "\(input.debugDescription) -> \(message) @\(offset)" }
    }

    @Test(arguments: [
        Case("NaN", "Expecting value", 0),
        Case("Infinity", "Expecting value", 0),
        Case("-Infinity", "Invalid number", 1),
        Case("+1", "Expecting value", 0),
        Case("01", "Invalid number", 1),
        Case("-01", "Invalid number", 2),
        Case("00", "Invalid number", 1),
        Case(".5", "Expecting value", 0),
        Case("5.", "Invalid number", 2),
        Case("5.e3", "Invalid number", 2),
        Case("0x1F", "Invalid number", 1),
        Case("1e", "Invalid number", 2),
        Case("1e+", "Invalid number", 3),
        Case("-", "Invalid number", 1),
        Case("- 1", "Invalid number", 1),
        Case("1.5.3", "Invalid number", 3),
        Case("[1a]", "Invalid number", 2),
        Case("tru", "Expecting value", 0),
        Case("True", "Expecting value", 0),
        Case("nul", "Expecting value", 0),
        Case("NULL", "Expecting value", 0),
        Case("fals", "Expecting value", 0),
        Case("[truth]", "Expecting value", 1),
        Case("'a'", "Expecting value", 0),
        Case("undefined", "Expecting value", 0),
    ])
    func badLiterals(_ c: Case) {
        let error = parseError(c.input)
        #expect(error == JSONParseError(message: c.message, offset: c.offset))
    }

    @Test(arguments: [
        Case("", "Expecting value", 0),
        Case("   ", "Expecting value", 3),
        Case("[", "Expecting value", 1),
        Case("[1,]", "Expecting value", 3),
        Case("[,1]", "Expecting value", 1),
        Case("[1 2]", "Expecting ',' delimiter", 3),
        Case("[1", "Expecting ',' delimiter", 2),
        Case("[1}", "Expecting ',' delimiter", 2),
        Case("{", "Expecting property name enclosed in double quotes", 1),
        Case("{a:1}", "Expecting property name enclosed in double quotes", 1),
        Case("{'a':1}", "Expecting property name enclosed in double quotes", 1),
        Case(#"{"a":1,}"#, "Expecting property name enclosed in double quotes", 7),
        Case(#"{"a" 1}"#, "Expecting ':' delimiter", 5),
        Case(#"{"a"}"#, "Expecting ':' delimiter", 4),
        Case(#"{"a":}"#, "Expecting value", 5),
        Case(#"{"a":1"#, "Expecting ',' delimiter", 6),
        Case(#"{"a":1]"#, "Expecting ',' delimiter", 6),
        Case(#"{"a":1 "b":2}"#, "Expecting ',' delimiter", 7),
        Case("1 2", "Extra data", 2),
        Case("{} {}", "Extra data", 3),
        Case("[]]", "Extra data", 2),
        Case("nullx", "Extra data", 4),
        Case(#""a""b""#, "Extra data", 3),
        Case("1\u{0B}", "Extra data", 1),
        Case("\u{0C}1", "Expecting value", 0),
        Case("\u{A0}1", "Expecting value", 0),
        Case("[1,\u{2028}2]", "Expecting value", 3),
    ])
    func structuralErrors(_ c: Case) {
        #expect(parseError(c.input) == JSONParseError(message: c.message, offset: c.offset))
    }

    @Test func emptyByteInput() {
        #expect(parseError([UInt8]()) == JSONParseError(message: "Expecting value", offset: 0))
    }

    @Test func onlyFourWhitespaceCharacters() throws {
        #expect(
            try parse(" \t\n\r[ \t\n\r1 \t\n\r, \t\n\r{ \t\n\r\"a\" \t\n\r: \t\n\rnull \t\n\r} \t\n\r] \t\n\r")
                == .array([.number(JSONNumber(1)), .object(JSONObject([("a", .null)]))]))
    }

    @Test func utf8BOMIsRejected() {
        #expect(
            parseError([0xEF, 0xBB, 0xBF, 0x7B, 0x7D]) == JSONParseError(message: "Unexpected UTF-8 BOM", offset: 0))
        #expect(parseError("\u{FEFF}{}") == JSONParseError(message: "Unexpected UTF-8 BOM", offset: 0))
        #expect(throws: JSONParseError.self) { try JSONParser.parse("\u{FEFF}1") }
    }
}

// MARK: - Strings

@Suite struct JSONStringTests {
    @Test func simpleEscapes() throws {
        #expect(try parse(#""\" \\ \/ \b \f \n \r \t""#) == .string("\" \\ / \u{08} \u{0C} \n \r \t"))
        #expect(try parse(#""plain""#) == .string("plain"))
        #expect(try parse(#""""#) == .string(""))
    }

    @Test func unicodeEscapes() throws {
        #expect(try parse(#""caf\u00e9 \u00C9""#) == .string("café É"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse(#""x\uD83D\uDE00y""#) == .string("x😀y"))
        #expect(try parse(#""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
        #expect(try parse(#""\u20ac\uFFFF""#) == .string("€\u{FFFF}"))
        #expect(try parse(#""\u0041\u0000B""#) == .string("A\u{0}B"))
    }

    @Test(arguments: [
        #""\ud800""#, #""\uD800x""#, #""\ud800\u0041""#, #""\ud800\n""#, #""\ud800\ud800""#,
        #""\udc00""#, #""\uDFFF\uD800""#, #""\u12G4""#, #""\u12""#, #""\u""#, #""\uD83D\uDE0""#,
    ])
    func badUnicodeEscapes(_ input: String) {
        #expect(parseError(input) == JSONParseError(message: "Invalid \\uXXXX escape", offset: 1))
    }

    @Test(arguments: [#""\x""#, #""\a""#, #""\U0041""#, #""\'""#, #""\ ""#, #""\0""#])
    func badEscapes(_ input: String) {
        #expect(parseError(input) == JSONParseError(message: "Invalid \\escape", offset: 1))
    }

    @Test(arguments: [UInt8(0x00), 0x01, 0x09, 0x0A, 0x0D, 0x1F])
    func rawControlCharacters(_ byte: UInt8) {
        #expect(parseError(quoted([0x61, byte])) == JSONParseError(message: "Invalid control character", offset: 2))
        // also after an escape (slow path)
        #expect(
            parseError(quoted([0x5C, 0x6E, byte])) == JSONParseError(message: "Invalid control character", offset: 3))
    }

    @Test func deleteIsNotAControlCharacter() throws {
        #expect(try JSONParser.parse(quoted([0x7F])) == .string("\u{7F}"))
    }

    @Test(arguments: [#""abc"#, #"""#, #""abc\"#, #""a\"#, #"["abc]"#, #""\u00e9"#])
    func unterminatedStrings(_ input: String) {
        let start = input.hasPrefix("[") ? 1 : 0
        #expect(parseError(input) == JSONParseError(message: "Unterminated string", offset: start))
    }

    @Test func escapedNULIsAccepted() throws {
        let value = try parse(#"{"k":"a\u0000b"}"#)
        #expect(value.containsNUL)
    }
}

// MARK: - UTF-8

@Suite struct JSONUTF8Tests {
    @Test(arguments: [
        [UInt8(0xC0), 0xAF],  // overlong '/'
        [0xC1, 0xBF],  // overlong
        [0xE0, 0x80, 0xAF],  // overlong 3-byte
        [0xF0, 0x80, 0x80, 0xAF],  // overlong 4-byte
        [0xED, 0xA0, 0x80],  // UTF-8 encoded surrogate U+D800
        [0xED, 0xBF, 0xBF],  // UTF-8 encoded surrogate U+DFFF
        [0xF4, 0x90, 0x80, 0x80],  // U+110000
        [0xF5, 0x80, 0x80, 0x80],
        [0xFF],
        [0xFE],
        [0x80],  // lone continuation byte
        [0xE2, 0x82],  // truncated U+20AC
        [0xF0, 0x9F, 0x98],  // truncated U+1F600
        [0xC3],  // truncated U+00E9
        [0xC3, 0x41],  // missing continuation
        [0xF8, 0x88, 0x80, 0x80, 0x80],
    ])
    func invalidUTF8InStrings(_ bytes: [UInt8]) {
        let expected = JSONParseError(message: "Invalid UTF-8", offset: 1)
        #expect(parseError(quoted(bytes)) == expected)  // fast path
        #expect(parseError([0x22] + bytes) == expected)  // truncated at end of input
        // The slow path (after an escape).
        #expect(parseError(quoted([0x5C, 0x6E] + bytes)) == JSONParseError(message: "Invalid UTF-8", offset: 3))
    }

    @Test func invalidUTF8OutsideStrings() {
        #expect(parseError([0xFF]) == JSONParseError(message: "Invalid UTF-8", offset: 0))
        #expect(parseError([0x5B, 0x31, 0x5D, 0xC0]) == JSONParseError(message: "Invalid UTF-8", offset: 3))
        #expect(parseError([0x5B, 0xED, 0xA0, 0x80, 0x5D]) == JSONParseError(message: "Invalid UTF-8", offset: 1))
        // valid UTF-8 in a structural position is a syntax error
        #expect(parseError("[é]") == JSONParseError(message: "Expecting value", offset: 1))
    }

    @Test(arguments: [
        ([UInt8(0xC3), 0xA9], "é"),
        ([0xE2, 0x82, 0xAC], "€"),
        ([0xF0, 0x9F, 0x98, 0x80], "😀"),
        ([0xF4, 0x8F, 0xBF, 0xBF], "\u{10FFFF}"),
        ([0xEF, 0xBF, 0xBF], "\u{FFFF}"),
        ([0xED, 0x9F, 0xBF], "\u{D7FF}"),
        ([0xEE, 0x80, 0x80], "\u{E000}"),
        ([0xC2, 0x80], "\u{80}"),
    ])
    func validMultiByteSequences(_ bytes: [UInt8], _ expected: String) throws {
        #expect(try JSONParser.parse(quoted(bytes)) == .string(expected))
        #expect(try JSONParser.parse(quoted([0x5C, 0x74] + bytes)) == .string("\t" + expected))
    }
}

// MARK: - Objects and duplicate keys

@Suite struct JSONObjectTests {
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, 7),
        (#"{"a":1,"\u0061":2}"#, 7),
        (#"{"x":{"b":1,"c":2,"b":3}}"#, 18),
        (#"[{"a":1},{"a":2,"a":3}]"#, 16),
    ])
    func duplicateKeys(_ input: String, _ offset: Int) {
        let error = parseError(input)
        #expect(error?.offset == offset)
        #expect(error?.message.hasPrefix("Duplicate key \"") == true)
    }

    @Test func duplicateKeyMessage() {
        #expect(parseError(#"{"name":1,"name":2}"#)?.message == #"Duplicate key "name""#)
        #expect(parseError(#"{"a\nb":1,"a\nb":2}"#)?.message == #"Duplicate key "a\nb""#)
    }

    @Test func duplicateKeyInLargeObject() {
        var members = (0..<100).map { "\"k\($0)\":\($0)" }
        #expect(parseError("{" + members.joined(separator: ",") + "}") == nil)
        members.append(#""k3":0"#)
        let error = parseError("{" + members.joined(separator: ",") + "}")
        #expect(error?.message == #"Duplicate key "k3""#)
    }

    @Test func sameKeyInDifferentObjectsIsFine() throws {
        #expect(parseError(#"[{"a":1},{"a":2}]"#) == nil)
        #expect(parseError(#"{"a":{"a":{"a":1}},"b":{"a":2}}"#) == nil)
    }

    @Test func keysCompareByBytesNotCanonicalEquivalence() throws {
        // U+00E9 vs e + U+0301, and K vs KELVIN SIGN: distinct JSON keys.
        guard case .object(let o1) = try parse(#"{"\u00e9":1,"e\u0301":2}"#),
            case .object(let o2) = try parse(#"{"K":1,"\u212a":2}"#)
        else {
            Issue.record("not objects")
            return
        }
        #expect(o1.count == 2)
        #expect(o2.count == 2)
        #expect(o2["K"] == .number(JSONNumber(1)))
        #expect(o2["\u{212A}"] == .number(JSONNumber(2)))
        #expect(JSONValue.string("\u{E9}") != .string("e\u{301}"))
    }

    @Test func keepsInsertionOrder() throws {
        guard case .object(let object) = try parse(#"{"z":1,"a":2,"m":3}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(object.keys == ["z", "a", "m"])
        #expect(JSONValue.object(object).compactJSON == #"{"z":1,"a":2,"m":3}"#)
    }

    @Test func subscriptSemantics() {
        var object = JSONObject()
        #expect(object.isEmpty && object.count == 0)
        object["a"] = .number(JSONNumber(1))
        object["b"] = .string("x")
        object["c"] = .null
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["c"] == .null)  // stored null is present
        #expect(object["missing"] == nil)
        object["a"] = .bool(true)  // replaced in place
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"] == .bool(true))
        object["b"] = nil  // removed
        #expect(object.keys == ["a", "c"])
        object["b"] = .array([])  // appended
        #expect(object.keys == ["a", "c", "b"])
        #expect(object.count == 3 && !object.isEmpty)
    }

    @Test func initializerAndEquality() {
        let object = JSONObject([("a", .null), ("b", .bool(false)), ("a", .bool(true))])
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == .bool(true))
        #expect(JSONObject([("a", .null), ("b", .null)]) != JSONObject([("b", .null), ("a", .null)]))
        #expect(JSONObject([("a", .null)]) == JSONObject([("a", .null)]))
        #expect(Set([JSONValue.object(object), .object(object)]).count == 1)
    }
}

// MARK: - Depth

@Suite struct JSONDepthTests {
    @Test(arguments: [10_000, 1_000_000])
    func hugeNestingFailsFastWithoutRecursion(_ depth: Int) {
        let open = [UInt8](repeating: UInt8(ascii: "["), count: depth)
        let close = [UInt8](repeating: UInt8(ascii: "]"), count: depth)
        #expect(parseError(open) == JSONParseError(message: "Nesting too deep", offset: 128))
        #expect(parseError(open + close) == JSONParseError(message: "Nesting too deep", offset: 128))
        let objects = String(repeating: #"{"a":"#, count: depth)
        #expect(parseError(objects) == JSONParseError(message: "Nesting too deep", offset: 128 * 5))
    }

    @Test func exactlyMaxDepthIsAccepted() throws {
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try parse(ok).nestingDepth == 128)
        let tooDeep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(parseError(tooDeep) == JSONParseError(message: "Nesting too deep", offset: 128))

        let objects = String(repeating: #"{"a":"#, count: 128) + "1" + String(repeating: "}", count: 128)
        #expect(try parse(objects).nestingDepth == 128)
    }

    @Test func customMaxDepth() throws {
        #expect(try parse("[[{}]]", maxDepth: 3).nestingDepth == 3)
        #expect(parseError("[[{}]]", maxDepth: 2) == JSONParseError(message: "Nesting too deep", offset: 2))
        #expect(parseError("[[1],[[2]]]", maxDepth: 2) == JSONParseError(message: "Nesting too deep", offset: 6))
        #expect(try parse("1", maxDepth: 0) == .number(JSONNumber(1)))
        #expect(parseError("[]", maxDepth: 0) == JSONParseError(message: "Nesting too deep", offset: 0))
    }

    @Test func wideDocumentsAreNotDeep() throws {
        let wide = "[" + Array(repeating: "[1,{\"a\":[]}]", count: 10_000).joined(separator: ",") + "]"
        guard case .array(let items) = try parse(wide, maxDepth: 4) else {
            Issue.record("not an array")
            return
        }
        #expect(items.count == 10_000)
    }
}

// MARK: - Serialization

@Suite struct JSONSerializationTests {
    @Test func compactOutput() throws {
        let value = try parse(#"{"a": [1, 2], "b": "x\"y\n"}"#)
        #expect(value.compactJSON == #"{"a":[1,2],"b":"x\"y\n"}"#)
        #expect(value.compactByteCount == value.compactJSON.utf8.count)
    }

    @Test func stringEscaping() {
        let value = JSONValue.string("\u{0}\u{1}\u{1F}\u{08}\u{0C}\t\r\n\"\\/ é😀\u{7F}\u{2028}")
        #expect(value.compactJSON == #""\u0000\u0001\u001f\b\f\t\r\n\"\\/ é😀"# + "\u{7F}\u{2028}\"")
        #expect(JSONValue.object(JSONObject([("k\"\n", .null)])).compactJSON == #"{"k\"\n":null}"#)
    }

    @Test(arguments: [
        "null", "true", "false", "0", "-1.5e+10", #""""#, "[]", "{}", #"["a",1,null,true,false,{}]"#,
        #"{"a\u0000":"\u001f\"\\\/","é😀":[[],{"x":{}}]}"#, #"  [ 1 , { "b" : "c\td" } ]  "#,
    ])
    func compactByteCountMatches(_ text: String) throws {
        let value = try parse(text)
        #expect(value.compactByteCount == value.compactJSON.utf8.count)
        #expect(value.compactJSONBytes == Array(value.compactJSON.utf8))
    }

    @Test func roundTrip() throws {
        let text = #"""
            {
              "id": 12345678901234567890, "int": -7, "float": 5.0, "exp": 6.02E23, "negzero": -0, "tiny": 1e-400,
              "s": "plain", "esc": "quote \" backslash \\ slash \/ ctl \b\f\n\r\t \u0001 \u001F nul \u0000",
              "uni": "caf\u00e9 ü 中文 😀 \ud83d\ude00 \u2028", "raw": "é😀",
              "nested": {"arr": [[], {}, [null, true, false], {"k": {"k": "v"}}], "empty": ""},
              "n\u00e9": null, "e\u0301": 1
            }
            """#
        let value = try parse(text)
        let compact = value.compactJSON
        let reparsed = try parse(compact)
        #expect(reparsed == value)
        #expect(reparsed.compactJSON == compact)
        #expect(value.compactByteCount == compact.utf8.count)
        #expect(!compact.contains(" \""))
        guard case .object(let object) = value else {
            Issue.record("not an object")
            return
        }
        #expect(object["uni"] == .string("café ü 中文 😀 😀 \u{2028}"))
        #expect(object["float"] == .number(JSONNumber(uncheckedText: "5.0")))
        #expect(object.keys.count == 13)
    }

    @Test func parseStringMatchesParseBytes() throws {
        let text = #"{"a":[1,"é",{"b":null}]}"#
        #expect(try JSONParser.parse(text) == JSONParser.parse(Array(text.utf8)))
        let bytes = Array(text.utf8)
        let viaRaw = try bytes.withUnsafeBytes { raw throws(JSONParseError) in try JSONParser.parse(raw) }
        #expect(viaRaw == (try JSONParser.parse(bytes)))
    }
}

// MARK: - Merge patch (RFC 7396)

@Suite struct JSONMergePatchTests {
    // RFC 7396 Appendix A, all 15 examples: (original, patch, result).
    @Test(arguments: [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, #"null"#, #"null"#),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ])
    func rfc7396AppendixA(_ original: String, _ patch: String, _ expected: String) throws {
        let result = try parse(original).mergePatched(with: parse(patch))
        #expect(result == (try parse(expected)))
        #expect(result.compactJSON == expected)
    }

    @Test func replacedKeysKeepTheirPosition() throws {
        let result = try parse(#"{"a":1,"b":2,"c":3}"#).mergePatched(with: parse(#"{"d":4,"a":9,"b":null}"#))
        #expect(result.compactJSON == #"{"a":9,"c":3,"d":4}"#)
    }

    @Test func largePatchOnLargeTarget() throws {
        let target = JSONValue.object(JSONObject((0..<5_000).map { ("k\($0)", JSONValue.number(JSONNumber($0))) }))
        let patch = JSONValue.object(
            JSONObject((0..<10_000).map { ("k\($0)", $0 % 2 == 0 ? JSONValue.null : .bool(true)) }))
        guard case .object(let result) = target.mergePatched(with: patch) else {
            Issue.record("not an object")
            return
        }
        #expect(result.count == 5_000)
        #expect(result.keys.first == "k1" && result["k1"] == .bool(true) && result["k9999"] == .bool(true))
    }
}

// MARK: - Misc

@Suite struct JSONValueMiscTests {
    @Test func containsNUL() throws {
        #expect(try parse(#"{"x":[{"a\u0000b":1}]}"#).containsNUL)  // nested key
        #expect(try parse(#"[1,{"k":["ok","\u0000"]}]"#).containsNUL)  // nested value
        #expect(try !parse(#"{"x":[{"ab":"\\u0000"}],"y":0}"#).containsNUL)  // escaped backslash, not NUL
        #expect(!JSONValue.number(JSONNumber(0)).containsNUL)
    }

    @Test func typeNames() throws {
        let names = try ["null", "true", "1", #""s""#, "[]", "{}"].map { try parse($0).typeName }
        #expect(names == ["null", "boolean", "number", "string", "array", "object"])
    }

    @Test func errorDescription() {
        #expect(JSONParseError(message: "Extra data", offset: 3).description == "Extra data at byte 3")
    }

    @Test func timingOfAOneMebibyteDocument() throws {
        var parts: [String] = []
        var size = 0
        var k = 0
        while size < 1 << 20 {
            let item =
                #"{"id":\#(k),"name":"job-\#(k) \"q\" caf\u00e9 ü 😀","score":\#(Double(k) / 7.0),"tags":["a","b"],"on":\#(k % 2 == 0),"m":{"n":null}}"#
            parts.append(item)
            size += item.utf8.count + 1
            k += 1
        }
        let bytes = Array(("[" + parts.joined(separator: ",") + "]").utf8)
        var value = JSONValue.null
        let elapsed = try ContinuousClock().measure { value = try JSONParser.parse(bytes) }
        print("parsed \(bytes.count) bytes (\(k) objects) in \(elapsed)")
        guard case .array(let items) = value else {
            Issue.record("not an array")
            return
        }
        #expect(items.count == k)
        // `\u00e9` is written back raw (2 bytes instead of 6) per object
        #expect(value.compactByteCount == bytes.count - 4 * k)
        #expect(try JSONParser.parse(value.compactJSONBytes) == value)
    }
}
