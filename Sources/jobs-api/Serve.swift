import ArgumentParser
import Foundation
import Hummingbird
import JobsHTTP
import JobsStore
import LibPQ
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to listen on (env HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (env PORT, default 8080).")
    var port: Int?

    func run() async throws {
        #if canImport(Glibc)
            // glibc gives each thread that allocates its own arena (up to 8 per core) and keeps
            // freed memory in them: with event-loop, cooperative and database threads that is
            // tens of MB of idle heap. Two arenas are plenty for this process.
            // mallopt is in <malloc.h>, which the Glibc module does not import: look it up.
            if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
                typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
                let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
                _ = unsafeBitCast(symbol, to: MallOpt.self)(mArenaMax, 2)
            }
        #endif
        try await runReporting {
            var config = try database.configuration()
            if let host { config.host = host }
            if let port { config.port = try AppConfiguration.parsePort(String(port), name: "--port") }
            let level = config.logLevel
            let json = JSONLogHandler.wantsJSON(format: config.logFormat?.rawValue)
            LoggingSystem.bootstrap { label in
                if json { return JSONLogHandler(label: label, level: level) }
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
            var logger = Logger(label: "jobs-api")
            logger.logLevel = config.logLevel

            logger.info(
                "starting jobs-api",
                metadata: Logger.Metadata(uniqueKeysWithValues: config.summary.map { ($0.0, .string($0.1)) }))
            let metrics = AppMetrics()
            var pg = config.postgres
            pg.acquireObserver = { metrics.poolAcquired(after: $0) }
            // Check migrations as the login role (APP_DATABASE_URL's, else DATABASE_URL's) without
            // SET ROLE: before they ran, the runtime role may not exist.
            var loginConfig = pg
            loginConfig.role = nil
            loginConfig.maxConnections = 1
            let login = PGClient(configuration: loginConfig, logger: logger)
            let migrator = PGMigrator(client: login, directory: config.resolvedMigrationsDirectory(), logger: logger)
            let status: PGMigrator.Status
            do {
                status = try await migrator.status()
                if status.isCurrent { try await Self.warnIfPrivileged(login, logger: logger) }
                await login.shutdown()
            } catch {
                await login.shutdown()
                throw error
            }
            let client = PGClient(configuration: pg, logger: logger)
            metrics.attach(client)
            guard status.isCurrent else {
                await client.shutdown()
                let names = status.pending.map(\.fileName)
                throw PGError(
                    code: .migration,
                    message:
                        "\(status.pending.count) migration(s) pending (\(names.joined(separator: ", "))); run `jobs-api migrate` first"
                )
            }
            guard OpenAPIDocument.data != nil else {
                await client.shutdown()
                throw AdminError(
                    message:
                        "the OpenAPI document is missing: install \(OpenAPIDocument.bundleName) beside the jobs-api binary"
                )
            }
            let expected = try migrator.files().last?.version ?? 0
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if let retention = config.pruneAfter {
                // prune_jobs is SECURITY DEFINER and granted to the runtime role (migration 0009).
                services.append(
                    .init(
                        service: PruneSchedule(
                            pruner: JobPruner(client: client, logger: logger), retention: retention,
                            interval: config.pruneInterval)))
            }
            let drain = DrainState()
            let app = buildApplication(
                configuration: config, client: client, expectedMigration: expected, logger: logger, drain: drain,
                metrics: metrics)
            // SIGTERM/SIGINT: the drain monitor (last, so first to hear it) turns /readyz to 503, then
            // the server stops accepting, finishes in-flight requests within the grace period, and
            // the pool closes. Past the grace period the rest is cancelled.
            var group = ServiceGroupConfiguration(
                services: services + [.init(service: app), .init(service: DrainMonitor(state: drain))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = config.shutdownGrace
            group.maximumCancellationDuration = .seconds(2)
            do {
                try await ServiceGroup(configuration: group).run()
            } catch {
                logger.warning("shutdown did not finish cleanly", metadata: ["error": "\(error)"])
            }
            logger.info("stopped")
        }
    }
}

extension Serve {
    /// Warns when `serve` logs in as a role with more rights than the app needs: a superuser,
    /// a role that bypasses RLS or creates roles, or the owner of the schema's tables. Such a
    /// server is one `RESET ROLE` away from the whole database.
    static func warnIfPrivileged(_ client: PGClient, logger: Logger) async throws {
        let row = try await client.query(
            """
            SELECT r.rolsuper OR r.rolbypassrls OR r.rolcreaterole AS powerful,
                   pg_has_role(current_user, c.relowner, 'USAGE') AS owner
            FROM pg_catalog.pg_roles r, pg_catalog.pg_class c
            WHERE r.rolname = current_user AND c.oid = 'public.jobs'::regclass
            """
        ).first
        guard let row, try row.decode("powerful", as: Bool.self) || row.decode("owner", as: Bool.self) else { return }
        logger.warning(
            "serve logs in as a role with more rights than the app needs (superuser, owner of the tables, or able to bypass row-level security); set APP_DATABASE_URL to log in as jobs_api_server, a member of jobs_api_app only"
        )
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations (safe to run from several processes at once).")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await runReporting {
            try await withAdminClient(database) { config, client, logger in
                let migrator = PGMigrator(
                    client: client, directory: config.resolvedMigrationsDirectory(), logger: logger)
                let applied = try await migrator.migrate()
                if applied.isEmpty {
                    printError("migrations: up to date")
                } else {
                    for m in applied { printError("applied \(m.fileName)") }
                }
                // The server login role's password comes from APP_DB_PASSWORD; set it in the
                // environment (`--set APP_DB_PASSWORD=...` would put it where `ps` shows it).
                if let password = config.appDatabasePassword {
                    try await AdminService(database: Database(client: client)).setServerPassword(password)
                    printError("set the password of jobs_api_server (from APP_DB_PASSWORD)")
                }
            }
        }
    }
}
