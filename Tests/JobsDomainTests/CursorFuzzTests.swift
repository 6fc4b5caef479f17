import Foundation
import JobsTestSupport
import LibPQ
import Testing

@testable import JobsDomain

/// Fuzzes the cursor decoders: whatever a client sends, a decoder returns nil (→ `422`) or a
/// value every later step can use (a timestamp PostgreSQL accepts, a URL-safe job id, a
/// sequence number ≥ 0) — never one that makes a statement fail (→ `500`).
@Suite struct CursorFuzzTests {
    /// The reported attack: base64url of `j1|-9223372036854775808|job_x`.
    @Test func craftedTimestampsAreRefused() {
        for micros in [
            "-9223372036854775808", "9223372036854775807", "-1", "253402300800000000", "+5", "05", " 5", "5 ", "",
        ] {
            #expect(Cursors.decodeList(Cursors.base64url("j1|\(micros)|job_x")) == nil, "\(micros)")
        }
        for id in ["", "job x", "job|x", "job_\u{0}", String(repeating: "a", count: 65), "jöb"] {
            #expect(Cursors.decodeList(Cursors.base64url("j1|1795927572123456|\(id)")) == nil, "\(id)")
        }
        #expect(Cursors.decodeList(Cursors.base64url("j1|1795927572123456|job_x")) != nil)
        #expect(Cursors.decodeEvents(Cursors.base64url("e2|error|-1|job_x"), kind: .error, jobID: "job_x") == nil)
        #expect(Cursors.decodeEvents(Cursors.base64url("e1|5"), kind: .error, jobID: "job_x") == nil)
    }

    @Test func randomInputsDecodeToNilOrUsableValues() {
        var rng = SplitMix64(seed: 0x5eed_c0de)
        var accepted = 0
        for round in 0..<30_000 {
            let text = Self.candidate(round, &rng)
            if let cursor = Cursors.decodeList(text) {
                accepted += 1
                #expect(Cursors.listMicros.contains(cursor.createdMicros), "\(text)")
                #expect(Cursors.isJobID(Substring(cursor.jobID)), "\(text)")
                #expect(Cursors.decodeList(Cursors.encode(cursor)) == cursor)
                // The timestamp PostgreSQL gets must be a real one.
                #expect(PGTimestampCheck.isValid(cursor.createdMicros), "\(text)")
            }
            for kind in EventKind.allCases {
                if let seq = Cursors.decodeEvents(text, kind: kind, jobID: "job_fuzz") {
                    #expect(seq >= 0, "\(text)")
                }
            }
        }
        #expect(accepted > 0, "the generator must also produce valid cursors")
    }

    /// Random strings, random bytes, well-formed cursors with random fields, and mutations of
    /// valid cursors.
    static func candidate(_ round: Int, _ rng: inout SplitMix64) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/|% .\u{0}é")
        func randomString(_ length: Int) -> String {
            String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        func randomNumber() -> String {
            switch rng.next() % 5 {
            case 0: return String(Int64(bitPattern: rng.next()))
            case 1: return String(rng.next() % 300_000_000_000_000_000)
            case 2:
                return ["-9223372036854775808", "9223372036854775807", "0", "-0", "00", "1e5", "99999999999999999999"][
                    Int(rng.next() % 7)]
            case 3: return randomString(Int(rng.next() % 6))
            default: return String(Int64(rng.next() % 2_000_000_000_000_000))
            }
        }
        let id = rng.next() % 4 == 0 ? randomString(Int(rng.next() % 70)) : "job_\(rng.next() % 1_000_000)"
        switch round % 6 {
        case 0: return randomString(Int(rng.next() % 40))
        case 1:
            let bytes = (0..<Int(rng.next() % 48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
        case 2: return Cursors.base64url("j1|\(randomNumber())|\(id)")
        case 3:
            let kind = ["error", "warning", "x", ""][Int(rng.next() % 4)]
            return Cursors.base64url("e2|\(kind)|\(randomNumber())|\(rng.next() % 2 == 0 ? "job_fuzz" : id)")
        case 4:
            var chars = Array(
                Cursors.encode(ListCursor(createdMicros: Int64(rng.next() % 2_000_000_000_000_000), jobID: "job_a")))
            chars[Int(rng.next() % UInt64(chars.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            return String(chars)
        default:
            return Cursors.base64url("j1|\(rng.next() % 2_000_000_000_000_000)|job_\(rng.next() % 1000)")
        }
    }
}

/// A deterministic generator, so a failure reproduces.

/// A timestamp the database accepts: formats to a 4-digit year and parses back to itself.
enum PGTimestampCheck {
    static func isValid(_ micros: Int64) -> Bool {
        let text = PGTimestamp.format(microseconds: micros)
        guard text.count == 27, let date = PGTimestamp.parse(text) else { return false }
        // Date is a Double of seconds: far from 2001 it holds a few µs less than the cursor.
        return abs(date.timeIntervalSince1970 * 1_000_000 - Double(micros)) < 1_000
    }
}
