public import Foundation
public import JobsDomain
public import LibPQ

/// A webhook endpoint as its owner sees it (never its secret).
public struct WebhookEndpoint: Sendable, Equatable {
    public var endpointID: String
    public var url: String
    public var events: [String]
    public var enabled: Bool
    public var failingSince: Date?
    public var disabledAt: Date?
    public var disabledReason: String?
    public var previousSecretExpiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
}

/// One row of an endpoint's delivery history.
public struct WebhookDelivery: Sendable, Equatable {
    public var messageID: String
    public var eventType: String
    public var jobID: String?
    public var state: String
    public var attempts: Int
    public var lastStatus: Int?
    public var lastLatencyMs: Int?
    public var lastError: String?
    public var createdAt: Date
    public var lastAttemptAt: Date?
    public var deliveredAt: Date?
    public var nextAttemptAt: Date
}

/// A delivery leased by this instance (`webhook_claim`): everything one POST needs.
public struct ClaimedDelivery: Sendable {
    public var organizationID: String
    public var messageID: String
    public var endpointID: String
    public var eventType: String
    public var payload: String
    public var attempts: Int
    public var createdAt: Date
    public var url: String
    public var secrets: [String]
}

/// The SQL of webhook endpoints and their outbox. Endpoint management and history run as the
/// tenant (RLS); `claim` and `purgeHistory` go through the SECURITY DEFINER functions of
/// migration 0012, the only cross-organization paths.
public struct WebhookStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// How long the previous secret keeps signing after a rotation.
    public static let rotationOverlap: TimeInterval = 24 * 3600

    /// The endpoint columns, as a fragment to append.
    // Safety: a constant of this file.
    static let endpointColumns: PGQuery = " \(unsafeRaw: endpointColumnList) "

    static let endpointColumnList = """
        endpoint_id, url, array_to_string(events, ',') AS events, enabled, failing_since, disabled_at, disabled_reason,
        CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END AS previous_secret_expires_at,
        created_at, updated_at
        """

    /// Adds an endpoint; returns it with its new secret (shown once). An organization that does
    /// not exist fails the foreign key (SQLSTATE 23503).
    public func add(organization: String, url: String, events: [WebhookEvent]) async throws -> (
        WebhookEndpoint, secret: String
    ) {
        let secret = WebhookSignature.newSecret()
        let id = "whep_" + JobID.generate().dropFirst(4)
        let rows = try await database.read(
            organization: organization,
            [
                """
                INSERT INTO webhook_endpoints (organization_id, endpoint_id, url, secret, events)
                VALUES (\(organization), \(id), \(url), \(secret), \(PGTextArray(events.map(\.rawValue)))::text[])
                RETURNING
                """ + Self.endpointColumns
            ])
        return (try Self.decodeEndpoint(rows[0].first!), secret)
    }

    public func list(organization: String) async throws -> [WebhookEndpoint] {
        try await database.read(
            organization: organization,
            [
                "SELECT " + Self.endpointColumns
                    + " FROM webhook_endpoints WHERE organization_id = \(organization) ORDER BY created_at, endpoint_id"
            ])[0].map(Self.decodeEndpoint)
    }

    public func endpoint(organization: String, id: String) async throws -> WebhookEndpoint? {
        try await database.read(
            organization: organization,
            [
                "SELECT " + Self.endpointColumns
                    + " FROM webhook_endpoints WHERE organization_id = \(organization) AND endpoint_id = \(id)"
            ])[0].first.map(Self.decodeEndpoint)
    }

    /// Deletes the endpoint and its history; false when there is none.
    public func remove(organization: String, id: String) async throws -> Bool {
        let rows = try await database.read(
            organization: organization,
            [
                """
                DELETE FROM webhook_endpoints WHERE organization_id = \(organization) AND endpoint_id = \(id)
                RETURNING endpoint_id
                """
            ])
        return !rows[0].isEmpty
    }

    /// A new secret (returned, shown once); the old one keeps signing for `rotationOverlap`.
    public func rotateSecret(organization: String, id: String) async throws -> (WebhookEndpoint, secret: String)? {
        let secret = WebhookSignature.newSecret()
        let rows = try await database.read(
            organization: organization,
            [
                """
                UPDATE webhook_endpoints SET previous_secret = secret, secret = \(secret),
                    previous_secret_expires_at = now() + make_interval(secs => \(Self.rotationOverlap)),
                    updated_at = now()
                WHERE organization_id = \(organization) AND endpoint_id = \(id)
                RETURNING
                """ + Self.endpointColumns
            ])
        return try rows[0].first.map { (try Self.decodeEndpoint($0), secret) }
    }

    /// Enables (again) a disabled endpoint; its waiting deliveries become due at once.
    public func enable(organization: String, id: String) async throws -> WebhookEndpoint? {
        let rows = try await database.read(
            organization: organization,
            [
                """
                UPDATE webhook_endpoints SET enabled = true, disabled_at = NULL, disabled_reason = NULL,
                    failing_since = NULL, updated_at = now()
                WHERE organization_id = \(organization) AND endpoint_id = \(id)
                RETURNING
                """ + Self.endpointColumns,
                """
                UPDATE webhook_outbox SET next_attempt_at = now()
                WHERE organization_id = \(organization) AND endpoint_id = \(id) AND state = 'pending'
                """,
            ])
        return try rows[0].first.map(Self.decodeEndpoint)
    }

    /// The endpoint's deliveries, newest first, before `cursor` (a message id); nil when the
    /// endpoint does not exist.
    public func deliveries(organization: String, endpoint id: String, limit: Int, before cursor: String?)
        async throws -> ([WebhookDelivery], next: String?)?
    {
        var page: PGQuery = """
            SELECT message_id, event_type, job_id, state, attempts, last_status, last_latency_ms, last_error, created_at,
                   last_attempt_at, delivered_at, next_attempt_at FROM webhook_outbox
            WHERE organization_id = \(organization) AND endpoint_id = \(id)
            """
        if let cursor {
            page.append(
                """
                 AND (created_at, message_id) < (SELECT created_at, message_id FROM webhook_outbox
                     WHERE organization_id = \(organization) AND message_id = \(cursor))
                """)
        }
        page.append(" ORDER BY created_at DESC, message_id DESC LIMIT \(limit + 1)")
        let rows = try await database.read(
            organization: organization,
            [
                "SELECT 1 AS one FROM webhook_endpoints WHERE organization_id = \(organization) AND endpoint_id = \(id)",
                page,
            ])
        guard !rows[0].isEmpty else { return nil }
        let items = try rows[1].prefix(limit).map(Self.decodeDelivery)
        return (items, rows[1].count > limit ? items.last?.messageID : nil)
    }

    // MARK: The outbox

    /// Queues `event` for every enabled endpoint of the organization that subscribes to it. Meant
    /// to run inside the transaction (or statement) that makes the change: `guardedBy`, when
    /// given, is a CTE name whose emptiness cancels the insert (the compare-and-set path).
    static func enqueueQuery(
        organization: String, jobID: String, event: WebhookEvent, payload: String, guardedBy cte: String? = nil
    ) -> PGQuery {
        var query: PGQuery = """
            INSERT INTO webhook_outbox (organization_id, message_id, endpoint_id, event_type, job_id, payload)
            SELECT e.organization_id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.endpoint_id,
                   \(event.rawValue), \(jobID), \(payload)
            FROM webhook_endpoints AS e
            WHERE e.organization_id = \(organization) AND e.enabled AND \(event.rawValue) = ANY(e.events)
            """
        // Safety: `cte` is a constant name chosen by the caller in this module.
        if let cte { query.append(" AND EXISTS (SELECT 1 FROM \(unsafeRaw: cte))") }
        return query
    }

    /// Leases up to `limit` due deliveries of every organization for `lease`.
    public func claim(limit: Int, lease: Duration) async throws -> [ClaimedDelivery] {
        let seconds = Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18
        let rows = try await database.client.query(
            """
            SELECT organization_id, message_id, endpoint_id, event_type, payload, attempts, created_at, url, secrets
            FROM webhook_claim(\(limit)::int4, make_interval(secs => \(seconds)))
            """)
        return try rows.map { row in
            ClaimedDelivery(
                organizationID: try row.decode("organization_id"), messageID: try row.decode("message_id"),
                endpointID: try row.decode("endpoint_id"), eventType: try row.decode("event_type"),
                payload: try row.decode("payload"), attempts: try row.decode("attempts"),
                createdAt: try row.decode("created_at"), url: try row.decode("url"),
                secrets: try row.decode("secrets", as: String.self).split(separator: " ").map(String.init))
        }
    }

    /// Records a 2xx answer: delivered, and the endpoint is healthy again.
    public func recordSuccess(_ delivery: ClaimedDelivery, status: Int, latencyMs: Int) async throws {
        let org = delivery.organizationID
        _ = try await database.read(
            organization: org,
            [
                """
                UPDATE webhook_outbox SET state = 'delivered', delivered_at = now(), last_status = \(status),
                    last_latency_ms = \(latencyMs), last_error = NULL
                WHERE organization_id = \(org) AND message_id = \(delivery.messageID)
                """,
                """
                UPDATE webhook_endpoints SET failing_since = NULL
                WHERE organization_id = \(org) AND endpoint_id = \(delivery.endpointID) AND failing_since IS NOT NULL
                """,
            ])
    }

    /// Records a failed attempt: due again at `retryAt`, or `failed` once the message is older
    /// than `retryFor`; the endpoint is disabled once it has been failing for longer than
    /// `retryFor`. Returns true when this call disabled it.
    public func recordFailure(
        _ delivery: ClaimedDelivery, status: Int?, error: String, latencyMs: Int, retryAt: Date, retryFor: Duration
    ) async throws -> Bool {
        let org = delivery.organizationID
        let window = Double(retryFor.components.seconds)
        let reason = String(error.prefix(2000))
        let rows = try await database.read(
            organization: org,
            [
                """
                UPDATE webhook_outbox SET
                    state = CASE WHEN created_at < now() - make_interval(secs => \(window)) THEN 'failed' ELSE 'pending' END,
                    next_attempt_at = \(retryAt), last_status = \(status), last_latency_ms = \(latencyMs),
                    last_error = \(reason)
                WHERE organization_id = \(org) AND message_id = \(delivery.messageID)
                """,
                """
                UPDATE webhook_endpoints SET
                    failing_since = COALESCE(failing_since, now()),
                    enabled = enabled AND NOT COALESCE(failing_since < now() - make_interval(secs => \(window)), false),
                    disabled_at = CASE WHEN enabled AND failing_since < now() - make_interval(secs => \(window))
                                       THEN now() ELSE disabled_at END,
                    disabled_reason = CASE WHEN enabled AND failing_since < now() - make_interval(secs => \(window))
                                           THEN \(reason) ELSE disabled_reason END
                WHERE organization_id = \(org) AND endpoint_id = \(delivery.endpointID)
                RETURNING (disabled_at = now()) AS disabled_now
                """,
            ])
        return try rows[1].first?.decode("disabled_now", as: Bool?.self) ?? false
    }

    /// Deletes finished deliveries older than `age`, in batches; returns how many.
    @discardableResult
    public func purgeHistory(olderThan age: Duration) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await database.client.query(
                "SELECT webhook_purge_history(make_interval(secs => \(Double(age.components.seconds))), 10000::int4) AS n"
            ).first!.decode("n", as: Int.self)
            total += deleted
            if deleted < 10_000 { return total }
        }
    }

    // MARK: Decoding

    static func decodeEndpoint(_ row: PGRow) throws -> WebhookEndpoint {
        WebhookEndpoint(
            endpointID: try row.decode("endpoint_id"), url: try row.decode("url"),
            events: try row.decode("events", as: String.self).split(separator: ",").map(String.init),
            enabled: try row.decode("enabled"), failingSince: try row.decode("failing_since", as: Date?.self),
            disabledAt: try row.decode("disabled_at", as: Date?.self),
            disabledReason: try row.decode("disabled_reason", as: String?.self),
            previousSecretExpiresAt: try row.decode("previous_secret_expires_at", as: Date?.self),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    static func decodeDelivery(_ row: PGRow) throws -> WebhookDelivery {
        WebhookDelivery(
            messageID: try row.decode("message_id"), eventType: try row.decode("event_type"),
            jobID: try row.decode("job_id", as: String?.self), state: try row.decode("state"),
            attempts: try row.decode("attempts"), lastStatus: try row.decode("last_status", as: Int?.self),
            lastLatencyMs: try row.decode("last_latency_ms", as: Int?.self),
            lastError: try row.decode("last_error", as: String?.self), createdAt: try row.decode("created_at"),
            lastAttemptAt: try row.decode("last_attempt_at", as: Date?.self),
            deliveredAt: try row.decode("delivered_at", as: Date?.self),
            nextAttemptAt: try row.decode("next_attempt_at"))
    }
}

/// What the job writer needs for webhooks: how an event's body looks (the HTTP layer renders
/// the job as its API does), and whom to wake once one is queued (this instance's deliverer).
public struct WebhookEvents: Sendable {
    public var render: @Sendable (WebhookEvent, Job, Date) -> String
    public var committed: @Sendable () -> Void

    public init(
        render: @escaping @Sendable (WebhookEvent, Job, Date) -> String, committed: @escaping @Sendable () -> Void
    ) {
        self.render = render
        self.committed = committed
    }
}

extension WebhookEvents {
    /// Queues `job.stalled` for the job on `tx` — the `StallWatch` transaction that marks the
    /// stall announced, so the event commits (or rolls back) with the mark — and wakes this
    /// instance's deliverer (which, if it looks before the commit, finds the row on its next pass).
    public func queueStalled(_ tx: PGLease, _ job: Job) async throws {
        _ = try await tx.query(
            WebhookStore.enqueueQuery(
                organization: job.organizationID, jobID: job.jobID, event: .stalled,
                payload: render(.stalled, job, Date())))
        committed()
    }
}
