import Foundation
import JobsDomain
import LibPQ
import Logging

/// Every setting of the service. Each one comes from an environment variable, may be
/// overridden by a command-line flag, and has a default that works on a developer machine.
public struct AppConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// libpq URI or conninfo; nil means libpq's own `PG*` variables. The owner's: `migrate`
    /// and the admin commands use it (and `serve` when `APP_DATABASE_URL` is not set).
    public var databaseURL: String?
    /// What `serve` logs in with: a role that can only do what the app does (`jobs_api_server`,
    /// a member of `jobs_api_app` only). nil: `serve` falls back to `databaseURL` and warns when
    /// that role has more rights than the app needs.
    public var appDatabaseURL: String?
    /// Non-owner role the server switches to after connecting (`SET ROLE`); empty = none.
    public var databaseRole = "jobs_api_app"
    public var poolSize = 10
    public var poolAcquireTimeout: Duration = .seconds(5)
    public var unnamedStatements = false
    /// The server's sessions cancel a statement running longer than this (`statement_timeout`);
    /// the request then answers `503` + `Retry-After`. 0 = no limit.
    public var statementTimeout: Duration = .seconds(15)
    /// The server's sessions stop waiting for a row lock after this (`lock_timeout`), e.g. when
    /// a DBA holds a job's row in an open transaction; `503` + `Retry-After`. 0 = no limit.
    public var lockTimeout: Duration = .seconds(5)
    /// The most named prepared statements one pooled connection keeps.
    public var maxPreparedStatements = 256
    public var migrationsDirectory: String?
    public var logLevel: Logger.Level = .info
    /// How long an authenticated token is trusted without asking the database (at most 30 s,
    /// so a revoked key stops working within that time).
    public var authCacheTTL: Duration = .seconds(10)
    /// Failed token lookups one client address may cause at once (token bucket size; 0 = no
    /// limit), and how many it regains per second. Past them: `429` without a database query.
    public var authFailureBurst = 200
    public var authFailuresPerSecond = 20
    /// Origins (`scheme://host[:port]`) besides the service's own that may send writes
    /// authenticated by the `stytch_session` cookie (`TRUSTED_ORIGINS`, comma-separated).
    public var trustedOrigins: [String] = []
    /// A request body must arrive completely within this (else `408`).
    public var requestTimeout: Duration = .seconds(30)
    /// A connection idle this long (no request, or between keep-alive requests) is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// On SIGTERM/SIGINT: how long in-flight requests may take to finish before the rest is cancelled.
    public var shutdownGrace: Duration = .seconds(10)
    /// How often expired idempotency records are deleted.
    public var idempotencyCleanupInterval: Duration = .seconds(600)
    /// Retention of the in-server prune schedule (nil: no schedule; use `jobs-api prune`).
    public var pruneAfter: Duration?
    /// How often the in-server prune runs when `pruneAfter` is set.
    public var pruneInterval: Duration = .seconds(3600)
    /// Statements slower than this are logged (name and duration only); 0 turns it off.
    public var slowQueryThreshold: Duration = .milliseconds(500)
    /// The per-job cap on stored errors (and, separately, warnings).
    public var limits = Limits()

    public init() {}

    /// Reads the environment; throws `ConfigurationError` naming the variable for a bad value.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> AppConfiguration
    {
        var config = AppConfiguration()
        func value(_ name: String) -> String? {
            guard let v = environment[name], !v.isEmpty else { return nil }
            return v
        }
        if let v = value("HOST") { config.host = v }
        if let v = value("PORT") { config.port = try parsePort(v, name: "PORT") }
        config.databaseURL = PGConfiguration.connectionStringFromEnvironment(environment)
        if let v = value("APP_DATABASE_URL") { config.appDatabaseURL = v }
        if let v = environment["DB_ROLE"] { config.databaseRole = v }
        if let v = value("DB_POOL_SIZE") { config.poolSize = try parseInt(v, name: "DB_POOL_SIZE", range: 1...1000) }
        if let v = value("DB_POOL_TIMEOUT_MS") {
            config.poolAcquireTimeout = .milliseconds(try parseInt(v, name: "DB_POOL_TIMEOUT_MS", range: 1...600_000))
        }
        if let v = value("DB_UNNAMED_STATEMENTS") {
            config.unnamedStatements = try parseBool(v, name: "DB_UNNAMED_STATEMENTS")
        }
        if let v = value("DB_STATEMENT_TIMEOUT_MS") {
            config.statementTimeout = .milliseconds(
                try parseInt(v, name: "DB_STATEMENT_TIMEOUT_MS", range: 0...3_600_000))
        }
        if let v = value("DB_LOCK_TIMEOUT_MS") {
            config.lockTimeout = .milliseconds(try parseInt(v, name: "DB_LOCK_TIMEOUT_MS", range: 0...3_600_000))
        }
        if let v = value("DB_MAX_PREPARED_STATEMENTS") {
            config.maxPreparedStatements = try parseInt(v, name: "DB_MAX_PREPARED_STATEMENTS", range: 16...100_000)
        }
        if let v = value("MIGRATIONS_DIR") { config.migrationsDirectory = v }
        if let v = value("LOG_LEVEL") { config.logLevel = try parseLogLevel(v) }
        if let v = value("AUTH_CACHE_TTL_SECONDS") {
            config.authCacheTTL = .seconds(try parseInt(v, name: "AUTH_CACHE_TTL_SECONDS", range: 0...30))
        }
        if let v = value("AUTH_FAILURE_BURST") {
            config.authFailureBurst = try parseInt(v, name: "AUTH_FAILURE_BURST", range: 0...1_000_000)
        }
        if let v = value("AUTH_FAILURES_PER_SECOND") {
            config.authFailuresPerSecond = try parseInt(v, name: "AUTH_FAILURES_PER_SECOND", range: 1...1_000_000)
        }
        if let v = value("TRUSTED_ORIGINS") {
            let origins = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for origin in origins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
                throw ConfigurationError(
                    message: "TRUSTED_ORIGINS must list origins like https://dash.example.com, got \"\(origin)\"")
            }
            config.trustedOrigins = origins
        }
        if let v = value("REQUEST_TIMEOUT_SECONDS") {
            config.requestTimeout = .seconds(try parseInt(v, name: "REQUEST_TIMEOUT_SECONDS", range: 1...3600))
        }
        if let v = value("IDLE_TIMEOUT_SECONDS") {
            config.idleTimeout = .seconds(try parseInt(v, name: "IDLE_TIMEOUT_SECONDS", range: 1...3600))
        }
        if let v = value("SHUTDOWN_GRACE_SECONDS") {
            config.shutdownGrace = .seconds(try parseInt(v, name: "SHUTDOWN_GRACE_SECONDS", range: 0...3600))
        }
        if let v = value("IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS") {
            config.idempotencyCleanupInterval = .seconds(
                try parseInt(v, name: "IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS", range: 1...86400))
        }
        if let v = value("PRUNE_AFTER") {
            guard let d = DurationParser.parse(v), d > .zero else {
                throw ConfigurationError(message: "PRUNE_AFTER must look like 90d, 12h or 30m, got \"\(v)\"")
            }
            config.pruneAfter = d
        }
        if let v = value("PRUNE_INTERVAL") {
            guard let d = DurationParser.parse(v), d > .zero else {
                throw ConfigurationError(message: "PRUNE_INTERVAL must look like 1h, 30m or 600s, got \"\(v)\"")
            }
            config.pruneInterval = d
        }
        if let v = value("LOG_FORMAT"), !["json", "text"].contains(v.lowercased()) {
            throw ConfigurationError(message: "LOG_FORMAT must be json or text, got \"\(v)\"")
        }
        if let v = value("SLOW_QUERY_MS") {
            config.slowQueryThreshold = .milliseconds(try parseInt(v, name: "SLOW_QUERY_MS", range: 0...3_600_000))
        }
        if let v = value("MAX_EVENTS_PER_JOB") {
            config.limits.maxEventsPerJob = Int64(try parseInt(v, name: "MAX_EVENTS_PER_JOB", range: 1...100_000_000))
        }
        return config
    }

    /// Every setting as (name, value) for the start-up log line, with secrets masked.
    public var summary: [(String, String)] {
        func seconds(_ d: Duration) -> String { "\(d.components.seconds)s" }
        return [
            ("HOST", host), ("PORT", String(port)), ("DATABASE_URL", PGConfiguration.redacted(databaseURL)),
            ("APP_DATABASE_URL", appDatabaseURL.map { PGConfiguration.redacted($0) } ?? "(unset: DATABASE_URL)"),
            ("DB_ROLE", databaseRole), ("DB_POOL_SIZE", String(poolSize)),
            (
                "DB_POOL_TIMEOUT_MS",
                String(
                    poolAcquireTimeout.components.seconds * 1000 + poolAcquireTimeout.components.attoseconds
                        / 1_000_000_000_000_000)
            ),
            ("DB_UNNAMED_STATEMENTS", String(unnamedStatements)),
            ("DB_STATEMENT_TIMEOUT_MS", String(Self.milliseconds(statementTimeout))),
            ("DB_LOCK_TIMEOUT_MS", String(Self.milliseconds(lockTimeout))),
            ("DB_MAX_PREPARED_STATEMENTS", String(maxPreparedStatements)),
            ("MIGRATIONS_DIR", resolvedMigrationsDirectory()),
            ("LOG_LEVEL", logLevel.rawValue), ("AUTH_CACHE_TTL_SECONDS", seconds(authCacheTTL)),
            ("AUTH_FAILURE_BURST", String(authFailureBurst)),
            ("AUTH_FAILURES_PER_SECOND", String(authFailuresPerSecond)),
            ("TRUSTED_ORIGINS", trustedOrigins.joined(separator: ",")),
            ("REQUEST_TIMEOUT_SECONDS", seconds(requestTimeout)), ("IDLE_TIMEOUT_SECONDS", seconds(idleTimeout)),
            ("SHUTDOWN_GRACE_SECONDS", seconds(shutdownGrace)),
            ("IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS", seconds(idempotencyCleanupInterval)),
            ("PRUNE_AFTER", pruneAfter.map(seconds) ?? "off"), ("PRUNE_INTERVAL", seconds(pruneInterval)),
            (
                "SLOW_QUERY_MS",
                String(
                    slowQueryThreshold.components.seconds * 1000 + slowQueryThreshold.components.attoseconds
                        / 1_000_000_000_000_000)
            ),
            ("MAX_EVENTS_PER_JOB", String(limits.maxEventsPerJob)),
        ]
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    /// The owner's connection (migrations and admin commands): no runtime role, no timeouts.
    public var ownerPostgres: PGConfiguration {
        var pg = postgres
        pg.connectionString = databaseURL
        pg.role = nil
        pg.sessionSettings = []
        return pg
    }

    /// The server's pool: `APP_DATABASE_URL` (else `DATABASE_URL`), the runtime role and the
    /// session timeouts.
    public var postgres: PGConfiguration {
        var pg = PGConfiguration(
            connectionString: appDatabaseURL ?? databaseURL, role: databaseRole.isEmpty ? nil : databaseRole,
            maxConnections: poolSize, acquireTimeout: poolAcquireTimeout, unnamedStatementsOnly: unnamedStatements,
            slowQueryThreshold: slowQueryThreshold == .zero ? nil : slowQueryThreshold)
        pg.sessionSettings = [
            ("statement_timeout", String(Self.milliseconds(statementTimeout))),
            ("lock_timeout", String(Self.milliseconds(lockTimeout))),
        ]
        pg.maxPreparedStatements = maxPreparedStatements
        return pg
    }

    /// The migration files: `MIGRATIONS_DIR`, else `sql/migrations` under the working directory,
    /// else next to the source checkout the binary was built from, else the Docker image's path.
    public func resolvedMigrationsDirectory() -> String {
        if let migrationsDirectory { return migrationsDirectory }
        let manager = FileManager.default
        var candidates = [manager.currentDirectoryPath + "/sql/migrations"]
        // .build/<config>/jobs-api → the checkout root is three levels up.
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var dir = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("sql/migrations").path)
            dir = dir.deletingLastPathComponent()
        }
        candidates.append("/usr/share/jobs-api/migrations")
        return candidates.first { manager.fileExists(atPath: $0) } ?? candidates[0]
    }

    public static func parsePort(_ text: String, name: String) throws -> Int {
        try parseInt(text, name: name, range: 0...65535)
    }

    public static func parseInt(_ text: String, name: String, range: ClosedRange<Int>) throws -> Int {
        guard let v = Int(text), range.contains(v) else {
            throw ConfigurationError(
                message: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return v
    }

    public static func parseBool(_ text: String, name: String) throws -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(message: "\(name) must be true or false, got \"\(text)\"")
        }
    }

    public static func parseLogLevel(_ text: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ConfigurationError(
                message:
                    "LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical; got \"\(text)\"")
        }
        return level
    }
}

/// A bad setting; the message names it.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
