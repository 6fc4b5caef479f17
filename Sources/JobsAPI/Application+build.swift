import Hummingbird
import LibPQ
import Logging

/// Builds the HTTP application: routes, middleware and the services it owns (the pool).
public func buildApplication(
    configuration: AppConfiguration, client: PGClient, expectedMigration: Int, logger: Logger
) -> some ApplicationProtocol {
    let database = Database(client: client)
    let router = Router(context: BasicRequestContext.self)
    HealthController(database: database, expectedMigration: expectedMigration).addRoutes(to: router)
    var app = Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
    app.addServices(client)
    return app
}
