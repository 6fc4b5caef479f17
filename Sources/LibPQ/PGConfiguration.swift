import Foundation

/// How to reach PostgreSQL and how the pool behaves.
public struct PGConfiguration: Sendable {
    /// A libpq URI (`postgres://...`) or conninfo string (`host=... dbname=...`). When nil, libpq
    /// reads its own environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`, ...).
    public var connectionString: String?
    /// Role to switch to right after connecting (`SET ROLE`), e.g. a non-owner runtime role.
    public var role: String?
    /// Session settings applied right after connecting (with `set_config(name, value, false)`,
    /// in one round trip with the role), e.g. `statement_timeout` and `lock_timeout`.
    public var sessionSettings: [(name: String, value: String)] = []
    /// The most connections the pool opens.
    public var maxConnections: Int
    /// How long `acquire` waits for a free connection before failing with `.poolTimeout`.
    public var acquireTimeout: Duration
    /// Seconds libpq waits for a connection to be established (`connect_timeout`).
    public var connectTimeoutSeconds: Int
    /// When true, only unnamed statements are used (safe behind PgBouncer's transaction pooling).
    /// When false, each connection prepares each distinct statement once and reuses it.
    public var unnamedStatementsOnly: Bool
    /// Fault injection for tests: how long a cancel request takes to reach the server (as over
    /// a slow network). nil in production.
    public var cancelDelayForTesting: Duration?
    /// The most named prepared statements one connection keeps (least recently used ones are
    /// deallocated past it, when the connection goes back to the pool). Every statement text is
    /// built from constants, so real use stays far below; the bound is a safety net.
    public var maxPreparedStatements: Int = 256
    /// Sent as `fallback_application_name` (visible in `pg_stat_activity`); an
    /// `application_name` in the connection string takes precedence.
    public var applicationName: String
    /// Statements (or pipelines) slower than this are logged at warning level with their name
    /// (or the start of their SQL text) and duration, never their bind values. nil = off.
    public var slowQueryThreshold: Duration?
    /// Called after each successful acquire with how long it waited (for metrics).
    public var acquireObserver: (@Sendable (Duration) -> Void)?

    public init(
        connectionString: String? = nil, role: String? = nil, maxConnections: Int = 10,
        acquireTimeout: Duration = .seconds(5), connectTimeoutSeconds: Int = 5,
        unnamedStatementsOnly: Bool = false, applicationName: String = "jobs-api", slowQueryThreshold: Duration? = nil
    ) {
        self.slowQueryThreshold = slowQueryThreshold
        self.connectionString = connectionString
        self.role = role
        self.maxConnections = max(1, maxConnections)
        self.acquireTimeout = acquireTimeout
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.unnamedStatementsOnly = unnamedStatementsOnly
        self.applicationName = applicationName
    }

    /// Reads `DATABASE_URL` from the environment (nil when unset or empty: libpq's `PG*` apply).
    public static func connectionStringFromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        guard let url = environment["DATABASE_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// The connection string for logs: rebuilt from libpq's parse of it as conninfo, with
    /// `password` and `sslpassword` replaced by `********` (redaction by structure, not by
    /// searching the text, so encoded, quoted or unusual passwords are masked too).
    public static func redacted(_ connectionString: String?) -> String {
        guard let connectionString else { return "(libpq PG* environment)" }
        return PGConnection.redact(connectionString)
    }
}
