import Foundation
import JobsHTTP
import LibPQ
import Testing

@testable import JobsStore

/// The DBA tooling of migration 0007: repair functions, views, prune_jobs and the analyst roles.
///
/// The test database is shared with tests running in parallel, so every query filters by this
/// suite's own fresh organization ids and nothing assumes global counts. prune_jobs is global:
/// only the fate of our own rows is asserted.
@Suite("DBA tooling (0007)")
struct DBAToolingTests {
    /// Thrown at the end of a transaction whose changes (roles, grants) must not survive.
    struct RollBack: Error {}

    static func sqlState(_ error: PGError?) -> String? { error?.sqlState?.rawValue }

    /// A fresh organization.
    func organization(_ prefix: String, _ owner: PGClient) async throws -> String {
        let org = TestDatabase.uniqueID(prefix)
        try await AdminService(database: Database(client: owner)).createOrganization(org, name: nil)
        return org
    }

    /// Inserts a job in a consistent state for `status`: terminal ones get ended_by and a
    /// completed_at `endedSecondsAgo` in the past; `updatedSecondsAgo` sets updated_at (and,
    /// unless the job ended, how long ago it was created/started).
    @discardableResult
    func insertJob(
        _ owner: PGClient, org: String, status: String, updatedSecondsAgo: Int = 0, endedSecondsAgo: Int = 0,
        total: Int = 100, processed: Int = 0, failed: Int = 0, events: Int = 0
    ) async throws -> String {
        let job = TestDatabase.uniqueID("job")
        let terminal = !["pending", "in_progress"].contains(status)
        let endedBy: String? =
            switch status {
            case "pending", "in_progress": nil
            case "cancelled": "cancel"
            case "failed": "mark_failed"
            default: "mark_completed"
            }
        let updatedAgo = terminal ? endedSecondsAgo : updatedSecondsAgo
        let message: String? = status == "failed" || status == "cancelled" ? "ended" : nil
        try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query(
                """
                INSERT INTO jobs (organization_id, job_id, job_type, status, total_items, processed_items, failed_items,
                                  error_count, stored_error_count, error_message, ended_by,
                                  created_at, started_at, completed_at, updated_at)
                VALUES (\(org), \(job), 'dba_probe', \(status), \(total), \(processed), \(failed),
                        \(events), \(events), \(message), \(endedBy),
                        now() - (\(updatedAgo) + 3600) * interval '1 second',
                        CASE WHEN \(status) = 'pending' THEN NULL ELSE now() - (\(updatedAgo) + 3600) * interval '1 second' END,
                        CASE WHEN \(terminal) THEN now() - \(endedSecondsAgo) * interval '1 second' END,
                        now() - \(updatedAgo) * interval '1 second')
                """)
            if events > 0 {
                try await tx.query(
                    """
                    INSERT INTO job_events (organization_id, job_id, kind, seq, entity_key, entity_type, error_type, message)
                    SELECT \(org), \(job), 'error', g, 'row-' || g, 'row', 'validation', 'bad row'
                    FROM generate_series(1, \(events)) AS g
                    """)
            }
        }
        return job
    }

    // MARK: - (a) dba_cancel_job

    @Test func cancelFollowsTheAPIRules() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let org = try await organization("dba_cancel", owner)
        let pending = try await insertJob(owner, org: org, status: "pending", updatedSecondsAgo: 600)
        let running = try await insertJob(owner, org: org, status: "in_progress", updatedSecondsAgo: 600)
        let cancelled = try await insertJob(owner, org: org, status: "cancelled", endedSecondsAgo: 86_400)
        let completed = try await insertJob(owner, org: org, status: "completed", endedSecondsAgo: 600)

        // pending -> cancelled with the reason; completed_at and updated_at are now.
        let row = try await owner.query(
            """
            SELECT status, error_message, ended_by, started_at IS NULL AS never_started,
                   completed_at > now() - interval '1 minute' AS completed_now,
                   updated_at > now() - interval '1 minute' AS updated_now
            FROM dba_cancel_job(\(org), \(pending), 'superseded by a new import')
            """
        ).first!
        #expect(try row.decode("status", as: String.self) == "cancelled")
        #expect(try row.decode("error_message", as: String.self) == "superseded by a new import")
        #expect(try row.decode("ended_by", as: String.self) == "cancel")
        #expect(try row.decode("never_started", as: Bool.self))
        #expect(try row.decode("completed_now", as: Bool.self))
        #expect(try row.decode("updated_now", as: Bool.self))

        // in_progress with an empty reason -> "cancelled", as the API stores it.
        let empty = try await owner.query("SELECT status, error_message FROM dba_cancel_job(\(org), \(running), '')")
            .first!
        #expect(try empty.decode("status", as: String.self) == "cancelled")
        #expect(try empty.decode("error_message", as: String.self) == "cancelled")

        // A cancelled job comes back unchanged, updated_at included.
        let stored: PGQuery =
            "SELECT status, error_message, completed_at::text AS c, updated_at::text AS u FROM jobs WHERE organization_id = \(org) AND job_id = \(cancelled)"
        let before = try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query(stored).first!
        }
        let again = try await owner.query(
            "SELECT status, error_message, completed_at::text AS c, updated_at::text AS u FROM dba_cancel_job(\(org), \(cancelled), 'other reason')"
        ).first!
        let after = try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query(stored).first!
        }
        for column in ["status", "error_message", "c", "u"] {
            #expect(try again.decode(column, as: String.self) == before.decode(column, as: String.self), "\(column)")
            #expect(try after.decode(column, as: String.self) == before.decode(column, as: String.self), "\(column)")
        }

        // Any other terminal status is refused (55000), and an unknown job is P0002.
        let refused = await #expect(throws: PGError.self) {
            try await owner.query("SELECT status FROM dba_cancel_job(\(org), \(completed))")
        }
        #expect(Self.sqlState(refused) == "55000")
        #expect(refused?.message.contains("cannot be cancelled") == true)
        let status = try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query("SELECT status FROM jobs WHERE organization_id = \(org) AND job_id = \(completed)")
                .first!.decode("status", as: String.self)
        }
        #expect(status == "completed")
        let unknown = await #expect(throws: PGError.self) {
            try await owner.query("SELECT status FROM dba_cancel_job(\(org), 'job_does_not_exist')")
        }
        #expect(Self.sqlState(unknown) == "P0002")
        // Another organization's job does not exist for that organization.
        let other = try await organization("dba_cancel_other", owner)
        let elsewhere = await #expect(throws: PGError.self) {
            try await owner.query("SELECT status FROM dba_cancel_job(\(other), \(completed))")
        }
        #expect(Self.sqlState(elsewhere) == "P0002")
    }

    /// The functions set app.organization_id themselves, so they work for a role that is subject
    /// to row-level security and has no organization set, and they leave the setting as it was.
    @Test func repairFunctionsWorkUnderRowLevelSecurityWithoutAnOrganizationSet() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let org = try await organization("dba_rls", owner)
        let job = try await insertJob(owner, org: org, status: "in_progress", updatedSecondsAgo: 60)
        // Generated from hex digits only: safe as an identifier.
        let role = "dba_probe_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        // Safety: the role name is generated above from hex digits.
        await #expect(throws: RollBack.self) {
            try await owner.withTransaction { tx in
                try await tx.query("CREATE ROLE \(unsafeRaw: role) NOLOGIN NOSUPERUSER NOBYPASSRLS")
                try await tx.query("GRANT SELECT, UPDATE ON jobs TO \(unsafeRaw: role)")
                try await tx.query("GRANT EXECUTE ON FUNCTION dba_cancel_job(text, text, text) TO \(unsafeRaw: role)")
                try await tx.query("SET LOCAL ROLE \(unsafeRaw: role)")
                let visible = try await tx.query("SELECT count(*) AS n FROM jobs WHERE organization_id = \(org)")
                    .first!.decode("n", as: Int.self)
                #expect(visible == 0, "RLS applies to the probe role")
                let row = try await tx.query(
                    """
                    SELECT status, coalesce(current_setting('app.organization_id', true), '') AS org_after
                    FROM dba_cancel_job(\(org), \(job), 'stopped by a DBA')
                    """
                ).first!
                #expect(try row.decode("status", as: String.self) == "cancelled")
                let orgAfter = try await tx.query(
                    "SELECT coalesce(current_setting('app.organization_id', true), '') AS o"
                ).first!.decode("o", as: String.self)
                #expect(orgAfter == "", "the caller's (empty) setting is restored")
                try await tx.query("RESET ROLE")
                throw RollBack()
            }
        }
        // Rolled back: the job is still running.
        let status = try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query("SELECT status FROM jobs WHERE organization_id = \(org) AND job_id = \(job)")
                .first!.decode("status", as: String.self)
        }
        #expect(status == "in_progress")
    }

    // MARK: - (b) dba_fail_stuck_job

    @Test func failStuckJobEndsOnlyUnfinishedJobs() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let org = try await organization("dba_fail", owner)
        let running = try await insertJob(owner, org: org, status: "in_progress", updatedSecondsAgo: 7200)
        let pending = try await insertJob(owner, org: org, status: "pending", updatedSecondsAgo: 7200)
        let done = try await insertJob(owner, org: org, status: "partial_success", endedSecondsAgo: 60)

        let row = try await owner.query(
            """
            SELECT status, ended_by, error_message, started_at IS NOT NULL AS started,
                   completed_at > now() - interval '1 minute' AS completed_now,
                   updated_at > now() - interval '1 minute' AS updated_now
            FROM dba_fail_stuck_job(\(org), \(running))
            """
        ).first!
        #expect(try row.decode("status", as: String.self) == "failed")
        #expect(try row.decode("ended_by", as: String.self) == "mark_failed")
        #expect(try row.decode("error_message", as: String.self) == "marked failed by a DBA: no progress")
        #expect(try row.decode("started", as: Bool.self))
        #expect(try row.decode("completed_now", as: Bool.self))
        #expect(try row.decode("updated_now", as: Bool.self))

        let fromPending = try await owner.query(
            "SELECT status, error_message, started_at IS NULL AS never_started FROM dba_fail_stuck_job(\(org), \(pending), 'worker host decommissioned')"
        ).first!
        #expect(try fromPending.decode("status", as: String.self) == "failed")
        #expect(try fromPending.decode("error_message", as: String.self) == "worker host decommissioned")
        #expect(try fromPending.decode("never_started", as: Bool.self))

        for job in [done, running] {  // terminal, including the one just failed
            let error = await #expect(throws: PGError.self) {
                try await owner.query("SELECT status FROM dba_fail_stuck_job(\(org), \(job))")
            }
            #expect(Self.sqlState(error) == "55000")
        }
        let empty = await #expect(throws: PGError.self) {
            try await owner.query("SELECT status FROM dba_fail_stuck_job(\(org), \(pending), '')")
        }
        #expect(Self.sqlState(empty) == "22023")
    }

    // MARK: - dba_revoke_api_key

    @Test func revokeAPIKeyByKeyID() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let org = try await organization("dba_key", owner)
        let admin = AdminService(database: Database(client: owner))
        _ = try await admin.createAPIKey(organization: org, name: "worker", role: .editor)
        let keyID = try #require(try await admin.listAPIKeys(organization: org).first?.keyID)
        let first = try await owner.query("SELECT dba_revoke_api_key(\(org), \(keyID)) AS r").first!.decode(
            "r", as: Bool.self)
        let second = try await owner.query("SELECT dba_revoke_api_key(\(org), \(keyID)) AS r").first!.decode(
            "r", as: Bool.self)
        #expect(first == true)
        #expect(second == false, "already revoked: unchanged")
        #expect(try await admin.listAPIKeys(organization: org).first?.revokedAt != nil)
        let unknown = await #expect(throws: PGError.self) {
            try await owner.query("SELECT dba_revoke_api_key(\(org), 'key_unknown') AS r")
        }
        #expect(Self.sqlState(unknown) == "P0002")
    }

    // MARK: - (c) dba_stuck_jobs and dba_running_job_progress

    @Test func stuckJobsUseTheConfigurableThreshold() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let org = try await organization("dba_stuck", owner)
        let silent45 = try await insertJob(owner, org: org, status: "in_progress", updatedSecondsAgo: 45 * 60)
        let silent20 = try await insertJob(owner, org: org, status: "in_progress", updatedSecondsAgo: 20 * 60)
        let fresh = try await insertJob(
            owner, org: org, status: "in_progress", updatedSecondsAgo: 0, total: 1000, processed: 640, failed: 12)
        _ = try await insertJob(owner, org: org, status: "pending", updatedSecondsAgo: 3 * 3600)
        _ = try await insertJob(owner, org: org, status: "failed", endedSecondsAgo: 3 * 3600)

        func stuck(threshold: String?) async throws -> [String] {
            try await Database(client: owner).transaction(organization: org) { tx in
                if let threshold {
                    try await tx.query("SELECT set_config('jobs.stuck_after', \(threshold), true)")
                }
                return try await tx.query(
                    "SELECT job_id FROM dba_stuck_jobs WHERE organization_id = \(org) ORDER BY updated_at"
                ).map { try $0.decode("job_id", as: String.self) }
            }
        }
        #expect(try await stuck(threshold: nil) == [silent45], "default threshold: 30 minutes")
        #expect(try await stuck(threshold: "10 minutes") == [silent45, silent20])
        #expect(try await stuck(threshold: "1 hour") == [])

        // The per-job running view: progress as spec §2, pending and in_progress only.
        let rows = try await Database(client: owner).transaction(organization: org) { tx in
            try await tx.query(
                """
                SELECT job_id, status, progress_percentage::float8 AS p, seconds_since_update
                FROM dba_running_job_progress WHERE organization_id = \(org)
                """)
        }
        #expect(rows.count == 4)
        let freshRow = try #require(rows.first { (try? $0.decode("job_id", as: String.self)) == fresh })
        #expect(try freshRow.decode("p", as: Double.self) == 65.2)
        #expect(try freshRow.decode("seconds_since_update", as: Int.self) < 60)
    }

    // MARK: - (d) prune_jobs

    @Test func pruneDeletesOldTerminalJobsAndTheirEventsInBatches() async throws {
        try await TestDatabase.migrated()
        // prune_jobs is global: the retention command's test prunes the same horizon in parallel
        // (seen in CI: it deleted this test's rows between the insert and the dry run).
        try await TestDatabase.exclusively("prune") { try await pruneInBatches() }
    }

    private func pruneInBatches() async throws {
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let org = try await organization("dba_prune", owner)
        let day = 86_400
        // Far in the past (other tests' jobs are recent), so '365 days' only matches ours.
        let oldCompleted = try await insertJob(
            owner, org: org, status: "completed", endedSecondsAgo: 400 * day, events: 3)
        let oldFailed = try await insertJob(owner, org: org, status: "failed", endedSecondsAgo: 401 * day, events: 1)
        let oldCancelled = try await insertJob(owner, org: org, status: "cancelled", endedSecondsAgo: 402 * day)
        let oldPartial = try await insertJob(
            owner, org: org, status: "partial_success", endedSecondsAgo: 403 * day, events: 2)
        let recent = try await insertJob(owner, org: org, status: "completed", endedSecondsAgo: day, events: 1)
        let oldRunning = try await insertJob(
            owner, org: org, status: "in_progress", updatedSecondsAgo: 400 * day, events: 1)
        let oldPending = try await insertJob(owner, org: org, status: "pending", updatedSecondsAgo: 400 * day)
        let old = [oldCompleted, oldFailed, oldCancelled, oldPartial]

        func remaining() async throws -> (jobs: Set<String>, events: [String: Int]) {
            try await Database(client: owner).transaction(organization: org) { tx in
                let jobs = try await tx.query("SELECT job_id FROM jobs WHERE organization_id = \(org)")
                    .map { try $0.decode("job_id", as: String.self) }
                var events: [String: Int] = [:]
                for row in try await tx.query(
                    "SELECT job_id, count(*) AS n FROM job_events WHERE organization_id = \(org) GROUP BY job_id")
                {
                    events[try row.decode("job_id", as: String.self)] = try row.decode("n", as: Int.self)
                }
                return (jobs: Set(jobs), events: events)
            }
        }

        // Dry run: counts (at least) ours, deletes nothing.
        let dry = try await owner.query("SELECT * FROM prune_jobs('365 days'::interval, NULL, 1000, true)").first!
        #expect(try dry.decode("jobs_deleted", as: Int.self) >= 4)
        #expect(try dry.decode("events_deleted", as: Int.self) >= 6)
        #expect(try await remaining().jobs.count == 7)

        // Only terminal statuses may be named.
        let refused = await #expect(throws: PGError.self) {
            try await owner.query("SELECT * FROM prune_jobs('365 days'::interval, ARRAY['completed', 'in_progress'])")
        }
        #expect(Self.sqlState(refused) == "22023")

        // A status filter: only the cancelled one goes.
        _ = try await owner.query("SELECT * FROM prune_jobs('365 days'::interval, ARRAY['cancelled'], 1000, false)")
        let afterFilter = try await remaining().jobs
        #expect(!afterFilter.contains(oldCancelled))
        #expect(afterFilter.isSuperset(of: [oldCompleted, oldFailed, oldPartial]))

        // Batches of 2, looped until a short batch, as `jobs-api prune` does.
        var batches: [Int] = []
        var events = 0
        while true {
            let row = try await owner.query("SELECT * FROM prune_jobs('365 days'::interval, NULL, 2, false)").first!
            let jobs = try row.decode("jobs_deleted", as: Int.self)
            batches.append(jobs)
            events += try row.decode("events_deleted", as: Int.self)
            if jobs < 2 { break }
            if batches.count > 1000 {
                Issue.record("prune_jobs kept returning full batches")
                break
            }
        }
        #expect(batches.allSatisfy { $0 <= 2 })
        #expect(batches.count >= 2, "3 matching jobs need two calls with a batch size of 2: \(batches)")
        #expect(events >= 6)

        let (jobs, eventCounts) = try await remaining()
        #expect(jobs == [recent, oldRunning, oldPending], "only old terminal jobs are deleted")
        for job in old { #expect(eventCounts[job] == nil, "events of \(job) went with it") }
        #expect(eventCounts[recent] == 1)
        #expect(eventCounts[oldRunning] == 1)
    }

    /// The owner role is a member of jobs_api_maintenance (0006). The maintenance policies must not
    /// let its members see or delete other organizations' terminal jobs outside prune_jobs.
    @Test func maintenancePoliciesDoNotExtendToItsMembers() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let org = try await organization("dba_member", owner)
        let job = try await insertJob(owner, org: org, status: "completed", endedSecondsAgo: 60, events: 1)
        // Generated from hex digits only: safe as an identifier.
        let role = "dba_member_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        // Safety: the role name is generated above from hex digits.
        await #expect(throws: RollBack.self) {
            try await owner.withTransaction { tx in
                try await tx.query("CREATE ROLE \(unsafeRaw: role) NOLOGIN NOSUPERUSER NOBYPASSRLS")
                try await tx.query("GRANT jobs_api_maintenance TO \(unsafeRaw: role)")
                try await tx.query("SET LOCAL ROLE \(unsafeRaw: role)")
                let jobs = try await tx.query("SELECT count(*) AS n FROM jobs WHERE organization_id = \(org)")
                    .first!.decode("n", as: Int.self)
                let events = try await tx.query("SELECT count(*) AS n FROM job_events WHERE organization_id = \(org)")
                    .first!.decode("n", as: Int.self)
                let deleted = try await tx.query("DELETE FROM jobs WHERE organization_id = \(org) AND job_id = \(job)")
                    .affectedRows
                #expect(jobs == 0)
                #expect(events == 0)
                #expect(deleted == 0)
                try await tx.query("RESET ROLE")
                throw RollBack()
            }
        }
    }

    /// The repair functions are the owner's. prune_jobs is also granted to the runtime role
    /// (migration 0009: the server's PRUNE_AFTER schedule runs as jobs_api_server), and deletes
    /// terminal jobs only (see the maintenance-role test above).
    @Test func onlyTheOwnerMayRepairAndTheServerMayPrune() async throws {
        let app = try await TestDatabase.appClient(maxConnections: 1)
        defer { Task { await app.shutdown() } }
        let counted = try await app.query("SELECT * FROM prune_jobs('365 days'::interval, NULL, 1, true)")
        #expect(counted.count == 1)
        let statements: [PGQuery] = [
            "SELECT status FROM dba_cancel_job('x', 'y')",
            "SELECT dba_revoke_api_key('x', 'y') AS r",
            "SELECT count(*) AS n FROM dba_stuck_jobs",
        ]
        for statement in statements {
            let error = await #expect(throws: PGError.self, "\(statement.sql)") { try await app.query(statement) }
            #expect(error?.sqlState == .insufficientPrivilege, "\(statement.sql)")
        }
    }

    // MARK: - (e) analyst roles

    @Test func analystReadsOnlyTheOrganizationItSets() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let a = try await organization("dba_an_a", owner)
        let b = try await organization("dba_an_b", owner)
        let admin = AdminService(database: Database(client: owner))
        for org in [a, b] {
            _ = try await admin.createAPIKey(organization: org, name: "k", role: .editor)
            try await insertJob(owner, org: org, status: "in_progress", updatedSecondsAgo: 10, events: 1)
            try await insertJob(owner, org: org, status: "completed", endedSecondsAgo: 10)
        }

        /// Runs `body` as `role` (SET LOCAL ROLE) with `organization` set, in a transaction.
        // Safety: role names are generated by the tests (letters, digits, underscore).
        func asRole<T>(_ role: String, _ organization: String?, _ body: (PGLease) async throws -> T) async throws -> T {
            try await owner.withTransaction { tx in
                try await tx.query("SET LOCAL ROLE \(unsafeRaw: role)")
                if let organization {
                    try await tx.query("SELECT set_config('app.organization_id', \(organization), true)")
                }
                return try await body(tx)
            }
        }
        // Safety: the relation name is one of this test's constants.
        func orgs(_ tx: PGLease, _ relation: String) async throws -> [String] {
            try await tx.query(
                "SELECT DISTINCT organization_id FROM \(unsafeRaw: relation) WHERE organization_id IN (\(a), \(b)) ORDER BY 1"
            ).map { try $0.decode("organization_id", as: String.self) }
        }
        let relations = [
            "jobs", "job_events", "organizations", "dba_running_job_progress", "dba_largest_jobs", "dba_running_jobs",
        ]

        // Organization A set: A only, in tables and (security_invoker) views alike.
        try await asRole("jobs_api_analyst", a) { tx in
            for relation in relations {
                let visible = try await orgs(tx, relation)
                #expect(visible == [a], "\(relation)")
            }
            let keys = try await tx.query(
                "SELECT key_id, token_prefix FROM api_keys WHERE organization_id IN (\(a), \(b))")
            #expect(keys.count == 1)
        }
        // Nothing set: nothing visible.
        try await asRole("jobs_api_analyst", nil) { tx in
            for relation in relations {
                let visible = try await orgs(tx, relation)
                #expect(visible == [], "\(relation)")
            }
        }
        // Read-only, and no secrets.
        let forbidden: [PGQuery] = [
            "UPDATE jobs SET total_items = total_items WHERE organization_id = \(a)",
            "DELETE FROM job_events WHERE organization_id = \(a)",
            "INSERT INTO organizations (organization_id) VALUES ('dba_analyst_nope')",
            "SELECT token_hash FROM api_keys WHERE organization_id = \(a)",
            "SELECT * FROM api_keys WHERE organization_id = \(a)",
            "SELECT count(*) AS n FROM sessions",
            "SELECT count(*) AS n FROM users",
            "SELECT * FROM prune_jobs('365 days'::interval, NULL, 1, true)",
            "SELECT status FROM dba_cancel_job(\(a), 'x')",
        ]
        for statement in forbidden {
            let error = await #expect(throws: PGError.self, "\(statement.sql)") {
                try await asRole("jobs_api_analyst", a) { tx in try await tx.query(statement) }
            }
            #expect(error?.sqlState == .insufficientPrivilege, "\(statement.sql)")
        }

        // jobs_api_analyst_all_orgs: every organization, with or without a setting; still read-only.
        try await asRole("jobs_api_analyst_all_orgs", nil) { tx in
            for relation in relations {
                let visible = try await orgs(tx, relation)
                #expect(visible == [a, b].sorted(), "\(relation)")
            }
            let keys = try await tx.query("SELECT key_id FROM api_keys WHERE organization_id IN (\(a), \(b))")
            #expect(keys.count == 2)
        }
        let allOrgsForbidden: [PGQuery] = [
            "UPDATE jobs SET total_items = total_items WHERE organization_id = \(b)",
            "SELECT token_hash FROM api_keys WHERE organization_id = \(b)",
        ]
        for statement in allOrgsForbidden {
            let error = await #expect(throws: PGError.self, "\(statement.sql)") {
                try await asRole("jobs_api_analyst_all_orgs", a) { tx in try await tx.query(statement) }
            }
            #expect(error?.sqlState == .insufficientPrivilege, "\(statement.sql)")
        }
    }
}
