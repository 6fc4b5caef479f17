import Crypto
import Foundation
import LibPQ

/// Idempotency keys (spec §5): the record of a guarded request is written in the same
/// transaction as the change, so a retry after a lost response replays instead of re-applying,
/// and two identical requests racing with one key apply once (the second one's INSERT waits on
/// the primary key for the first transaction, then finds its record).
public struct IdempotencyStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// A response as recorded and replayed.
    public struct StoredResponse: Sendable, Equatable {
        public var status: Int
        public var body: String
        public var location: String?
    }

    /// Checks the header: 1–255 printable ASCII characters.
    public static func validateKey(_ key: String?) throws(APIError) -> String? {
        guard let key else { return nil }
        let bytes = key.utf8
        guard !bytes.isEmpty, bytes.count <= 255, bytes.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }) else {
            throw .validation([
                ValidationIssue(
                    "header", ["Idempotency-Key"], msg: "Value error, Idempotency-Key must be 1-255 printable ASCII characters",
                    type: "value_error")
            ])
        }
        return key
    }

    /// SHA-256 of method, path (without a trailing slash) and the body as canonical JSON
    /// (keys sorted, compact), so key order and whitespace do not matter.
    public static func requestHash(method: String, path: String, body: JSONValue?) -> [UInt8] {
        var normalizedPath = path
        while normalizedPath.count > 1 && normalizedPath.hasSuffix("/") { normalizedPath.removeLast() }
        var data = Array("\(method)\n\(normalizedPath)\n".utf8)
        if let body { data += body.jsonbOrdered.compactJSONBytes }
        return Array(SHA256.hash(data: data))
    }

    public static func normalizedPath(_ path: String) -> String {
        var normalized = path
        while normalized.count > 1 && normalized.hasSuffix("/") { normalized.removeLast() }
        return normalized
    }

    enum Outcome: Sendable {
        case fresh(StoredResponse)
        case replay(StoredResponse)
    }

    /// Runs `work` in a tenant transaction, guarded by `key` when there is one.
    func run(
        organization: String, key: String?, method: String, path: String, hash: [UInt8],
        _ work: (PGLease) async throws -> StoredResponse
    ) async throws -> Outcome {
        guard let key else {
            return .fresh(try await database.transaction(organization: organization) { try await work($0) })
        }
        let path = Self.normalizedPath(path)
        return try await database.transaction(organization: organization) { tx in
            try await tx.query(
                """
                DELETE FROM idempotency_keys
                WHERE organization_id = \(organization) AND idempotency_key = \(key) AND expires_at <= now()
                """)
            let inserted = try await tx.query(
                """
                INSERT INTO idempotency_keys (organization_id, idempotency_key, method, path, request_hash)
                VALUES (\(organization), \(key), \(method), \(path), \(PGBytes(hash)))
                ON CONFLICT (organization_id, idempotency_key) DO NOTHING
                RETURNING 1 AS inserted
                """)
            if inserted.isEmpty {
                let rows = try await tx.query(
                    """
                    SELECT request_hash, response_status, response_body, response_headers ->> 'Location' AS location
                    FROM idempotency_keys WHERE organization_id = \(organization) AND idempotency_key = \(key)
                    """)
                guard let row = rows.first, let status = try row.decode("response_status", as: Int?.self),
                    let body = try row.decode("response_body", as: String?.self)
                else {
                    // Only possible if the record expired and vanished between the statements.
                    throw APIError.conflict("A request with this Idempotency-Key is in progress; retry shortly")
                }
                guard try row.decode("request_hash", as: PGBytes.self).bytes == hash else {
                    throw APIError.validation([
                        ValidationIssue(
                            "header", ["Idempotency-Key"],
                            msg: "Value error, this Idempotency-Key was already used for a different request",
                            type: "value_error")
                    ])
                }
                return .replay(
                    StoredResponse(status: status, body: body, location: try row.decode("location", as: String?.self)))
            }
            let response = try await work(tx)
            var headers = JSONObject()
            if let location = response.location { headers["Location"] = .string(location) }
            try await tx.query(
                """
                UPDATE idempotency_keys
                SET response_status = \(response.status), response_body = \(response.body),
                    response_headers = \(PGJSON(text: JSONValue.object(headers).compactJSON))
                WHERE organization_id = \(organization) AND idempotency_key = \(key)
                """)
            return .fresh(response)
        }
    }
}
