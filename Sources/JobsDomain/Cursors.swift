import Foundation

/// Opaque page cursors: base64url of a small versioned text. Clients must not parse them.
///
/// Decoding accepts only what `encode` can produce: the right version tag, in-range numbers
/// and a job id of URL-safe characters. An events cursor also names the job and the kind
/// (errors or warnings) it pages, so a cursor of another job or list is refused, not followed.
/// Anything else decodes to nil, which the query parser turns into a `422` at
/// `["query", "cursor"]` — never a value that could make a statement fail.
public enum Cursors {
    /// `created_at` bounds of a list cursor, in µs since the epoch: 1970-01-01 … 9999-12-31
    /// (every job is created inside it; PostgreSQL and gmtime handle all of it).
    static let listMicros: ClosedRange<Int64> = 0...253_402_300_799_999_999

    public static func encode(_ cursor: ListCursor) -> String {
        base64url("j1|\(cursor.createdMicros)|\(cursor.jobID)")
    }

    public static func decodeList(_ text: String) -> ListCursor? {
        guard let raw = unbase64url(text) else { return nil }
        let parts = raw.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "j1", let micros = canonicalInt(parts[1]), listMicros.contains(micros),
            isJobID(parts[2])
        else { return nil }
        return ListCursor(createdMicros: micros, jobID: String(parts[2]))
    }

    public static func encodeEvents(afterSeq: Int64, kind: EventKind, jobID: String) -> String {
        base64url("e2|\(kind.rawValue)|\(afterSeq)|\(jobID)")
    }

    /// The sequence number to continue after, or nil for a cursor that is malformed or was made
    /// for another job or kind.
    public static func decodeEvents(_ text: String, kind: EventKind, jobID: String) -> Int64? {
        guard let raw = unbase64url(text) else { return nil }
        let parts = raw.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "e2", parts[1] == kind.rawValue, let seq = canonicalInt(parts[2]), seq >= 0,
            parts[3] == jobID
        else { return nil }
        return seq
    }

    /// A decimal integer exactly as `String(Int64)` writes it (no sign, padding or spaces).
    static func canonicalInt(_ text: Substring) -> Int64? {
        guard let value = Int64(text), String(value) == text else { return nil }
        return value
    }

    /// 1–64 URL-safe characters (what `JobID.generate` makes).
    static func isJobID(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.count <= Limits.maxJobIDLength
            && text.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
                    || b == 0x2D
            }
    }

    static func base64url(_ text: String) -> String {
        Base64URL.encode(text.utf8)
    }

    static func unbase64url(_ text: String) -> String? {
        guard let bytes = Base64URL.decode(text, maxLength: 512),
            let string = String(data: Data(bytes), encoding: .utf8),
            !string.unicodeScalars.contains("\u{0}")
        else {
            return nil
        }
        return string
    }
}
