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
        var data = Array("\(method)\n\(normalizedPath(path))\n".utf8)
        if let body { data += body.jsonbOrdered.compactJSONBytes }
        return Array(SHA256.hash(data: data))
    }

    public static func normalizedPath(_ path: String) -> String {
        var normalized = path
        while normalized.count > 1 && normalized.hasSuffix("/") { normalized.removeLast() }
        return normalized
    }

    static let reuseError = APIError.validation([
        ValidationIssue(
            "header", ["Idempotency-Key"], msg: "Value error, this Idempotency-Key was already used for a different request",
            type: "value_error")
    ])

    enum Claim {
        case claimed
        case replay(StoredResponse)
        case mismatch
    }

    /// Claims `key` inside the caller's transaction, or finds the response recorded for it.
    /// A concurrent transaction holding the same key makes this wait until it ends.
    static func claim(
        _ tx: PGLease, organization: String, key: String, method: String, path: String, hash: [UInt8]
    ) async throws -> Claim {
        let path = normalizedPath(path)
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
        if !inserted.isEmpty { return .claimed }
        guard let stored = try await lookup(tx, organization: organization, key: key) else {
            // Only possible if the record expired and vanished between the statements.
            throw APIError.conflict("A request with this Idempotency-Key is in progress; retry shortly")
        }
        return stored.hash == hash ? .replay(stored.response) : .mismatch
    }

    /// The recorded response of a key, if it has one.
    static func lookup(_ tx: PGLease, organization: String, key: String) async throws
        -> (hash: [UInt8], response: StoredResponse)?
    {
        let rows = try await tx.query(
            """
            SELECT request_hash, response_status, response_body, response_headers ->> 'Location' AS location
            FROM idempotency_keys
            WHERE organization_id = \(organization) AND idempotency_key = \(key) AND expires_at > now()
            """)
        guard let row = rows.first, let status = try row.decode("response_status", as: Int?.self),
            let body = try row.decode("response_body", as: String?.self)
        else { return nil }
        return (
            try row.decode("request_hash", as: PGBytes.self).bytes,
            StoredResponse(status: status, body: body, location: try row.decode("location", as: String?.self))
        )
    }

    /// Stores the response of a claimed key (same transaction as the change).
    static func record(
        _ tx: PGLease, organization: String, key: String, method: String, path: String, hash: [UInt8],
        response: StoredResponse
    ) async throws {
        try await tx.query(
            recordQuery(organization: organization, key: key, method: method, path: path, hash: hash, response: response))
    }

    /// Records the request that succeeded with a claimed key — its own method, path and hash,
    /// which differ from the claimer's when an earlier request with the key failed.
    static func recordQuery(
        organization: String, key: String, method: String, path: String, hash: [UInt8], response: StoredResponse
    ) -> PGQuery {
        var headers = JSONObject()
        if let location = response.location { headers["Location"] = .string(location) }
        return """
            UPDATE idempotency_keys
            SET method = \(method), path = \(normalizedPath(path)), request_hash = \(PGBytes(hash)),
                response_status = \(response.status), response_body = \(response.body),
                response_headers = \(PGJSON(text: JSONValue.object(headers).compactJSON))
            WHERE organization_id = \(organization) AND idempotency_key = \(key)
            """
    }

    /// Gives a claimed key back (its request failed: only successes are recorded).
    static func releaseQuery(organization: String, key: String) -> PGQuery {
        "DELETE FROM idempotency_keys WHERE organization_id = \(organization) AND idempotency_key = \(key)"
    }

    /// Runs a create (or any single change) in a tenant transaction, guarded by `key` when set.
    func run(
        organization: String, key: String?, method: String, path: String, hash: [UInt8],
        _ work: (PGLease) async throws -> StoredResponse
    ) async throws -> (response: StoredResponse, replayed: Bool) {
        try await Database.retryingConflicts { try await guardedTransaction(organization: organization, key: key, method: method, path: path, hash: hash, work) }
    }

    private func guardedTransaction(
        organization: String, key: String?, method: String, path: String, hash: [UInt8],
        _ work: (PGLease) async throws -> StoredResponse
    ) async throws -> (response: StoredResponse, replayed: Bool) {
        try await database.transaction(organization: organization) { tx in
            if let key {
                switch try await Self.claim(tx, organization: organization, key: key, method: method, path: path, hash: hash) {
                case .claimed: break
                case .replay(let stored): return (stored, true)
                case .mismatch: throw Self.reuseError
                }
            }
            let response = try await work(tx)
            if let key {
                try await Self.record(
                    tx, organization: organization, key: key, method: method, path: path, hash: hash, response: response)
            }
            return (response, false)
        }
    }
}
