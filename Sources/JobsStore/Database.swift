import JobsDomain
public import LibPQ

/// The one door to PostgreSQL: the pool plus the tenant rule.
///
/// Every tenant transaction first sets `app.organization_id` for that transaction only
/// (`set_config(..., true)`), which the row-level security policies check, so even a query
/// that forgot its `WHERE organization_id = ...` cannot see or touch another organization.
/// `tenantSetting` is the only place that statement is written; `transaction`, `read` and
/// `lockedJob` are the only ways to run tenant statements.
public struct Database: Sendable {
    /// The pool. Used only inside `JobsStore` (a CI guard checks that no other module reaches it).
    public let client: PGClient

    public init(client: PGClient) {
        self.client = client
    }

    /// Runs `body` in a transaction scoped to one organization.
    public func transaction<T>(
        organization: String, isolation: isolated (any Actor)? = #isolation, _ body: (PGLease) async throws -> T
    ) async throws -> T {
        try await client.withTransaction { lease in
            try await lease.query(Self.tenantSetting(organization))
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
            let results = try await lease.pipeline([Self.tenantSetting(organization)] + queries)
            return Array(results.dropFirst())
        }
    }

    /// Scopes the current transaction to one organization (the row-level security policies read it).
    static func tenantSetting(_ organization: String) -> PGQuery {
        "SELECT set_config('app.organization_id', \(organization), true)"
    }

    /// A locked batch of one job: one round trip begins a tenant transaction, locks and reads the
    /// job row (with its version, see `JobCache`) and its most recent events; `body` works on them
    /// (in memory, or with statements of its own on the lease) and returns the statements to
    /// commit with, which are sent with `COMMIT` in a second round trip; their results are
    /// returned. `body` gets nil when the job does not exist (or is another organization's). On
    /// any failure the pool rolls the connection back before reusing it.
    func lockedJob<T>(
        organization: String, jobID: String, isolation: isolated (any Actor)? = #isolation,
        _ body: (PGLease, (job: Job, recent: [JobEvent], version: String)?) async throws -> (T, [PGQuery])
    ) async throws -> (T, [PGRows]) {
        try await client.withConnection { tx in
            let opened = try await tx.pipeline([
                "BEGIN", Self.tenantSetting(organization),
                JobRepository.selectJob(jobID, organization: organization, lock: true),
                JobRepository.recentEventsQuery(jobID, organization: organization),
            ])
            let locked = try opened[2].first.map {
                (
                    job: try JobRepository.decodeJob($0), recent: try JobRepository.decodeEvents(opened[3]),
                    version: try $0.decode("version", as: String.self)
                )
            }
            let (value, writes) = try await body(tx, locked)
            let results = try await tx.pipeline(writes + ["COMMIT"])
            if results.last?.commandTag == "ROLLBACK" {
                throw PGError(code: .server, message: "the transaction failed and was rolled back instead of committed")
            }
            return (value, Array(results.dropLast()))
        }
    }
}
