import Foundation
public import JobsDomain
public import LibPQ
public import Logging

/// The PostgreSQL implementation of the storage seams, and the only place database failures
/// become domain errors: unavailability (`PGError.isUnavailable`) is `APIError.unavailable`, a
/// statement or lock timeout or a deadlock that outlived the retries is `APIError.busy`. Other
/// errors pass through unchanged (the HTTP layer logs them and answers a generic 500).
public struct PostgresStore: JobStorage, CredentialStore, ReadinessProbe {
    let database: Database
    let repository: JobRepository
    let idempotency: IdempotencyStore
    let writer: JobWriter
    let live: LiveChanges
    let logger: Logger

    /// `live`: where committed changes are announced (by default only to this process's feed).
    /// `webhooks`: how job-end events are rendered for the webhook outbox (nil: none are queued).
    public init(
        client: PGClient, live: LiveChanges = LiveChanges(publisher: nil), webhooks: WebhookEvents? = nil,
        logger: Logger = Logger(label: "jobs-api")
    ) {
        database = Database(client: client)
        repository = JobRepository(database: database)
        idempotency = IdempotencyStore(database: database)
        writer = JobWriter(database: database, announce: live.committed, webhooks: webhooks)
        self.live = live
        self.logger = logger
    }

    public var changes: ChangeFeed { live.feed }

    // MARK: JobStorage

    public func create(
        organization: String, guarded: IdempotencyGuard?, _ make: @Sendable () -> (Job, RecordedResponse)
    ) async throws -> WriteOutcome {
        try await translatingErrors {
            guard guarded != nil else {
                // No key: one round trip.
                let (job, response) = make()
                if let version = try await repository.create(job) {
                    // The first progress report on it can then take the one-round-trip path.
                    writer.cache.store(
                        .init(organization: organization, jobID: job.jobID), job: job, version: version, recent: [])
                    live.committed(JobSnapshot(job: job, recent: [], version: version))
                }
                return WriteOutcome(response: response, replayed: false)
            }
            var created: JobSnapshot?
            let (response, replayed) = try await idempotency.run(organization: organization, guarded: guarded) { tx in
                let (job, response) = make()
                created = try await repository.create(job, tx).map { JobSnapshot(job: job, recent: [], version: $0) }
                return response
            }
            if !replayed, let created { live.committed(created) }
            return WriteOutcome(response: response, replayed: replayed)
        }
    }

    public func job(_ id: String, in organization: String) async throws -> (Job, [JobEvent])? {
        try await translatingErrors { try await repository.job(id, in: organization) }
    }

    public func snapshot(_ id: String, in organization: String) async throws -> JobSnapshot? {
        try await translatingErrors { try await repository.snapshot(id, in: organization) }
    }

    public func jobRow(_ id: String, in organization: String) async throws -> Job? {
        try await translatingErrors { try await repository.jobRow(id, in: organization) }
    }

    public func list(_ filter: ListFilter, in organization: String) async throws -> ([Job], ListCursor?) {
        try await translatingErrors { try await repository.list(filter, in: organization) }
    }

    public func events(of id: String, kind: EventKind, in organization: String, limit: Int, afterSeq: Int64)
        async throws -> ([JobEvent], Int64?)?
    {
        try await translatingErrors {
            try await repository.events(of: id, kind: kind, in: organization, limit: limit, afterSeq: afterSeq)
        }
    }

    public func write(organization: String, jobID: String, _ change: JobChange) async throws -> WriteOutcome {
        try await translatingErrors { try await writer.write(organization: organization, jobID: jobID, change) }
    }

    // MARK: CredentialStore

    public func apiKey(hash: [UInt8]) async throws -> Principal? {
        try await translatingErrors {
            let rows = try await database.client.query(
                "SELECT organization_id, key_id, role FROM auth_api_key(\(PGBytes(hash)))")
            return try rows.first.flatMap { row in
                guard let role = Role(rawValue: try row.decode("role")) else { return nil }
                return .apiKey(
                    keyID: try row.decode("key_id"), organizationID: try row.decode("organization_id"), role: role)
            }
        }
    }

    /// Sessions created by `jobs-api session create`, looked up by SHA-256 through `auth_session`.
    public func session(token: String) async throws -> Principal? {
        try await translatingErrors {
            let rows = try await database.client.query(
                "SELECT user_id, organization_id, role FROM auth_session(\(PGBytes(Token.hash(token))))")
            guard let first = rows.first else { return nil }
            var memberships: [Principal.Membership] = []
            for row in rows {
                guard let org = try row.decode("organization_id", as: String?.self),
                    let role = Role(rawValue: try row.decode("role", as: String?.self) ?? "")
                else { continue }
                memberships.append(.init(organizationID: org, role: role))
            }
            return .user(userID: try first.decode("user_id"), memberships: memberships)
        }
    }

    /// The organization linked to a Stytch organization, through `auth_stytch_organization`
    /// (the runtime role cannot read other organizations' rows).
    public func organization(linkedToStytch stytchOrganizationID: String) async throws -> String? {
        try await translatingErrors {
            let rows = try await database.client.query(
                "SELECT auth_stytch_organization(\(stytchOrganizationID)) AS organization_id")
            return try rows.first?.decode("organization_id", as: String?.self)
        }
    }

    // MARK: ReadinessProbe

    public func migrationVersion() async throws -> Int {
        try await translatingErrors {
            let row = try await database.client.query(
                "SELECT COALESCE(max(version), 0) AS version FROM schema_migrations"
            ).first
            return try row?.decode("version", as: Int.self) ?? 0
        }
    }

    // MARK: Errors at the boundary

    func translatingErrors<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T)
        async throws -> T
    {
        do {
            return try await body()
        } catch let error as PGError where error.isUnavailable {
            logger.warning("database unavailable", metadata: ["error": "\(error.code.rawValue)"])
            throw APIError.unavailable
        } catch let error as PGError where error.isTimeout || error.isRetryableConflict {
            // statement_timeout / lock_timeout, or a deadlock that outlived the server's retries.
            logger.warning("database busy", metadata: ["sqlstate": "\(error.sqlState?.rawValue ?? "")"])
            throw APIError.busy
        }
    }
}
