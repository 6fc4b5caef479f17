import Foundation

/// Opaque page cursors: base64url of a small versioned text. Clients must not parse them.
public enum Cursors {
    public static func encode(_ cursor: ListCursor) -> String {
        base64url("j1|\(cursor.createdMicros)|\(cursor.jobID)")
    }

    public static func decodeList(_ text: String) -> ListCursor? {
        guard let raw = unbase64url(text) else { return nil }
        let parts = raw.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "j1", let micros = Int64(parts[1]), !parts[2].isEmpty,
            parts[2].count <= Limits.maxJobIDLength
        else { return nil }
        return ListCursor(createdMicros: micros, jobID: String(parts[2]))
    }

    public static func encodeEvents(afterSeq: Int64) -> String {
        base64url("e1|\(afterSeq)")
    }

    public static func decodeEvents(_ text: String) -> Int64? {
        guard let raw = unbase64url(text) else { return nil }
        let parts = raw.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "e1", let seq = Int64(parts[1]), seq >= 0 else { return nil }
        return seq
    }

    static func base64url(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: String) -> String? {
        guard !text.isEmpty, text.count <= 512 else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let string = String(data: data, encoding: .utf8) else {
            return nil
        }
        return string
    }
}
