import Foundation
import Hummingbird
import HummingbirdTesting
import JobsHTTP
import LibPQ
import Logging
import Testing

@testable import JobsDomain
@testable import JobsStore

@Suite("The HTTP server against the real database")
struct ServerTests {
    @Test func readyzIs200WhenMigrated() async throws {
        try await TestDatabase.migrated()
        var config = try AppConfiguration.fromEnvironment()
        config.port = 0
        let client = PGClient(configuration: config.postgres)
        let expected = try PGMigrator(client: client, directory: TestDatabase.migrationsDirectory).files().last!.version
        let app = buildApplication(
            configuration: config, client: client, expectedMigration: expected, logger: Logger(label: "test"))
        try await app.test(.live) { http in
            try await http.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ready"}"#)
            }
            try await http.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func readyzIs503WhenMigrationsArePending() async throws {
        try await TestDatabase.migrated()
        var config = try AppConfiguration.fromEnvironment()
        config.port = 0
        let client = PGClient(configuration: config.postgres)
        let app = buildApplication(
            configuration: config, client: client, expectedMigration: 9999, logger: Logger(label: "test"))
        try await app.test(.live) { http in
            try await http.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("pending"))
            }
        }
    }
}

@Suite("Admin command line")
struct AdminCommandTests {
    @Test func tenantSetupWithoutSQL() async throws {
        try await TestDatabase.migrated()
        let org = TestDatabase.uniqueID("org")
        let user = TestDatabase.uniqueID("user")
        #expect(try await runJobsAPI(["org", "create", org, "--name", "Acme"]).status == 0)
        #expect(try await runJobsAPI(["org", "create", org]).status == 0, "idempotent")
        #expect(try await runJobsAPI(["user", "create", user, "--email", "u@example.com"]).status == 0)
        #expect(try await runJobsAPI(["user", "create", user]).status == 0)
        #expect(try await runJobsAPI(["member", "add", org, user, "--role", "viewer"]).status == 0)
        #expect(try await runJobsAPI(["member", "add", org, user, "--role", "admin"]).status == 0)

        let created = try await runJobsAPI(["apikey", "create", org, "--name", "worker", "--role", "owner"])
        #expect(created.status == 0)
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("jak_") && !token.contains("\n") && token.count == 47, "stdout is only the token")

        let listed = try await runJobsAPI(["apikey", "list", org])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("worker"))
        #expect(!listed.stdout.contains(token), "the list never shows tokens")

        let session = try await runJobsAPI(["session", "create", user, "--ttl", "1h"])
        #expect(session.status == 0)
        let sessionToken = session.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(sessionToken.hasPrefix("jas_"))

        // What the database holds: hashes only, the role updated, the session live.
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let role = try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query("SELECT role FROM memberships WHERE organization_id = \(org) AND user_id = \(user)")
                .first!.decode("role", as: String.self)
        }
        #expect(role == "admin")
        let app = try await TestDatabase.appClient(maxConnections: 1)
        defer { Task { await app.shutdown() } }
        let key = try await app.query("SELECT organization_id, role FROM auth_api_key(\(PGBytes(Token.hash(token))))")
        #expect(try key.first?.decode("organization_id", as: String.self) == org)
        #expect(try key.first?.decode("role", as: String.self) == "owner")
        let memberships = try await app.query(
            "SELECT organization_id, role FROM auth_session(\(PGBytes(Token.hash(sessionToken))))")
        #expect(try memberships.map { try $0.decode("role", as: String.self) } == ["admin"])

        #expect(try await runJobsAPI(["apikey", "revoke", token]).status == 0)
        let again = try await runJobsAPI(["apikey", "revoke", token])
        #expect(again.status != 0)
        #expect(again.stderr.contains("no active API key"))
        #expect(try await app.query("SELECT 1 FROM auth_api_key(\(PGBytes(Token.hash(token))))").isEmpty)

        #expect(try await runJobsAPI(["session", "revoke", sessionToken]).status == 0)
        #expect(try await app.query("SELECT 1 FROM auth_session(\(PGBytes(Token.hash(sessionToken))))").isEmpty)
    }

    @Test func badInputGivesAClearMessageAndNonZeroExit() async throws {
        try await TestDatabase.migrated()
        let badRole = try await runJobsAPI(["member", "add", "x", "y", "--role", "emperor"])
        #expect(badRole.status != 0)
        #expect(badRole.stderr.contains("role"))
        let unknownOrg = try await runJobsAPI(["apikey", "create", TestDatabase.uniqueID("missing")])
        #expect(unknownOrg.status == 1)
        #expect(unknownOrg.stderr.contains("unknown organization"))
        #expect(unknownOrg.stdout.isEmpty)
        let badID = try await runJobsAPI(["org", "create", "has space"])
        #expect(badID.status == 1)
        #expect(badID.stderr.contains("organization id"))
        let badTTL = try await runJobsAPI(["session", "create", "u", "--ttl", "forever"])
        #expect(badTTL.status != 0)
        #expect(badTTL.stderr.contains("--ttl"))
        let badURL = try await runJobsAPI(
            ["migrate"], environment: ["DATABASE_URL": "postgres://u:sekrit@h:5432/db?nonsense=1"])
        #expect(badURL.status != 0)
        #expect(!badURL.stderr.contains("sekrit"))
    }
}

@Suite("Retention command")
struct PruneCommandTests {
    @Test func pruneDeletesOnlyOldTerminalJobs() async throws {
        try await TestDatabase.migrated()
        // prune is global: DBAToolingTests prunes the same horizon in parallel.
        try await TestDatabase.exclusively("prune") { try await pruneCommand() }
    }

    private func pruneCommand() async throws {
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        let admin = AdminService(database: Database(client: owner))
        let org = TestDatabase.uniqueID("org_prune")
        try await admin.createOrganization(org, name: nil)
        let old = TestDatabase.uniqueID("job_old")
        let recent = TestDatabase.uniqueID("job_new")
        let running = TestDatabase.uniqueID("job_run")
        _ = try await Database(client: owner).transaction(organization: org) { tx in
            for (id, status, ended) in [
                (old, "completed", "400 days"), (recent, "completed", "1 day"), (running, "in_progress", ""),
            ] {
                if status == "in_progress" {
                    try await tx.query(
                        """
                        INSERT INTO jobs (organization_id, job_id, job_type, status, started_at, created_at, updated_at)
                        VALUES (\(org), \(id), 't', 'in_progress', now() - interval '500 days', now() - interval '500 days', now() - interval '500 days')
                        """)
                } else {
                    try await tx.query(
                        """
                        INSERT INTO jobs (organization_id, job_id, job_type, status, ended_by, created_at, completed_at, updated_at)
                        VALUES (\(org), \(id), 't', \(status), 'mark_completed', now() - \(ended)::interval - interval '1 hour',
                                now() - \(ended)::interval, now() - \(ended)::interval)
                        """)
                    try await tx.query(
                        """
                        INSERT INTO job_events (organization_id, job_id, kind, seq, entity_key, error_type, message)
                        VALUES (\(org), \(id), 'error', 1, 'k', 'e', 'm')
                        """)
                }
            }
        }
        let dry = try await runJobsAPI(["prune", "--older-than", "365d", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.hasPrefix("would delete "))
        let real = try await runJobsAPI(["prune", "--older-than", "365d", "--batch-size", "2"])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(real.stdout.hasPrefix("deleted "))
        let left = try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query("SELECT job_id FROM jobs WHERE organization_id = \(org) ORDER BY job_id")
                .map { try $0.decode("job_id", as: String.self) }
        }
        #expect(Set(left) == [recent, running], "only the old terminal job went")
        let events = try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query(
                "SELECT count(*) AS n FROM job_events WHERE organization_id = \(org) AND job_id = \(old)"
            )
            .first!.decode("n", as: Int.self)
        }
        #expect(events == 0, "its events went with it")
        let bad = try await runJobsAPI(["prune", "--older-than", "soon"])
        #expect(bad.status == 2)
        let badStatus = try await runJobsAPI(["prune", "--older-than", "1d", "--status", "pending"])
        #expect(badStatus.status == 2)
        await owner.shutdown()
    }
}
