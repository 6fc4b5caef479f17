import ArgumentParser
import Foundation
import JobsHTTP
import JobsStore
import LibPQ
import Logging

@main
struct JobsAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs-api",
        abstract: "Tracks long-running batch jobs for the organizations of a multi-tenant SaaS.",
        discussion: """
            Database settings come from DATABASE_URL (libpq URI or conninfo) or libpq's own PG* \
            variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD).
            """,
        subcommands: [
            Serve.self, Migrate.self, OrgCommand.self, UserCommand.self, MemberCommand.self, APIKeyCommand.self,
            SessionCommand.self, Prune.self,
        ]
    )
}

/// Options every database command shares; flags override environment variables.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "libpq URI or conninfo (env DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("migrations-dir"), help: "Folder of NNNN_name.sql files (env MIGRATIONS_DIR).")
    var migrationsDirectory: String?

    @Option(
        name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical (env LOG_LEVEL).")
    var logLevel: String?

    @Option(
        name: .customLong("set"),
        help: "Override any setting of the configuration table, e.g. --set DB_POOL_SIZE=32 (repeatable).")
    var overrides: [String] = []

    /// The environment with `--set NAME=VALUE` applied over it.
    func environment() throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for override in overrides {
            let parts = override.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigurationError(message: "--set takes NAME=VALUE, got \"\(override)\"")
            }
            environment[String(parts[0])] = String(parts[1])
        }
        return environment
    }

    func configuration() throws -> AppConfiguration {
        var config = try AppConfiguration.fromEnvironment(try environment())
        if let databaseURL { config.databaseURL = databaseURL }
        if let migrationsDirectory { config.migrationsDirectory = migrationsDirectory }
        if let logLevel { config.logLevel = try AppConfiguration.parseLogLevel(logLevel) }
        if let url = config.databaseURL { try PGClient.validate(connectionString: url) }
        if let url = config.appDatabaseURL { try PGClient.validate(connectionString: url) }
        return config
    }
}

/// Runs `body` with a short-lived pool for an admin command, then closes it.
func withAdminClient<T>(
    _ options: DatabaseOptions, _ body: (AppConfiguration, PGClient, Logger) async throws -> T
) async throws -> T {
    let config = try options.configuration()
    var logger = Logger(label: "jobs-api")
    logger.logLevel = config.logLevel
    // Admin commands and migrations run as the owner (DATABASE_URL), without the server's
    // runtime role or its statement and lock timeouts.
    var pg = config.ownerPostgres
    pg.maxConnections = 2
    let client = PGClient(configuration: pg, logger: logger)
    do {
        let value = try await body(config, client, logger)
        await client.shutdown()
        return value
    } catch {
        await client.shutdown()
        throw error
    }
}

/// Prints a one-line message on stderr (stdout is reserved for tokens and data).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Maps expected failures to a clear message and a non-zero exit instead of a stack of text.
func runReporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as PGError {
        printError("error: \(error.message)")
        throw ExitCode(1)
    } catch let error as AdminError {
        printError("error: \(error.message)")
        throw ExitCode(1)
    } catch let error as ConfigurationError {
        printError("error: \(error.message)")
        throw ExitCode(2)
    }
}
