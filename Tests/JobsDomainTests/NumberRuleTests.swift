import Foundation
import JobsTestSupport
import Testing

@testable import JobsDomain
@testable import StrictJSON

/// The stored-number rule (`JSONNumber.canonical`) and its fuzz test: whatever number a client
/// sends, it is refused, or stored in a form no longer than a double's plain decimal (≤ 330
/// bytes) that PostgreSQL prints back unchanged and that keeps the value.
@Suite struct NumberRuleTests {
    func canonical(_ text: String) throws -> String? {
        guard case .number(let number) = try JSONParser.parse(text) else { return nil }
        return number.canonical?.text
    }

    @Test(arguments: [
        ("0", "0"), ("-0", "0"), ("42", "42"), ("-9007199254740991", "-9007199254740991"),
        ("9007199254740991", "9007199254740991"), ("1.0", "1.0"), ("1.50", "1.5"), ("-0.0", "0.0"), ("0e-999", "0.0"),
        ("1e2", "100.0"), ("1E+2", "100.0"), ("1.5e1", "15.0"), ("1e-5", "0.00001"), ("0.00012", "0.00012"),
        ("123.456", "123.456"), ("-2.5e-3", "-0.0025"), ("12345678901234567e-10", "1234567.8901234567"),
        ("1.7976931348623157e308", "17976931348623157" + String(repeating: "0", count: 292) + ".0"),
        ("1e-308", "0." + String(repeating: "0", count: 307) + "1"), ("1e0000002", "100.0"),
    ])
    func acceptedNumbersTakeTheirStoredForm(input: String, stored: String) throws {
        #expect(try canonical(input) == stored)
    }

    @Test(arguments: [
        "1e131071", "1e309", "2e308", "-1e309", "1e-309", "1e-400", "9007199254740992", "-9007199254740992",
        "123456789012345678901234567890", "1.23456789012345678", "1e1234567", "1e99999999999999999999",
    ])
    func refusedNumbers(input: String) throws {
        #expect(try canonical(input) == nil)
    }

    /// The reported request: three 1e131071 in a metadata patch is a 422 naming each field.
    @Test func reportedAmplificationIsRefusedWithTheField() throws {
        let body = try JSONParser.parse(#"{"metadata_patch":{"b":1e131071,"c":1e131071,"d":1e131071}}"#)
        guard case .failure(.validation(let issues)) = ProgressRequest.parse(body) else {
            Issue.record("expected a 422")
            return
        }
        let locs = issues.map {
            $0.loc.map { if case .key(let k) = $0 { return k } else { return "#" } }.joined(separator: ".")
        }
        #expect(Set(locs) == ["body.metadata_patch.b", "body.metadata_patch.c", "body.metadata_patch.d"])
    }

    @Test func nestedLocationsIncludeArrayIndexes() throws {
        let body = try JSONParser.parse(#"{"job_type": "x", "total_items": 1, "metadata": {"a": [1, {"b": 1e400}]}}"#)
        guard case .failure(.validation(let issues)) = CreateJobRequest.parse(body) else {
            Issue.record("expected a 422")
            return
        }
        #expect(issues.count == 1)
        #expect(issues[0].loc == [.key("body"), .key("metadata"), .key("a"), .index(1), .key("b")])
    }

    /// Many short numbers that would each expand past the size limit are refused without
    /// building the expanded value.
    @Test func expansionPastTheLimitIsRefusedAsTooLarge() throws {
        let entries = (0..<5000).map { #""k\#($0)":1e300"# }.joined(separator: ",")
        let body = try JSONParser.parse(#"{"job_type": "x", "total_items": 1, "metadata": {\#(entries)}}"#)
        guard case .failure(.validation(let issues)) = CreateJobRequest.parse(body) else {
            Issue.record("expected a 422")
            return
        }
        #expect(issues.map(\.msg).contains { $0.contains("at most") })
    }

    @Test func storedNumbersAreCanonical() throws {
        let body = try JSONParser.parse(
            #"{"metadata_patch": {"a": 1e2, "b": [0.50, -0]}, "error": {"entity_key": "k", "error_type": "e", "message": "m", "details": {"x": 2.5e-1}}}"#
        )
        let request = try ProgressRequest.parse(body).get()
        #expect(JSONValue.object(request.metadataPatch!).compactJSON == #"{"a":100.0,"b":[0.5,0]}"#)
        #expect(JSONValue.object(request.error!.details).compactJSON == #"{"x":0.25}"#)
    }

    /// Fuzz: random number literals. Each is refused, or stored in a bounded plain-decimal form
    /// that denotes the same double and is its own canonical form (stable through a round trip).
    @Test func fuzzRandomLiterals() throws {
        var rng = SplitMix64(seed: 0x00c0_ffee)
        var accepted = 0
        for _ in 0..<50_000 {
            let literal = Self.randomLiteral(&rng)
            guard case .number(let number) = try JSONParser.parse(literal) else {
                Issue.record("not a number: \(literal)")
                continue
            }
            guard let stored = number.canonical else { continue }
            accepted += 1
            let text = stored.text
            #expect(text.utf8.count <= 330, "\(literal) → \(text.utf8.count) bytes")
            #expect(!text.contains("e") && !text.contains("E"), "\(literal) → \(text)")
            #expect(stored.canonical?.text == text, "stable: \(literal) → \(text)")
            if let double = Double(literal), double != 0 {
                #expect(Double(text) == double, "\(literal) → \(text)")
            }
        }
        #expect(accepted > 10_000)
    }

    static func randomLiteral(_ rng: inout SplitMix64) -> String {
        func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(rng.next() % 10)) }) }
        var s = rng.next() % 2 == 0 ? "-" : ""
        let intLength = Int(rng.next() % 22) + 1
        var integer = digits(intLength)
        if integer.count > 1 && integer.first == "0" { integer = "1" + integer.dropFirst() }
        s += integer
        if rng.next() % 2 == 0 { s += "." + digits(Int(rng.next() % 20) + 1) }
        if rng.next() % 2 == 0 {
            let e = Int(rng.next() % 700) - 350
            s += (rng.next() % 2 == 0 ? "e" : "E") + String(e)
        }
        return s
    }
}
