import ArgumentParser
#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Hummingbird
import JobsAPI
import LibPQ
import Logging
import ServiceLifecycle

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
                let M_ARENA_MAX: Int32 = -8
                _ = unsafeBitCast(symbol, to: MallOpt.self)(M_ARENA_MAX, 2)
            }
        #endif
        try await runReporting {
            var config = try database.configuration()
            if let host { config.host = host }
            if let port { config.port = try AppConfiguration.parsePort(String(port), name: "--port") }
            let level = config.logLevel
            let json = JSONLogHandler.wantsJSON(format: try database.environment()["LOG_FORMAT"])
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
            // Check migrations as the login role: before they ran, the runtime role may not exist.
            var ownerConfig = pg
            ownerConfig.role = nil
            ownerConfig.maxConnections = 1
            let owner = PGClient(configuration: ownerConfig, logger: logger)
            let migrator = PGMigrator(client: owner, directory: config.resolvedMigrationsDirectory(), logger: logger)
            let status: PGMigrator.Status
            do {
                status = try await migrator.status()
                await owner.shutdown()
            } catch {
                await owner.shutdown()
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
                        "\(status.pending.count) migration(s) pending (\(names.joined(separator: ", "))); run `jobs-api migrate` first")
            }
            let expected = try migrator.files().last?.version ?? 0
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if let retention = config.pruneAfter {
                // prune_jobs may only be run by the owner (login) role, not the runtime role.
                let pruneClient = PGClient(configuration: ownerConfig, logger: logger)
                services.append(.init(service: pruneClient))
                services.append(
                    .init(
                        service: PruneSchedule(
                            pruner: JobPruner(client: pruneClient, logger: logger), retention: retention,
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

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations (safe to run from several processes at once).")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await runReporting {
            try await withAdminClient(database) { config, client, logger in
                let migrator = PGMigrator(client: client, directory: config.resolvedMigrationsDirectory(), logger: logger)
                let applied = try await migrator.migrate()
                if applied.isEmpty {
                    printError("migrations: up to date")
                } else {
                    for m in applied { printError("applied \(m.fileName)") }
                }
            }
        }
    }
}
