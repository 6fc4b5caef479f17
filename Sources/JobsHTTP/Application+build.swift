public import Hummingbird
public import JobsDomain
public import JobsStore
public import LibPQ
public import Logging
public import ServiceLifecycle

/// What the HTTP layer needs from storage: the three seams of `JobsDomain`, and the services
/// storage runs beside the server (the pool, the idempotency janitor).
public struct Backend: Sendable {
    public var jobs: any JobStorage
    public var credentials: any CredentialStore
    public var readiness: any ReadinessProbe
    public var services: [any Service]
    /// Webhook endpoints and their history (nil: this backend has no webhooks, e.g. memory).
    public var webhooks: WebhookStore?

    public init(
        jobs: any JobStorage, credentials: any CredentialStore, readiness: any ReadinessProbe,
        services: [any Service] = [], webhooks: WebhookStore? = nil
    ) {
        self.jobs = jobs
        self.credentials = credentials
        self.readiness = readiness
        self.services = services
        self.webhooks = webhooks
    }

    /// PostgreSQL through `client` (the pool, which the returned backend runs as a service).
    /// Committed changes are announced to the other instances by a batched `pg_notify`
    /// (`ChangePublisher`), and theirs are heard on one `LISTEN` connection (`ChangeListener`),
    /// opened like the pool's or to `LISTEN_DATABASE_URL` when that is set (PgBouncer).
    /// Jobs that end queue their webhook events in the same statement (`WebhookEvents`), and a
    /// `WebhookDeliverer` sends them (woken at once when this instance queued one).
    ///
    /// `onStalled` runs in the transaction that marks a newly stalled job notified (`StallWatch`),
    /// after the `job.stalled` webhook events are queued there; `metrics` gets each stall pass's
    /// figures and the deliveries'.
    public static func postgres(
        client: PGClient, configuration: AppConfiguration, logger: Logger, metrics: AppMetrics = AppMetrics(),
        onStalled: @escaping StallWatch.Hook = { _, _ in }
    ) -> Backend {
        let publisher = ChangePublisher(client: client, channel: changesChannel, logger: logger)
        let live = LiveChanges(publisher: publisher)
        let webhooks = WebhookStore(database: Database(client: client))
        let deliverer = WebhookDeliverer(
            store: webhooks, settings: configuration.webhooks, metrics: metrics, logger: logger)
        let webhookEvents = WebhookEvents(
            render: WebhookPayload(stallAfter: configuration.stallAfter).render, committed: { deliverer.wake() })
        let store = PostgresStore(client: client, live: live, webhooks: webhookEvents, logger: logger)
        var services: [any Service] = [client, publisher]
        if configuration.webhooks.runsDeliverer { services.append(deliverer) }
        do {
            let listener = try PGListener(
                configuration: configuration.listenPostgres(pool: client.configuration), channels: [changesChannel],
                bufferSize: 8_192,
                logger: logger)
            services.append(ChangeListener(listener: listener, live: live))
        } catch {
            logger.error("live events from other instances are off", metadata: ["error": "\(error)"])
        }
        services += [
            IdempotencyJanitor(client: client, interval: configuration.idempotencyCleanupInterval, logger: logger),
            StatisticsKeeper(client: client, logger: logger),
        ]
        if configuration.runsStallWatch {
            let events = webhookEvents
            services.append(
                StallWatch(
                    client: client, defaultStallAfter: configuration.stallAfter,
                    interval: configuration.effectiveStallCheckInterval, live: live, logger: logger,
                    onStalled: { tx, job in
                        try await events.queueStalled(tx, job)
                        try await onStalled(tx, job)
                    }, report: { metrics.stallPass(stalled: $0.stalled, notified: $0.notified) }))
        }
        return Backend(jobs: store, credentials: store, readiness: store, services: services, webhooks: webhooks)
    }

    /// The `NOTIFY` channel of committed job changes.
    public static let changesChannel = "jobs_changes"

    /// Everything in memory (tests and trials; nothing survives the process).
    public static func memory(_ store: MemoryStore) -> Backend {
        Backend(jobs: store, credentials: store, readiness: store)
    }
}

/// Builds the HTTP application on PostgreSQL: routes, middleware and the services it owns (the pool).
public func buildApplication(
    configuration: AppConfiguration, client: PGClient, expectedMigration: Int, logger: Logger,
    drain: DrainState = DrainState(), metrics: AppMetrics? = nil, onStalled: @escaping StallWatch.Hook = { _, _ in }
) -> some ApplicationProtocol {
    let metrics = metrics ?? AppMetrics(client: client)
    return buildApplication(
        configuration: configuration,
        backend: .postgres(
            client: client, configuration: configuration, logger: logger, metrics: metrics, onStalled: onStalled),
        expectedMigration: expectedMigration, logger: logger, drain: drain, metrics: metrics)
}

/// Builds the HTTP application on any backend.
public func buildApplication(
    configuration: AppConfiguration, backend: Backend, expectedMigration: Int, logger: Logger,
    drain: DrainState = DrainState(), metrics: AppMetrics = AppMetrics()
) -> some ApplicationProtocol {
    let hub = LiveHub(storage: backend.jobs, settings: configuration.live, metrics: metrics, logger: logger)
    let router = makeRouter(
        configuration: configuration, backend: backend, expectedMigration: expectedMigration, drain: drain,
        metrics: metrics, hub: hub, logger: logger)
    var app = Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .nanoseconds(configuration.idleTimeout.inNanoseconds))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
    app.addServices(backend.services)
    app.addServices(hub)
    return app
}

/// The router alone (also used by tests that drive it without a socket).
public func buildRouter(
    configuration: AppConfiguration, backend: Backend, expectedMigration: Int, drain: DrainState = DrainState(),
    metrics: AppMetrics, logger: Logger
) -> Router<AppRequestContext> {
    makeRouter(
        configuration: configuration, backend: backend, expectedMigration: expectedMigration, drain: drain,
        metrics: metrics,
        hub: LiveHub(storage: backend.jobs, settings: configuration.live, metrics: metrics, logger: logger),
        logger: logger)
}

func makeRouter(
    configuration: AppConfiguration, backend: Backend, expectedMigration: Int, drain: DrainState,
    metrics: AppMetrics, hub: LiveHub, logger: Logger
) -> Router<AppRequestContext> {
    drain.whenDraining { hub.close() }
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware(logger: logger, metrics: metrics, drain: drain))
    router.add(middleware: ErrorMiddleware())
    let operations = Routes.operations(
        backend: backend, expectedMigration: expectedMigration, drain: drain, metrics: metrics)
    RouteTable.register(operations, on: router)
    RouteTable.register(DashboardController().routes, on: router)
    let stytch = configuration.stytch.map { settings in
        StytchSessions(
            settings: settings, credentials: backend.credentials, cacheTTL: configuration.authCacheTTL,
            breaker: configuration.stytchBreaker, logger: logger)
    }
    let authenticator = Authenticator(
        credentials: backend.credentials, cacheTTL: configuration.authCacheTTL,
        failureBurst: configuration.authFailureBurst, failuresPerSecond: configuration.authFailuresPerSecond,
        stytch: stytch)
    let api = router.group("api").add(
        middleware: TenantMiddleware(
            authenticator: authenticator, crossSite: CrossSiteGuard(trustedOrigins: configuration.trustedOrigins)))
    let jobs = JobsController(
        storage: backend.jobs, limits: configuration.limits, requestTimeout: configuration.requestTimeout,
        metrics: metrics, stallAfter: configuration.stallAfter)
    RouteTable.register(
        jobs.routes + EventsController(storage: backend.jobs, hub: hub).routes + MeController().routes
            + WebhooksController(store: backend.webhooks, requestTimeout: configuration.requestTimeout).routes,
        prefix: "/api", on: api)
    return router
}

enum Routes {
    /// The routes outside `/api` (no authentication).
    static func operations(backend: Backend, expectedMigration: Int, drain: DrainState, metrics: AppMetrics) -> [Route]
    {
        HealthController(probe: backend.readiness, expectedMigration: expectedMigration, drain: drain).routes
            + metrics.routes + OpenAPIController().routes
    }
}

/// Every (method, path) the router serves, as the OpenAPI document writes paths: the route
/// table's rows (the same rows `buildRouter` registers).
public func servedRoutes(configuration: AppConfiguration = AppConfiguration()) -> [(method: String, path: String)] {
    let backend = Backend.memory(MemoryStore())
    let metrics = AppMetrics()
    let jobs = JobsController(storage: backend.jobs, limits: configuration.limits)
    let hub = LiveHub(
        storage: backend.jobs, settings: configuration.live, metrics: nil, logger: Logger(label: "routes"))
    return
        (Routes.operations(backend: backend, expectedMigration: 0, drain: DrainState(), metrics: metrics) + jobs.routes
        + EventsController(storage: backend.jobs, hub: hub).routes + MeController().routes
        + WebhooksController(store: nil, requestTimeout: .seconds(30)).routes)
        .map { ($0.method.rawValue, $0.path) }
}
