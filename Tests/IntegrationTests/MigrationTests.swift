import Foundation
import LibPQ
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test func concurrentMigratorsApplyEachFileOnce() async throws {
        try await TestDatabase.withScratchDatabase { name in
            let a = try TestDatabase.ownerClient(maxConnections: 1, database: name)
            let b = try TestDatabase.ownerClient(maxConnections: 1, database: name)
            let dir = TestDatabase.migrationsDirectory
            async let first = PGMigrator(client: a, directory: dir).migrate()
            async let second = PGMigrator(client: b, directory: dir).migrate()
            let (x, y) = try await (first, second)
            let files = try PGMigrator(client: a, directory: dir).files()
            #expect(x.count + y.count == files.count, "each file applied by exactly one of the two runs")
            let rows = try await a.query("SELECT version, count(*) AS n FROM schema_migrations GROUP BY version")
            #expect(rows.count == files.count)
            for row in rows { #expect(try row.decode("n", as: Int.self) == 1) }
            #expect(try await PGMigrator(client: a, directory: dir).status().isCurrent)
            await a.shutdown()
            await b.shutdown()
        }
    }

    @Test func twoMigrateProcessesAtTheSameMomentBothSucceed() async throws {
        try await TestDatabase.withScratchDatabase { name in
            let env = ["PGDATABASE": name, "DATABASE_URL": "", "MIGRATIONS_DIR": TestDatabase.migrationsDirectory]
            async let one = Task.detached { try await runJobsAPI(["migrate"], environment: env) }.value
            async let two = Task.detached { try await runJobsAPI(["migrate"], environment: env) }.value
            let (r1, r2) = try await (one, two)
            #expect(r1.status == 0, "\(r1.stderr)")
            #expect(r2.status == 0, "\(r2.stderr)")
            let client = try TestDatabase.ownerClient(maxConnections: 1, database: name)
            let counts = try await client.query(
                "SELECT count(*) AS n, count(DISTINCT version) AS d FROM schema_migrations"
            ).first!
            let files = try PGMigrator(client: client, directory: TestDatabase.migrationsDirectory).files()
            #expect(try counts.decode("n", as: Int.self) == files.count)
            #expect(try counts.decode("d", as: Int.self) == files.count)
            await client.shutdown()
        }
    }

    @Test func editedAppliedMigrationIsRefused() async throws {
        try await TestDatabase.withScratchDatabase { name in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(TestDatabase.uniqueID("mig"))
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("0001_first.sql")
            try "-- first\nCREATE TABLE first_table (id int);".write(to: file, atomically: true, encoding: .utf8)
            let client = try TestDatabase.ownerClient(maxConnections: 1, database: name)
            let migrator = PGMigrator(client: client, directory: dir.path)
            #expect(try await migrator.migrate().map(\.version) == [1])
            try "-- second\nCREATE TABLE second_table (id int);".write(
                to: dir.appendingPathComponent("0002_second.sql"), atomically: true, encoding: .utf8)
            #expect(try await migrator.status().pending.map(\.version) == [2])
            #expect(try await migrator.migrate().map(\.version) == [2])
            try "-- first, edited\nCREATE TABLE first_table (id bigint);".write(
                to: file, atomically: true, encoding: .utf8)
            let error = await #expect(throws: PGError.self) { try await migrator.migrate() }
            #expect(error?.code == .migration)
            #expect(error?.message.contains("0001_first.sql was edited") == true)
            await client.shutdown()
        }
    }

    @Test func failingMigrationRollsBackAndIsNotRecorded() async throws {
        try await TestDatabase.withScratchDatabase { name in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(TestDatabase.uniqueID("mig"))
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            try "-- ok\nCREATE TABLE ok_table (id int);".write(
                to: dir.appendingPathComponent("0001_ok.sql"), atomically: true, encoding: .utf8)
            try "-- broken\nCREATE TABLE half_table (id int);\nSELECT no_such_function();".write(
                to: dir.appendingPathComponent("0002_broken.sql"), atomically: true, encoding: .utf8)
            let client = try TestDatabase.ownerClient(maxConnections: 1, database: name)
            await #expect(throws: PGError.self) { try await PGMigrator(client: client, directory: dir.path).migrate() }
            let state = try await client.query(
                """
                SELECT (SELECT count(*) FROM schema_migrations) AS applied,
                       to_regclass('half_table') IS NULL AS rolled_back
                """
            ).first!
            #expect(try state.decode("applied", as: Int.self) == 1)
            #expect(try state.decode("rolled_back", as: Bool.self))
            await client.shutdown()
        }
    }

    @Test func serveRefusesToStartWhileMigrationsArePending() async throws {
        try await TestDatabase.withScratchDatabase { name in
            let result = try await runJobsAPI(
                ["serve", "--port", "0"],
                environment: [
                    "PGDATABASE": name, "DATABASE_URL": "", "MIGRATIONS_DIR": TestDatabase.migrationsDirectory,
                ])
            #expect(result.status != 0)
            #expect(result.stderr.contains("pending"))
            #expect(result.stderr.contains("jobs-api migrate"))
        }
    }

    @Test func everyTableAndColumnHasAComment() async throws {
        try await TestDatabase.migrated()
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        let missing = try await client.query(
            """
            SELECT c.relname || coalesce('.' || a.attname, '') AS name
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE c.relkind IN ('r', 'v')
              AND c.relname NOT IN ('injection_probe', 'err_probe', 'tx_probe')
              AND (CASE WHEN a.attname IS NULL THEN obj_description(c.oid, 'pg_class')
                        ELSE col_description(c.oid, a.attnum) END) IS NULL
            """
        ).map { try $0.decode("name", as: String.self) }
        #expect(missing == [])
    }

    @Test func tenantTablesForceRowLevelSecurityWithOrganizationFirst() async throws {
        try await TestDatabase.migrated()
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        let rows = try await client.query(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = c.oid AND i.indisprimary) AS first_key
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE c.relkind = 'r' AND EXISTS (
                SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id')
            """)
        let tables = try rows.map { try $0.decode("relname", as: String.self) }
        for table in ["jobs", "job_events", "api_keys", "memberships", "idempotency_keys"] {
            #expect(tables.contains(table), "\(table) is a tenant table")
        }
        for row in rows {
            let name = try row.decode("relname", as: String.self)
            #expect(try row.decode("relrowsecurity", as: Bool.self), "\(name) enables RLS")
            #expect(try row.decode("relforcerowsecurity", as: Bool.self), "\(name) forces RLS")
            #expect(try row.decode("first_key", as: String.self) == "organization_id", "\(name) key starts with org")
        }
    }
}
