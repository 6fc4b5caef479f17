import Foundation
import JobsAPI
import LibPQ
import Testing

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
                    "INSERT INTO jobs (organization_id, job_id, job_type) VALUES (\(org), \(TestDatabase.uniqueID("job")), 'probe')")
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
            try await tx.query("SELECT DISTINCT organization_id FROM jobs").map { try $0.decode("organization_id", as: String.self) }
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
}
