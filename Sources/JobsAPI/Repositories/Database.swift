import LibPQ

/// The app's access to PostgreSQL: the pool plus the tenant rule.
///
/// Every tenant transaction first sets `app.organization_id` for that transaction only
/// (`set_config(..., true)`), which the row-level security policies check, so even a query
/// that forgot its `WHERE organization_id = ...` cannot see or touch another organization.
public struct Database: Sendable {
    public let client: PGClient

    public init(client: PGClient) {
        self.client = client
    }

    /// Runs `body` in a transaction scoped to one organization.
    public func transaction<T>(
        organization: String, isolation: isolated (any Actor)? = #isolation, _ body: (PGLease) async throws -> T
    ) async throws -> T {
        try await client.withTransaction { lease in
            try await lease.query("SELECT set_config('app.organization_id', \(organization), true)")
            return try await body(lease)
        }
    }

    /// Runs `body` again when its transaction lost a deadlock or serialization race (`40P01`,
    /// `40001`: PostgreSQL rolled it all back, so a rerun is safe), up to `attempts` times with
    /// a short random pause; the last failure is rethrown (the error mapping makes it a `503`).
    public static func retryingConflicts<T>(
        attempts: Int = 4, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as PGError where error.isRetryableConflict && attempt < attempts {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...25) * attempt))
            }
        }
    }

    /// Runs `queries` in one round trip: the tenant setting and the statements are pipelined and
    /// run as one implicit transaction (so the setting applies to them and to nothing after, and
    /// they commit or fail together).
    public func read(organization: String, _ queries: [PGQuery]) async throws -> [PGRows] {
        try await client.withConnection { lease in
            let results = try await lease.pipeline(
                ["SELECT set_config('app.organization_id', \(organization), true)"] + queries)
            return Array(results.dropFirst())
        }
    }
}
