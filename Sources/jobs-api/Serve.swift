import ArgumentParser
import Foundation
import Hummingbird
import JobsAPI
import LibPQ
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to listen on (env HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (env PORT, default 8080).")
    var port: Int?

    func run() async throws {
        try await runReporting {
            var config = try database.configuration()
            if let host { config.host = host }
            if let port { config.port = try AppConfiguration.parsePort(String(port), name: "--port") }
            let level = config.logLevel
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
            var logger = Logger(label: "jobs-api")
            logger.logLevel = config.logLevel

            let client = PGClient(configuration: config.postgres, logger: logger)
            let migrator = PGMigrator(client: client, directory: config.resolvedMigrationsDirectory(), logger: logger)
            let status: PGMigrator.Status
            do {
                status = try await migrator.status()
            } catch {
                await client.shutdown()
                throw error
            }
            guard status.isCurrent else {
                await client.shutdown()
                let names = status.pending.map(\.fileName)
                throw PGError(
                    code: .migration,
                    message:
                        "\(status.pending.count) migration(s) pending (\(names.joined(separator: ", "))); run `jobs-api migrate` first")
            }
            let expected = try migrator.files().last?.version ?? 0
            let app = buildApplication(
                configuration: config, client: client, expectedMigration: expected, logger: logger)
            try await app.runService()
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
