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
            SessionCommand.self, WebhookCommand.self, Prune.self,
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

    /// `--set NAME=VALUE` (NAME must be a setting of the configuration table), then the flags
    /// above over them: the command line's layer, which beats the environment.
    func overrideValues() throws -> [String: String] {
        var values = try AppConfiguration.overrides(fromAssignments: overrides)
        if let databaseURL { values["DATABASE_URL"] = databaseURL }
        if let migrationsDirectory { values["MIGRATIONS_DIR"] = migrationsDirectory }
        if let logLevel { values["LOG_LEVEL"] = logLevel }
        return values
    }

    func configuration() throws -> AppConfiguration {
        let config = try AppConfiguration.read(overrides: try overrideValues())
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
