import Crypto
public import StrictJSON

/// The rules of `Idempotency-Key` (spec §5) that do not depend on storage.
public enum Idempotency {
    /// Checks the header: 1–255 printable ASCII characters.
    public static func validateKey(_ key: String?) throws(APIError) -> String? {
        guard let key else { return nil }
        let bytes = key.utf8
        guard !bytes.isEmpty, bytes.count <= 255, bytes.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }) else {
            throw .validation([
                ValidationIssue(
                    "header", ["Idempotency-Key"],
                    msg: "Value error, Idempotency-Key must be 1-255 printable ASCII characters", type: "value_error")
            ])
        }
        return key
    }

    /// SHA-256 of method, path (without a trailing slash) and the body as canonical JSON
    /// (keys sorted, compact), so key order and whitespace do not matter.
    public static func requestHash(method: String, path: String, body: JSONValue?) -> [UInt8] {
        var data = Array("\(method)\n\(normalizedPath(path))\n".utf8)
        if let body { data += body.jsonbOrdered.compactJSONBytes }
        return Array(SHA256.hash(data: data))
    }

    public static func normalizedPath(_ path: String) -> String {
        var normalized = path
        while normalized.count > 1 && normalized.hasSuffix("/") { normalized.removeLast() }
        return normalized
    }

    /// A key already recorded for a different request.
    public static let reuseError = APIError.validation([
        ValidationIssue(
            "header", ["Idempotency-Key"],
            msg: "Value error, this Idempotency-Key was already used for a different request", type: "value_error")
    ])

    /// The answer to a request whose key already holds `recorded`, made by a request with hash
    /// `hash`: the same request gets the recorded response again, another one the reuse error.
    public static func answer(_ guarded: IdempotencyGuard, recorded: RecordedResponse, hash: [UInt8])
        -> Result<WriteOutcome, APIError>
    {
        hash == guarded.requestHash ? .success(WriteOutcome(response: recorded, replayed: true)) : .failure(reuseError)
    }

    /// Two requests with one key are the same request when method, path and body hash agree.
    public static func guardOf(key: String?, method: String, path: String, body: JSONValue?) -> IdempotencyGuard? {
        key.map {
            IdempotencyGuard(
                key: $0, method: method, path: path, requestHash: requestHash(method: method, path: path, body: body))
        }
    }
}
