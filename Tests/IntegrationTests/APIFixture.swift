import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobsHTTP
import JobsTestSupport
import LibPQ
import Logging
import NIOCore
import Testing

@testable import JobsDomain
@testable import JobsStore

/// Two organizations with API keys of every role, and users with zero, one and two
/// memberships, created once per test process through the admin service.
struct Tenants: Sendable {
    let orgA: String
    let orgB: String
    /// API keys of org A by role, and one editor key of org B.
    let keyA: [Role: String]
    let keyB: String
    let revokedKeyA: String
    /// Users and their sessions.
    let soloUser: String  // editor of A only
    let soloSession: String
    let multiUser: String  // viewer of A, owner of B
    let multiSession: String
    let loneUser: String  // no membership
    let loneSession: String
    let expiredSession: String
    let revokedSession: String

    func bearer(_ token: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        return headers
    }

    var editorA: HTTPFields { bearer(keyA[.editor]!) }
}

actor TenantStore {
    static let shared = TenantStore()
    private var tenants: Tenants?

    func get() async throws -> Tenants {
        if let tenants { return tenants }
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 2)
        let admin = AdminService(database: Database(client: owner))
        let orgA = TestDatabase.uniqueID("org_a")
        let orgB = TestDatabase.uniqueID("org_b")
        try await admin.createOrganization(orgA, name: "A")
        try await admin.createOrganization(orgB, name: "B")
        var keys: [Role: String] = [:]
        for role in Role.allCases {
            keys[role] = try await admin.createAPIKey(organization: orgA, name: role.rawValue, role: role)
        }
        let keyB = try await admin.createAPIKey(organization: orgB, name: "b", role: .editor)
        let revoked = try await admin.createAPIKey(organization: orgA, name: "revoked", role: .owner)
        _ = try await admin.revokeAPIKey(token: revoked)
        let solo = TestDatabase.uniqueID("solo")
        let multi = TestDatabase.uniqueID("multi")
        let lone = TestDatabase.uniqueID("lone")
        for user in [solo, multi, lone] { try await admin.createUser(user, email: nil) }
        try await admin.addMember(organization: orgA, user: solo, role: .editor)
        try await admin.addMember(organization: orgA, user: multi, role: .viewer)
        try await admin.addMember(organization: orgB, user: multi, role: .owner)
        let expired = try await admin.createSession(user: solo, ttl: .seconds(1))
        let revokedSession = try await admin.createSession(user: solo, ttl: .seconds(3600))
        _ = try await admin.revokeSession(token: revokedSession)
        let t = Tenants(
            orgA: orgA, orgB: orgB, keyA: keys, keyB: keyB, revokedKeyA: revoked, soloUser: solo,
            soloSession: try await admin.createSession(user: solo, ttl: .seconds(3600)), multiUser: multi,
            multiSession: try await admin.createSession(user: multi, ttl: .seconds(3600)), loneUser: lone,
            loneSession: try await admin.createSession(user: lone, ttl: .seconds(3600)), expiredSession: expired,
            revokedSession: revokedSession)
        await owner.shutdown()
        try await Task.sleep(for: .seconds(1.1))  // let the short session expire
        tenants = t
        return t
    }
}

/// Runs `body` against a real server (real sockets, AsyncHTTPClient) over the test database.
func withAPI(
    maxEventsPerJob: Int64 = 100_000, authCacheTTL: Duration = .seconds(10), poolSize: Int = 10,
    configure: (inout AppConfiguration) -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol, Tenants) async throws -> Void
) async throws {
    let tenants = try await TenantStore.shared.get()
    var config = try AppConfiguration.fromEnvironment()
    // The stall watch acts on every organization's jobs: only tests that ask for it run it (so
    // it never touches another test's jobs behind its back).
    config.runsStallWatch = false
    // Nor the webhook deliverer: it would claim (and fail) other tests' outbox rows; the outbox
    // tests claim themselves, and tests/reliability + tests/cluster deliver for real.
    config.webhooks.runsDeliverer = false
    configure(&config)
    config.port = 0
    config.poolSize = poolSize
    config.limits.maxEventsPerJob = maxEventsPerJob
    config.authCacheTTL = authCacheTTL
    let metrics = AppMetrics()
    var pg = config.postgres
    pg.acquireObserver = { metrics.poolAcquired(after: $0) }
    let client = PGClient(configuration: pg)
    metrics.attach(client)
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let app = buildApplication(
        configuration: config, client: client, expectedMigration: 1, logger: logger, metrics: metrics)
    return try await app.test(.ahc(.http)) { http in try await body(http, tenants) }
}

func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
func double(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }

/// `headers` plus an `Idempotency-Key`.
func with(_ headers: HTTPFields, key: String) -> HTTPFields {
    var h = headers
    h[HTTPField.Name("Idempotency-Key")!] = key
    return h
}

/// Header fields from plain name/value pairs.
func h(_ pairs: [String: String]) -> HTTPFields {
    var fields = HTTPFields()
    for (name, value) in pairs { fields[HTTPField.Name(name)!] = value }
    return fields
}
