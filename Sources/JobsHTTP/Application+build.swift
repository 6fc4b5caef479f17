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

    public init(
        jobs: any JobStorage, credentials: any CredentialStore, readiness: any ReadinessProbe,
        services: [any Service] = []
    ) {
        self.jobs = jobs
        self.credentials = credentials
        self.readiness = readiness
        self.services = services
    }

    /// PostgreSQL through `client` (the pool, which the returned backend runs as a service).
    public static func postgres(client: PGClient, configuration: AppConfiguration, logger: Logger) -> Backend {
        let store = PostgresStore(client: client, logger: logger)
        return Backend(
            jobs: store, credentials: store, readiness: store,
            services: [
                client,
                IdempotencyJanitor(client: client, interval: configuration.idempotencyCleanupInterval, logger: logger),
                StatisticsKeeper(client: client, logger: logger),
            ])
    }

    /// Everything in memory (tests and trials; nothing survives the process).
    public static func memory(_ store: MemoryStore) -> Backend {
        Backend(jobs: store, credentials: store, readiness: store)
    }
}

/// Builds the HTTP application on PostgreSQL: routes, middleware and the services it owns (the pool).
public func buildApplication(
    configuration: AppConfiguration, client: PGClient, expectedMigration: Int, logger: Logger,
    drain: DrainState = DrainState(), metrics: AppMetrics? = nil
) -> some ApplicationProtocol {
    buildApplication(
        configuration: configuration, backend: .postgres(client: client, configuration: configuration, logger: logger),
        expectedMigration: expectedMigration, logger: logger, drain: drain,
        metrics: metrics ?? AppMetrics(client: client))
}

/// Builds the HTTP application on any backend.
public func buildApplication(
    configuration: AppConfiguration, backend: Backend, expectedMigration: Int, logger: Logger,
    drain: DrainState = DrainState(), metrics: AppMetrics = AppMetrics()
) -> some ApplicationProtocol {
    let router = buildRouter(
        configuration: configuration, backend: backend, expectedMigration: expectedMigration, drain: drain,
        metrics: metrics, logger: logger)
    var app = Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .nanoseconds(configuration.idleTimeout.inNanoseconds))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
    app.addServices(backend.services)
    return app
}

/// The router alone (also used by tests that drive it without a socket).
public func buildRouter(
    configuration: AppConfiguration, backend: Backend, expectedMigration: Int, drain: DrainState = DrainState(),
    metrics: AppMetrics, logger: Logger
) -> Router<AppRequestContext> {
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
        metrics: metrics)
    RouteTable.register(jobs.routes, prefix: "/api", on: api)
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
    return
        (Routes.operations(backend: backend, expectedMigration: 0, drain: DrainState(), metrics: metrics) + jobs.routes)
        .map { ($0.method.rawValue, $0.path) }
}
