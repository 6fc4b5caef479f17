import Configuration
public import Foundation
public import JobsDomain
public import LibPQ
public import Logging

/// Every setting of the service. Each one comes from an environment variable, may be
/// overridden on the command line (`--set NAME=VALUE`, or a flag), and has a default that works
/// on a developer machine. `AppConfiguration.settings` (the table at the end of this file) is the
/// one list of them: reading, the start-up summary and the README's table all come from it.
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
    /// The one `LISTEN` connection of live events (`PGListener`); nil: the pool's connection.
    /// Behind PgBouncer in transaction-pooling mode (where `LISTEN` does not work) it points
    /// straight at PostgreSQL.
    public var listenDatabaseURL: String?
    /// Read by `migrate`: the password it sets for `jobs_api_server`. Never logged.
    public var appDatabasePassword: String?
    /// Non-owner role the server switches to after connecting (`SET ROLE`); empty = none.
    public var databaseRole = "jobs_api_app"
    public var poolSize = 16
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
    /// nil: JSON when stdout is not a terminal, else text.
    public var logFormat: LogFormat?
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
    /// `STALL_AFTER`: an in_progress job with no report for this long is stalled (unless it has
    /// its own `stall_after`). Kept in `live` too, whose frames render `stalled`.
    public var stallAfter: Duration {
        get { live.stallAfter }
        set { live.stallAfter = newValue }
    }
    public static let defaultStallAfter: Duration = .seconds(600)
    /// How often the stall watch looks for newly stalled jobs; nil: min(30 s, STALL_AFTER / 4),
    /// at least 1 s (not a setting: tests shorten it).
    public var stallCheckInterval: Duration?
    /// Whether the server runs the stall watch (not a setting: tests that do not want it to
    /// touch other tests' jobs turn it off).
    public var runsStallWatch = true
    /// The stall watch's period in effect.
    public var effectiveStallCheckInterval: Duration {
        stallCheckInterval ?? max(.seconds(1), min(.seconds(30), stallAfter / 4))
    }
    /// Statements slower than this are logged (name and duration only); 0 turns it off.
    public var slowQueryThreshold: Duration = .milliseconds(500)
    /// The per-job cap on stored errors (and, separately, warnings).
    public var limits = Limits()
    /// Stytch B2B (`STYTCH_*`): both the project id and the secret, or neither.
    public var stytchProjectID: String?
    public var stytchSecret: String?
    public var stytchBaseURL: URL?
    public var stytchJWTMaxAge: Duration = .seconds(30)
    public var stytchTimeout: Duration = .seconds(2)
    public var stytchRoleMap = StytchSettings.defaultRoleMap
    /// Live streams (`SSE_*`): limits and heartbeat.
    public var live = LiveSettings()
    /// Webhook delivery (`WEBHOOK_*`).
    public var webhooks = WebhookSettings()
    /// The circuit breaker in front of Stytch (not a setting: tests shorten it).
    public var stytchBreaker = StytchSessions.CircuitBreakerSettings()

    /// The Stytch settings when Stytch is configured (project id and secret), else nil: the
    /// `stytch_session` cookie then carries this service's own sessions.
    public var stytch: StytchSettings? {
        guard let stytchProjectID, let stytchSecret else { return nil }
        return StytchSettings(
            projectID: stytchProjectID, secret: stytchSecret, baseURL: stytchBaseURL, jwtMaxAge: stytchJWTMaxAge,
            timeout: stytchTimeout, roleMap: stytchRoleMap)
    }

    public init() {}

    /// Reads the environment; throws `ConfigurationError` naming the variable for a bad value.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> AppConfiguration
    {
        try read(environment: environment, overrides: [:])
    }

    /// Reads every setting of `settings` through swift-configuration: `overrides` (the command
    /// line's `--set NAME=VALUE` and flags) beat `environment`; an empty value counts as unset
    /// (except `DB_ROLE`); a bad value throws `ConfigurationError` naming the setting.
    public static func read(
        environment: [String: String] = ProcessInfo.processInfo.environment, overrides: [String: String]
    ) throws -> AppConfiguration {
        let table = settings
        let known = Set(table.map(\.name))
        if let unknown = overrides.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError(message: "unknown setting \"\(unknown)\"; \(settingNames)")
        }
        let lookup = Self.lookup(table, environment: environment, overrides: overrides)
        var config = AppConfiguration()
        for setting in table {
            guard let text = lookup(setting), !text.isEmpty || setting.emptyIsAValue else { continue }
            try setting.apply(&config, text)
        }
        if (config.stytchProjectID == nil) != (config.stytchSecret == nil) {
            throw ConfigurationError(
                message: "STYTCH_PROJECT_ID and STYTCH_SECRET must be set together (Stytch B2B sessions), or neither")
        }
        return config
    }

    /// Parses repeated `--set NAME=VALUE` arguments; NAME must be a setting of the table.
    public static func overrides(fromAssignments assignments: [String]) throws -> [String: String] {
        let known = Set(settings.map(\.name))
        var overrides: [String: String] = [:]
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigurationError(message: "--set takes NAME=VALUE, got \"\(assignment)\"")
            }
            let name = String(parts[0])
            guard known.contains(name) else {
                throw ConfigurationError(message: "--set \(name): unknown setting \"\(name)\"; \(settingNames)")
            }
            overrides[name] = String(parts[1])
        }
        return overrides
    }

    static var settingNames: String {
        "the settings are " + settings.map(\.name).joined(separator: ", ")
    }

    /// The text of each setting: swift-configuration's reader over the overrides (an in-memory
    /// provider) and then the environment (its environment-variables provider). Secrets are
    /// marked as such, so its access reports redact them. Before macOS 15 (where the library is
    /// unavailable) the same two layers are read directly.
    static func lookup(_ table: [Setting], environment: [String: String], overrides: [String: String])
        -> (Setting) -> String?
    {
        guard #available(macOS 15, iOS 18, tvOS 18, watchOS 11, visionOS 2, *) else {
            return { overrides[$0.name] ?? environment[$0.name] }
        }
        let secrets = Set(table.filter(\.isSecret).map(\.name))
        let commandLine = InMemoryProvider(
            name: "command line",
            values: Dictionary(
                uniqueKeysWithValues: overrides.map { name, value in
                    (AbsoluteConfigKey([name]), ConfigValue(.string(value), isSecret: secrets.contains(name)))
                }))
        let reader = ConfigReader(providers: [
            commandLine,
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(secrets)),
        ])
        // One key component, the variable's name: the environment provider looks it up verbatim.
        return { reader.string(forKey: ConfigKey([$0.name]), isSecret: $0.isSecret) }
    }

    /// Every setting as (name, value) for the start-up log line, with secrets masked; the rows
    /// of `settings` that are logged, in its order.
    public var summary: [(String, String)] {
        Self.settings.compactMap { setting in setting.show.map { (setting.name, $0(self)) } }
    }

    /// The configuration table of the README (Markdown), rendered from `settings`.
    static func markdownTable() -> String {
        var lines = ["| variable | flag | default | meaning |", "|---|---|---|---|"]
        for setting in settings {
            let cells = [
                "`\(setting.name)`", setting.flag.map { "`\($0)`" } ?? "", setting.defaultValue.markdown,
                setting.meaning,
            ]
            lines.append("|" + cells.map { $0.isEmpty ? " " : " \($0) " }.joined(separator: "|") + "|")
        }
        return lines.joined(separator: "\n")
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
            // Every statement of the server is a lookup by key whose best plan does not depend on
            // the values. Left to choose, PostgreSQL re-plans the recent-events query on every
            // call (1-3 ms of its CPU): its generic estimate averages over jobs with 100,000
            // events. Generic plans are made once per connection and re-made when statistics
            // change (StatisticsKeeper keeps them current while the database is young).
            ("plan_cache_mode", "force_generic_plan"),
        ]
        pg.maxPreparedStatements = maxPreparedStatements
        return pg
    }

    /// The `LISTEN` connection: `pool` (the server's pool configuration) with
    /// `LISTEN_DATABASE_URL` as its connection string when that is set.
    public func listenPostgres(pool: PGConfiguration) -> PGConfiguration {
        var pg = pool
        if let listenDatabaseURL { pg.connectionString = listenDatabaseURL }
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

extension AppConfiguration {
    /// `LOG_FORMAT`.
    public enum LogFormat: String, Sendable {
        case json, text
    }

    /// One row of the configuration table: the environment variable (also the name `--set`
    /// takes), the flag that sets it too, the default as the README shows it, what it means
    /// (README Markdown), how its text is parsed, validated and stored, and how it is logged.
    struct Setting {
        enum Default {
            /// A value the setting's parser accepts; the same as `AppConfiguration()`'s.
            case value(String)
            /// Prose: the setting is unset by default.
            case prose(String)

            var markdown: String {
                switch self {
                case .value(let text): "`\(text)`"
                case .prose(let text): text
                }
            }
        }

        var name: String
        var flag: String?
        var defaultValue: Default
        var meaning: String
        /// Marked secret to swift-configuration (its access reports redact it).
        var isSecret = false
        /// An empty value is a value (`DB_ROLE=`: no role); for the others empty means unset.
        var emptyIsAValue = false
        var apply: (inout AppConfiguration, String) throws -> Void
        /// The value in the start-up summary (secrets masked); nil: not logged.
        var show: ((AppConfiguration) -> String)?
    }

    /// The configuration table, in the README's order.
    static var settings: [Setting] {
        [
            Setting(
                name: "DATABASE_URL", flag: "--database-url", defaultValue: .prose("(libpq's `PG*` variables)"),
                meaning:
                    "libpq URI (`postgres://user:pass@host:5432/db`) or conninfo (`host=... dbname=...`). When unset, libpq reads `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD` itself.",
                isSecret: true, apply: { $0.databaseURL = $1 }, show: { PGConfiguration.redacted($0.databaseURL) }),
            Setting(
                name: "APP_DATABASE_URL", defaultValue: .prose("(unset: `DATABASE_URL`)"),
                meaning:
                    "what `serve` logs in with — a role that can only do what the app does: `jobs_api_server`, which `migrate` creates (a member of `jobs_api_app` only, no other rights), e.g. `postgres://jobs_api_server:PASS@host/db` or `user=jobs_api_server`. `migrate` and the admin commands keep using `DATABASE_URL` (the owner). Without it, `serve` logs in with `DATABASE_URL` and logs a warning when that role is a superuser, owns the tables or bypasses RLS.",
                isSecret: true, apply: { $0.appDatabaseURL = $1 },
                show: { $0.appDatabaseURL.map { PGConfiguration.redacted($0) } ?? "(unset: DATABASE_URL)" }),
            Setting(
                name: "LISTEN_DATABASE_URL", defaultValue: .prose("(unset: the pool's connection)"),
                meaning:
                    "the one connection each `serve` keeps for `LISTEN` (live events from other instances), same login role and `DB_ROLE`. Set it when the pool goes through PgBouncer in transaction-pooling mode, where `LISTEN` does not work: point it straight at PostgreSQL (see \"Several instances\")",
                isSecret: true, apply: { $0.listenDatabaseURL = $1 },
                show: { $0.listenDatabaseURL.map { PGConfiguration.redacted($0) } ?? "(unset: the pool's)" }),
            Setting(
                name: "APP_DB_PASSWORD", defaultValue: .prose("(unset)"),
                meaning:
                    "read by `migrate`: sets the password of `jobs_api_server` (sent as a SCRAM verifier computed client-side, never in clear)",
                isSecret: true, apply: { $0.appDatabasePassword = $1 }),
            Setting(
                name: "HOST", flag: "serve --host", defaultValue: .value("127.0.0.1"),
                meaning: "address the server listens on", apply: { $0.host = $1 }, show: { $0.host }),
            Setting(
                name: "PORT", flag: "serve --port", defaultValue: .value("8080"), meaning: "port the server listens on",
                apply: { $0.port = try parsePort($1, name: "PORT") }, show: { String($0.port) }),
            Setting(
                name: "DB_ROLE", defaultValue: .value("jobs_api_app"),
                meaning:
                    "role `serve` switches to after connecting (`SET ROLE`); empty = stay the login role. Admin commands and `migrate` always run as the login (owner) role.",
                emptyIsAValue: true, apply: { $0.databaseRole = $1 }, show: { $0.databaseRole }),
            integerSetting(
                "DB_POOL_SIZE", 1...1000, "16",
                "most connections the server opens. 16 was the best of 10/16/32 on a 2-core machine (BENCHMARKS.md); on bigger ones start at 4–8 × the PostgreSQL server's cores, and keep pool × server instances below its `max_connections`",
                \.poolSize),
            millisecondsSetting(
                "DB_POOL_TIMEOUT_MS", 1...600_000, "5000",
                "how long a request waits for a free connection before `503`",
                \.poolAcquireTimeout),
            Setting(
                name: "DB_UNNAMED_STATEMENTS", defaultValue: .value("false"),
                meaning: "`true` = unnamed statements only (for PgBouncer in transaction-pooling mode)",
                apply: { $0.unnamedStatements = try parseBool($1, name: "DB_UNNAMED_STATEMENTS") },
                show: { String($0.unnamedStatements) }),
            millisecondsSetting(
                "DB_STATEMENT_TIMEOUT_MS", 0...3_600_000, "15000",
                "`statement_timeout` of the server's sessions; a statement past it is cancelled and the request answers `503` + `Retry-After: 1` (`code` `database_busy`). `0` = none",
                \.statementTimeout),
            millisecondsSetting(
                "DB_LOCK_TIMEOUT_MS", 0...3_600_000, "5000",
                "`lock_timeout` of the server's sessions: a request waiting longer for a row lock (a DBA's open transaction, say) answers `503` + `Retry-After: 1`. `0` = none",
                \.lockTimeout),
            integerSetting(
                "DB_MAX_PREPARED_STATEMENTS", 16...100_000, "256",
                "named prepared statements one pooled connection keeps; past it the least recently used are deallocated when the connection goes back to the pool",
                \.maxPreparedStatements),
            Setting(
                name: "MIGRATIONS_DIR", flag: "--migrations-dir",
                defaultValue: .prose(
                    "`sql/migrations` found from the working directory or the binary's checkout; `/usr/share/jobs-api/migrations` in the image"
                ),
                meaning: "the migration files", apply: { $0.migrationsDirectory = $1 },
                show: { $0.resolvedMigrationsDirectory() }),
            Setting(
                name: "LOG_LEVEL", flag: "--log-level", defaultValue: .value("info"),
                meaning: "trace, debug, info, notice, warning, error, critical",
                apply: { $0.logLevel = try parseLogLevel($1) }, show: { $0.logLevel.rawValue }),
            secondsSetting(
                "AUTH_CACHE_TTL_SECONDS", 0...30, "10",
                "how long an authenticated token is trusted without asking the database (0–30); a token that failed is remembered as bad for this long too, at most 5 s",
                \.authCacheTTL),
            integerSetting(
                "AUTH_FAILURE_BURST", 0...1_000_000, "200",
                "failed token lookups one client address may cause before it is throttled (`0` = no limit)",
                \.authFailureBurst),
            integerSetting(
                "AUTH_FAILURES_PER_SECOND", 1...1_000_000, "20",
                "how fast that budget refills; a throttled address gets `429` + `Retry-After: 1` without a database query",
                \.authFailuresPerSecond),
            Setting(
                name: "TRUSTED_ORIGINS", defaultValue: .prose("(none)"),
                meaning:
                    "comma-separated origins (`https://dash.example.com`) besides the service's own that may send writes authenticated by the `stytch_session` cookie",
                apply: { config, text in
                    let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                        .filter { !$0.isEmpty }
                    for origin in origins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
                        throw ConfigurationError(
                            message:
                                "TRUSTED_ORIGINS must list origins like https://dash.example.com, got \"\(origin)\"")
                    }
                    config.trustedOrigins = origins
                }, show: { $0.trustedOrigins.joined(separator: ",") }),
            Setting(
                name: "MAX_EVENTS_PER_JOB", defaultValue: .value("100000"),
                meaning: "errors (and, separately, warnings) stored per job",
                apply: {
                    $0.limits.maxEventsPerJob = Int64(
                        try parseInt($1, name: "MAX_EVENTS_PER_JOB", range: 1...100_000_000))
                }, show: { String($0.limits.maxEventsPerJob) }),
            secondsSetting(
                "REQUEST_TIMEOUT_SECONDS", 1...3600, "30",
                "a request body must arrive completely within this, else `408` and the connection is closed",
                \.requestTimeout),
            secondsSetting(
                "IDLE_TIMEOUT_SECONDS", 1...3600, "60",
                "a connection that sends nothing (before or between requests) for this long is closed", \.idleTimeout),
            integerSetting(
                "SSE_MAX_STREAMS", 1...1_000_000, "5000",
                "live event streams one instance holds at most; past it `503` + `Retry-After: 5`",
                \.live.maxStreams),
            integerSetting(
                "SSE_MAX_STREAMS_PER_ORG", 1...1_000_000, "1000",
                "live event streams one organization holds at most on one instance; past it `429` + `Retry-After: 1`",
                \.live.maxStreamsPerOrganization),
            secondsSetting(
                "SSE_HEARTBEAT_SECONDS", 1...300, "15",
                "a `: heartbeat` comment goes to every live stream this often, and a watched job silent this long is re-read",
                \.live.heartbeat),
            secondsSetting(
                "SHUTDOWN_GRACE_SECONDS", 0...3600, "10",
                "on SIGTERM/SIGINT, how long in-flight requests may take to finish", \.shutdownGrace),
            secondsSetting(
                "IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS", 1...86400, "600",
                "how often expired `Idempotency-Key` records (older than 24 h) are deleted",
                \.idempotencyCleanupInterval),
            Setting(
                name: "PRUNE_AFTER", defaultValue: .prose("(off)"),
                meaning: "when set (e.g. `90d`), the server itself deletes terminal jobs older than this",
                apply: { $0.pruneAfter = try parsePositiveDuration($1, name: "PRUNE_AFTER", like: "90d, 12h or 30m") },
                show: { $0.pruneAfter.map(showSeconds) ?? "off" }),
            Setting(
                name: "PRUNE_INTERVAL", defaultValue: .value("1h"), meaning: "how often that in-server prune runs",
                apply: {
                    $0.pruneInterval = try parsePositiveDuration($1, name: "PRUNE_INTERVAL", like: "1h, 30m or 600s")
                }, show: { showSeconds($0.pruneInterval) }),
            Setting(
                name: "WEBHOOK_ALLOWED_HOSTS", defaultValue: .prose("(none)"),
                meaning:
                    "comma-separated hosts or addresses webhooks may reach although they are loopback, link-local or private (e.g. `127.0.0.1,hooks.internal`)",
                apply: { $0.webhooks.allowedHosts = try WebhookSettings.parseHosts($1) },
                show: { $0.webhooks.allowedHosts.sorted().joined(separator: ",") }),
            Setting(
                name: "WEBHOOK_TIMEOUT", defaultValue: .value("10s"),
                meaning: "how long one webhook delivery (connect, send, answer) may take before it counts as failed",
                apply: {
                    $0.webhooks.timeout = try parseBoundedDuration(
                        $1, name: "WEBHOOK_TIMEOUT", like: "10s or 1m", max: .seconds(300))
                }, show: { showSeconds($0.webhooks.timeout) }),
            Setting(
                name: "WEBHOOK_RETRY_FOR", defaultValue: .value("1d"),
                meaning:
                    "failed deliveries are retried (exponential backoff with jitter) for this long, then given up; an endpoint failing this long is disabled",
                apply: {
                    $0.webhooks.retryFor = try parseBoundedDuration(
                        $1, name: "WEBHOOK_RETRY_FOR", like: "1d, 12h or 30m", max: .seconds(30 * 86400))
                }, show: { showSeconds($0.webhooks.retryFor) }),
            Setting(
                name: "WEBHOOK_RETRY_BASE", defaultValue: .value("5s"),
                meaning: "the first retry's delay; each next one doubles (at most 1 h), with random jitter",
                apply: {
                    $0.webhooks.retryBase = try parseBoundedDuration(
                        $1, name: "WEBHOOK_RETRY_BASE", like: "5s or 1m", max: .seconds(3600))
                }, show: { showSeconds($0.webhooks.retryBase) }),
            Setting(
                name: "WEBHOOK_POLL_INTERVAL", defaultValue: .value("1s"),
                meaning:
                    "how often each instance looks for due deliveries (a job that ends on this instance wakes it at once)",
                apply: {
                    $0.webhooks.pollInterval = try parseBoundedDuration(
                        $1, name: "WEBHOOK_POLL_INTERVAL", like: "1s or 10s", max: .seconds(3600))
                }, show: { showSeconds($0.webhooks.pollInterval) }),
            Setting(
                name: "STALL_AFTER", defaultValue: .value("10m"),
                meaning:
                    "an `in_progress` job with no progress report for this long is `stalled: true` in its views, listed by `?stalled=true`, counted in `jobs_stalled` and announced once (`job.stalled`); a job's own `stall_after` (at create) wins. The server checks every min(30 s, this / 4)",
                apply: {
                    let d = try parsePositiveDuration($1, name: "STALL_AFTER", like: "10m, 90s or 2h")
                    guard Limits.stallAfterSeconds.contains(d.components.seconds) else {
                        throw ConfigurationError(message: "STALL_AFTER must be between 1s and 30d, got \"\($1)\"")
                    }
                    $0.stallAfter = d
                }, show: { showSeconds($0.stallAfter) }),
            Setting(
                name: "LOG_FORMAT", defaultValue: .prose("`json` when stdout is not a terminal, else `text`"),
                meaning: "`json` or `text`",
                apply: { config, text in
                    guard let format = LogFormat(rawValue: text.lowercased()) else {
                        throw ConfigurationError(message: "LOG_FORMAT must be json or text, got \"\(text)\"")
                    }
                    config.logFormat = format
                }, show: { $0.logFormat?.rawValue ?? "auto" }),
            Setting(
                name: "STYTCH_PROJECT_ID", defaultValue: .prose("(unset: local sessions)"),
                meaning:
                    "Stytch B2B project (`project-live-…` or `project-test-…`). With `STYTCH_SECRET`, the `stytch_session` / `stytch_session_jwt` cookies (and bearer session JWTs) are Stytch sessions; see \"Signing people in with Stytch\"",
                apply: { config, text in
                    guard text.utf8.count <= 255, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                        throw ConfigurationError(
                            message: "STYTCH_PROJECT_ID must be printable ASCII without spaces, got \"\(text)\"")
                    }
                    config.stytchProjectID = text
                }, show: { $0.stytchProjectID ?? "(unset)" }),
            Setting(
                name: "STYTCH_SECRET", defaultValue: .prose("(unset)"),
                meaning: "the project's secret, for Stytch's API (basic auth); never logged",
                isSecret: true, apply: { $0.stytchSecret = $1 },
                show: { $0.stytchSecret == nil ? "(unset)" : "********" }),
            Setting(
                name: "STYTCH_BASE_URL",
                defaultValue: .prose("`https://api.stytch.com` for `project-live-…`, else `https://test.stytch.com`"),
                meaning: "Stytch's API; `http://` only to a loopback address (tests, a local stand-in)",
                apply: { $0.stytchBaseURL = try StytchSettings.parseBaseURL($1) },
                show: { $0.stytch?.baseURL.absoluteString ?? "(unset)" }),
            secondsSetting(
                "STYTCH_JWT_MAX_AGE_SECONDS", 0...300, "30",
                "a session JWT issued longer ago than this (or expired) is confirmed with Stytch instead of trusted on its signature; so a revoked session stops working through its JWT within this time (`0`: every new JWT is confirmed)",
                \.stytchJWTMaxAge),
            millisecondsSetting(
                "STYTCH_TIMEOUT_MS", 100...30_000, "2000",
                "each call to Stytch must answer within this, else the request answers `503` + `Retry-After`",
                \.stytchTimeout),
            Setting(
                name: "STYTCH_ROLE_MAP", defaultValue: .value(StytchSettings.defaultRoleMap.description),
                meaning:
                    "which Stytch roles (role ids) grant which role here, `stytch_role=role` comma-separated; replaces the default; the highest granted role wins; a member none of whose roles is listed is `403`",
                apply: { $0.stytchRoleMap = try StytchSettings.parseRoleMap($1) },
                show: { $0.stytchRoleMap.description }),
            millisecondsSetting(
                "SLOW_QUERY_MS", 0...3_600_000, "500",
                "statements (or pipelines) slower than this are logged at warning level with their SQL text (placeholders only, never values) and duration; `0` turns it off",
                \.slowQueryThreshold),
        ]
    }

    /// An integer setting within `range`, logged as is.
    static func integerSetting(
        _ name: String, _ range: ClosedRange<Int>, _ defaultValue: String, _ meaning: String,
        _ keyPath: WritableKeyPath<AppConfiguration, Int>
    ) -> Setting {
        Setting(
            name: name, defaultValue: .value(defaultValue), meaning: meaning,
            apply: { $0[keyPath: keyPath] = try parseInt($1, name: name, range: range) },
            show: { String($0[keyPath: keyPath]) })
    }

    /// A duration given in whole milliseconds within `range`, logged in milliseconds.
    static func millisecondsSetting(
        _ name: String, _ range: ClosedRange<Int>, _ defaultValue: String, _ meaning: String,
        _ keyPath: WritableKeyPath<AppConfiguration, Duration>
    ) -> Setting {
        Setting(
            name: name, defaultValue: .value(defaultValue), meaning: meaning,
            apply: { $0[keyPath: keyPath] = .milliseconds(try parseInt($1, name: name, range: range)) },
            show: { String(milliseconds($0[keyPath: keyPath])) })
    }

    /// A duration given in whole seconds within `range`, logged as `<n>s`.
    static func secondsSetting(
        _ name: String, _ range: ClosedRange<Int>, _ defaultValue: String, _ meaning: String,
        _ keyPath: WritableKeyPath<AppConfiguration, Duration>
    ) -> Setting {
        Setting(
            name: name, defaultValue: .value(defaultValue), meaning: meaning,
            apply: { $0[keyPath: keyPath] = .seconds(try parseInt($1, name: name, range: range)) },
            show: { showSeconds($0[keyPath: keyPath]) })
    }

    static func showSeconds(_ d: Duration) -> String { "\(d.components.seconds)s" }

    /// A positive duration no longer than `max`.
    static func parseBoundedDuration(_ text: String, name: String, like examples: String, max: Duration) throws
        -> Duration
    {
        let d = try parsePositiveDuration(text, name: name, like: examples)
        guard d <= max else {
            throw ConfigurationError(message: "\(name) must be at most \(showSeconds(max)), got \"\(text)\"")
        }
        return d
    }

    /// `90d`, `12h`, `30m`, `600s` (`DurationParser`), and more than zero.
    static func parsePositiveDuration(_ text: String, name: String, like examples: String) throws -> Duration {
        guard let d = DurationParser.parse(text), d > .zero else {
            throw ConfigurationError(message: "\(name) must look like \(examples), got \"\(text)\"")
        }
        return d
    }
}

/// A bad setting; the message names it.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
