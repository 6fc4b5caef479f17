import Hummingbird
import LibPQ
import Logging

/// Builds the HTTP application: routes, middleware and the services it owns (the pool).
public func buildApplication(
    configuration: AppConfiguration, client: PGClient, expectedMigration: Int, logger: Logger,
    sessionVerifier: (any SessionVerifier)? = nil, drain: DrainState = DrainState(), metrics: AppMetrics? = nil
) -> some ApplicationProtocol {
    let router = buildRouter(
        configuration: configuration, client: client, expectedMigration: expectedMigration,
        sessionVerifier: sessionVerifier, drain: drain, metrics: metrics ?? AppMetrics(client: client), logger: logger)
    let idle = configuration.idleTimeout.components
    var app = Application(
        router: router,
        server: .http1(
            configuration: .init(idleTimeout: .seconds(idle.seconds) + .nanoseconds(idle.attoseconds / 1_000_000_000))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
    app.addServices(
        client,
        IdempotencyJanitor(client: client, interval: configuration.idempotencyCleanupInterval, logger: logger))
    return app
}

/// The router alone (also used by tests that drive it without a socket).
public func buildRouter(
    configuration: AppConfiguration, client: PGClient, expectedMigration: Int,
    sessionVerifier: (any SessionVerifier)? = nil, drain: DrainState = DrainState(), metrics: AppMetrics,
    logger: Logger
) -> Router<AppRequestContext> {
    let database = Database(client: client)
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware(logger: logger, metrics: metrics, drain: drain))
    router.add(middleware: ErrorMiddleware())
    metrics.addRoutes(to: router)
    HealthController(database: database, expectedMigration: expectedMigration, drain: drain).addRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    let authenticator = Authenticator(
        client: client, sessions: sessionVerifier ?? DatabaseSessionVerifier(client: client),
        cacheTTL: configuration.authCacheTTL, failureBurst: configuration.authFailureBurst,
        failuresPerSecond: configuration.authFailuresPerSecond)
    let api = router.group("api").add(
        middleware: TenantMiddleware(
            authenticator: authenticator, crossSite: CrossSiteGuard(trustedOrigins: configuration.trustedOrigins)))
    JobsController(
        repository: JobRepository(database: database, limits: configuration.limits),
        requestTimeout: configuration.requestTimeout, metrics: metrics
    ).addRoutes(to: api)
    return router
}

/// Every (method, path) the router serves, as the OpenAPI document writes paths.
public let servedRoutes: [(method: String, path: String)] =
    (HealthController.routes + AppMetrics.routes + OpenAPIController.routes + JobsController.routes).map { ($0.method.rawValue, $0.path) }
