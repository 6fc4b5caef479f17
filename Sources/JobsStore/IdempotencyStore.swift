import Foundation
import JobsDomain
import LibPQ
import StrictJSON

/// Idempotency keys (spec §5): the record of a guarded request is written in the same
/// transaction as the change, so a retry after a lost response replays instead of re-applying,
/// and two identical requests racing with one key apply once (the second one's INSERT waits on
/// the primary key for the first transaction, then finds its record).
///
/// The rules that need no storage (key syntax, request hash, the reuse error) are
/// `JobsDomain.Idempotency`.
struct IdempotencyStore: Sendable {
    let database: Database

    enum Claim {
        case claimed
        /// The key already holds the response of a request with this hash.
        case recorded(hash: [UInt8], response: RecordedResponse)
    }

    /// Claims the key inside the caller's transaction, or finds the response recorded for it.
    /// A concurrent transaction holding the same key makes this wait until it ends.
    static func claim(_ tx: PGLease, organization: String, _ guarded: IdempotencyGuard) async throws -> Claim {
        let path = Idempotency.normalizedPath(guarded.path)
        try await tx.query(
            """
            DELETE FROM idempotency_keys
            WHERE organization_id = \(organization) AND idempotency_key = \(guarded.key) AND expires_at <= now()
            """)
        let inserted = try await tx.query(
            """
            INSERT INTO idempotency_keys (organization_id, idempotency_key, method, path, request_hash)
            VALUES (\(organization), \(guarded.key), \(guarded.method), \(path), \(PGBytes(guarded.requestHash)))
            ON CONFLICT (organization_id, idempotency_key) DO NOTHING
            RETURNING 1 AS inserted
            """)
        if !inserted.isEmpty { return .claimed }
        guard let stored = try await lookup(tx, organization: organization, key: guarded.key) else {
            // Only possible if the record expired and vanished between the statements.
            throw APIError.conflict("A request with this Idempotency-Key is in progress; retry shortly")
        }
        return .recorded(hash: stored.hash, response: stored.response)
    }

    /// The recorded response of a key, if it has one.
    static func lookup(_ tx: PGLease, organization: String, key: String) async throws
        -> (hash: [UInt8], response: RecordedResponse)?
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
            RecordedResponse(status: status, body: body, location: try row.decode("location", as: String?.self))
        )
    }

    /// Records the request that succeeded with a claimed key — its own method, path and hash,
    /// which differ from the claimer's when an earlier request with the key failed.
    static func recordQuery(organization: String, _ guarded: IdempotencyGuard, response: RecordedResponse) -> PGQuery {
        var headers = JSONObject()
        if let location = response.location { headers["Location"] = .string(location) }
        return """
            UPDATE idempotency_keys
            SET method = \(guarded.method), path = \(Idempotency.normalizedPath(guarded.path)),
                request_hash = \(PGBytes(guarded.requestHash)),
                response_status = \(response.status), response_body = \(response.body),
                response_headers = \(PGJSON(text: JSONValue.object(headers).compactJSON))
            WHERE organization_id = \(organization) AND idempotency_key = \(guarded.key)
            """
    }

    /// Gives a claimed key back (its request failed: only successes are recorded).
    static func releaseQuery(organization: String, key: String) -> PGQuery {
        "DELETE FROM idempotency_keys WHERE organization_id = \(organization) AND idempotency_key = \(key)"
    }

    /// Runs a create (or any single change) in a tenant transaction, guarded when `guarded` is
    /// set; a lost deadlock or serialization race is rerun (`Database.retryingConflicts`).
    func run(
        organization: String, guarded: IdempotencyGuard?, _ work: (PGLease) async throws -> RecordedResponse
    ) async throws -> (response: RecordedResponse, replayed: Bool) {
        try await Database.retryingConflicts {
            try await database.transaction(organization: organization) { tx in
                if let guarded {
                    if case .recorded(let hash, let response) = try await Self.claim(
                        tx, organization: organization, guarded)
                    {
                        let replay = try Idempotency.answer(guarded, recorded: response, hash: hash).get()
                        return (replay.response, true)
                    }
                }
                let response = try await work(tx)
                if let guarded {
                    try await tx.query(Self.recordQuery(organization: organization, guarded, response: response))
                }
                return (response, false)
            }
        }
    }
}
