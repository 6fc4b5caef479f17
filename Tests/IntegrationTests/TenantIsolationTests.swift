import Foundation
import JobsHTTP
import LibPQ
import Testing

@testable import JobsStore

@Suite("Row-level security as the runtime role")
struct TenantIsolationTests {
    /// Inserts one job for each of two fresh organizations (as the owner, setting each org).
    func seed() async throws -> (String, String) {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        let admin = AdminService(database: Database(client: owner))
        let a = TestDatabase.uniqueID("org_a")
        let b = TestDatabase.uniqueID("org_b")
        for org in [a, b] {
            try await admin.createOrganization(org, name: nil)
            _ = try await Database(client: owner).transaction(organization: org) { tx in
                try await tx.query(
                    "INSERT INTO jobs (organization_id, job_id, job_type) VALUES (\(org), \(TestDatabase.uniqueID("job")), 'probe')"
                )
            }
        }
        await owner.shutdown()
        return (a, b)
    }

    @Test func runtimeRoleSeesOnlyItsOrganization() async throws {
        let (a, b) = try await seed()
        let app = try await TestDatabase.appClient()
        defer { Task { await app.shutdown() } }
        let role = try await app.query("SELECT current_user AS u").first!.decode("u", as: String.self)
        #expect(role == "jobs_api_app")
        let orgs = try await Database(client: app).transaction(organization: a) { tx in
            try await tx.query("SELECT DISTINCT organization_id FROM jobs").map {
                try $0.decode("organization_id", as: String.self)
            }
        }
        #expect(orgs == [a])
        // Writing another organization's rows fails.
        await #expect(throws: PGError.self) {
            try await Database(client: app).transaction(organization: a) { tx in
                try await tx.query("INSERT INTO jobs (organization_id, job_id, job_type) VALUES (\(b), 'x', 'probe')")
            }
        }
        let updated = try await Database(client: app).transaction(organization: a) { tx in
            try await tx.query("UPDATE jobs SET total_items = 5 WHERE organization_id = \(b)").affectedRows
        }
        #expect(updated == 0)
        // With no organization set, nothing is visible.
        let visible = try await app.query("SELECT count(*) AS n FROM jobs").first!.decode("n", as: Int.self)
        #expect(visible == 0)
    }

    /// The tenant tables the server uses. The credential tables (organizations, memberships,
    /// api_keys) are not granted to the runtime role at all (migration 0009).
    static let tenantTables = ["jobs", "job_events", "idempotency_keys"]
    static let credentialTables = ["organizations", "memberships", "api_keys"]

    /// Rows for two organizations in every tenant table, written as the owner.
    func seedEveryTable() async throws -> (String, String) {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        let admin = AdminService(database: Database(client: owner))
        let a = TestDatabase.uniqueID("rls_a")
        let b = TestDatabase.uniqueID("rls_b")
        for org in [a, b] {
            try await admin.createOrganization(org, name: nil)
            let user = TestDatabase.uniqueID("u")
            try await admin.createUser(user, email: nil)
            try await admin.addMember(organization: org, user: user, role: .viewer)
            _ = try await admin.createAPIKey(organization: org, name: "k", role: .editor)
            _ = try await Database(client: owner).transaction(organization: org) { tx in
                let job = TestDatabase.uniqueID("job")
                try await tx.query("INSERT INTO jobs (organization_id, job_id, job_type) VALUES (\(org), \(job), 't')")
                try await tx.query(
                    """
                    INSERT INTO job_events (organization_id, job_id, kind, seq, entity_key, error_type, message)
                    VALUES (\(org), \(job), 'error', 1, 'k', 'e', 'm')
                    """)
                try await tx.query(
                    """
                    INSERT INTO idempotency_keys (organization_id, idempotency_key, method, path, request_hash)
                    VALUES (\(org), 'k', 'POST', '/api/jobs', \(PGBytes([UInt8](repeating: 1, count: 32))))
                    """)
            }
        }
        await owner.shutdown()
        return (a, b)
    }

    @Test func everyTenantTableIsFilteredWithoutAWhereClause() async throws {
        let (a, b) = try await seedEveryTable()
        let app = try await TestDatabase.appClient(maxConnections: 1)
        defer { Task { await app.shutdown() } }
        // Safety: table names come from this suite's constant lists.
        for table in Self.tenantTables {
            // (a) organization A set: a query with no WHERE returns only A's rows.
            let orgs = try await Database(client: app).transaction(organization: a) { tx in
                try await tx.query("SELECT DISTINCT organization_id FROM \(unsafeRaw: table)")
                    .map { try $0.decode("organization_id", as: String.self) }
            }
            #expect(orgs == [a], "\(table)")
            // (c) no organization set: nothing is visible.
            let none = try await app.withTransaction { tx in
                try await tx.query("SELECT count(*) AS n FROM \(unsafeRaw: table)").first!.decode("n", as: Int.self)
            }
            #expect(none == 0, "\(table)")
            // (b) updating B's rows touches nothing.
            if table != "job_events" && table != "organizations" {
                let touched = try await Database(client: app).transaction(organization: a) { tx in
                    try await tx.query(
                        "UPDATE \(unsafeRaw: table) SET organization_id = organization_id WHERE organization_id = \(b)"
                    ).affectedRows
                }
                #expect(touched == 0, "\(table)")
            }
        }
        // (b) inserting B's rows fails, table by table.
        let inserts: [PGQuery] = [
            "INSERT INTO jobs (organization_id, job_id, job_type) VALUES (\(b), 'x', 't')",
            "INSERT INTO job_events (organization_id, job_id, kind, seq, entity_key, error_type, message) SELECT \(b), 'x', 'error', 1, 'k', 'e', 'm'",
            "INSERT INTO idempotency_keys (organization_id, idempotency_key, method, path, request_hash) VALUES (\(b), 'z', 'POST', '/p', \(PGBytes([UInt8](repeating: 2, count: 32))))",
            "INSERT INTO memberships (organization_id, user_id, role) VALUES (\(b), 'nobody', 'viewer')",
            "INSERT INTO api_keys (organization_id, key_id, role, token_hash, token_prefix) VALUES (\(b), 'k2', 'owner', \(PGBytes([UInt8](repeating: 3, count: 32))), 'jak_x')",
        ]
        for insert in inserts {
            await #expect(throws: PGError.self, "\(insert.sql)") {
                try await Database(client: app).transaction(organization: a) { tx in try await tx.query(insert) }
            }
        }
        // The credential tables: no access at all, even to the organization's own rows.
        // Safety: table names come from this suite's constant lists.
        for table in Self.credentialTables {
            for statement: PGQuery in [
                "SELECT count(*) AS n FROM \(unsafeRaw: table)",
                "UPDATE \(unsafeRaw: table) SET organization_id = organization_id WHERE organization_id = \(a)",
            ] {
                let error = await #expect(throws: PGError.self, "\(statement.sql)") {
                    try await Database(client: app).transaction(organization: a) { tx in try await tx.query(statement) }
                }
                #expect(error?.sqlState == .insufficientPrivilege, "\(statement.sql)")
            }
        }
    }
}
