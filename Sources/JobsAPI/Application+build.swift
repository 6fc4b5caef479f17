import Hummingbird
import LibPQ
import Logging

/// Builds the HTTP application: routes, middleware and the services it owns (the pool).
public func buildApplication(
    configuration: AppConfiguration, client: PGClient, expectedMigration: Int, logger: Logger,
    sessionVerifier: (any SessionVerifier)? = nil
) -> some ApplicationProtocol {
    let router = buildRouter(
        configuration: configuration, client: client, expectedMigration: expectedMigration,
        sessionVerifier: sessionVerifier)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
    app.addServices(client)
    return app
}

/// The router alone (also used by tests that drive it without a socket).
public func buildRouter(
    configuration: AppConfiguration, client: PGClient, expectedMigration: Int,
    sessionVerifier: (any SessionVerifier)? = nil
) -> Router<AppRequestContext> {
    let database = Database(client: client)
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    HealthController(database: database, expectedMigration: expectedMigration).addRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    let authenticator = Authenticator(
        client: client, sessions: sessionVerifier ?? DatabaseSessionVerifier(client: client),
        cacheTTL: configuration.authCacheTTL)
    let api = router.group("api").add(middleware: TenantMiddleware(authenticator: authenticator))
    JobsController(repository: JobRepository(database: database, limits: configuration.limits)).addRoutes(to: api)
    return router
}

/// Every (method, path) the router serves, as the OpenAPI document writes paths.
public let servedRoutes: [(method: String, path: String)] =
    (HealthController.routes + OpenAPIController.routes + JobsController.routes).map { ($0.method.rawValue, $0.path) }
