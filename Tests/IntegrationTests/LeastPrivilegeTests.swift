import AsyncHTTPClient
import Foundation
import JobsHTTP
import LibPQ
import NIOCore
import Testing

@testable import JobsStore

/// Item 6 of the hardening issue: `serve` logs in as `jobs_api_server`, which can do only what
/// the app does; the owner's credentials stay with `migrate` and the admin commands.
@Suite("Least privilege for the server")
struct LeastPrivilegeTests {
    @Test func theRuntimeRoleHasOnlyWhatTheAppUses() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        for table in ["api_keys", "memberships", "organizations"] {
            for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
                let has = try await owner.query(
                    "SELECT has_table_privilege('jobs_api_app', \(table), \(privilege)) AS has"
                ).first!.decode("has", as: Bool.self)
                #expect(!has, "jobs_api_app has \(privilege) on \(table)")
            }
        }
        let role = try #require(
            try await owner.query(
                """
                SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb,
                       ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
                             WHERE m.member = r.oid ORDER BY 1)::text AS member_of
                FROM pg_roles r WHERE rolname = 'jobs_api_server'
                """
            ).first)
        #expect(try role.decode("rolcanlogin", as: Bool.self))
        for power in ["rolsuper", "rolbypassrls", "rolcreaterole", "rolcreatedb"] {
            #expect(try !role.decode(power, as: Bool.self), "\(power)")
        }
        #expect(try role.decode("member_of", as: String.self) == "{jobs_api_app}")
    }

    /// Logged in as jobs_api_server, RESET ROLE gains nothing: credentials stay unreadable and
    /// no other role can be assumed.
    @Test func theLoginRoleCannotEscape() async throws {
        try await TestDatabase.migrated()
        let server = PGClient(
            configuration: PGConfiguration(connectionString: "user=jobs_api_server", maxConnections: 1))
        defer { Task { await server.shutdown() } }
        try await server.withConnection { lease in
            _ = try await lease.query("RESET ROLE")
            for statement: PGQuery in [
                "SELECT count(*) AS n FROM api_keys", "SELECT count(*) AS n FROM sessions",
                "SELECT set_config('role', 'postgres', false)", "UPDATE memberships SET role = 'owner'",
                "SELECT set_config('role', 'jobs_api_auth', false)",
            ] {
                await #expect(throws: PGError.self, "\(statement.sql)") { try await lease.query(statement) }
            }
        }
    }

    /// The real binary: `serve` with only APP_DATABASE_URL works, its sessions belong to
    /// jobs_api_server, and it does not warn; with the owner's login it warns.
    @Test func serveRunsAsTheServerLoginRole() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await owner.shutdown() } }
        let admin = AdminService(database: Database(client: owner))
        let org = TestDatabase.uniqueID("org_lp")
        try await admin.createOrganization(org, name: nil)
        let token = try await admin.createAPIKey(organization: org, name: "lp", role: .editor)

        let appName = TestDatabase.uniqueID("jobs_api_lp")
        let (status, log) = try await ServeProcess.run(environment: [
            "APP_DATABASE_URL": "user=jobs_api_server application_name=\(appName)", "DATABASE_URL": "",
        ]) { base, http in
            var request = HTTPClientRequest(url: "\(base)/api/jobs/")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"job_type": "x", "total_items": 1}"#))
            #expect(try await http.execute(request, timeout: .seconds(10)).status == .created)
            let users = try await owner.query(
                "SELECT DISTINCT usename::text AS u FROM pg_stat_activity WHERE application_name = \(appName)"
            ).map { try $0.decode("u", as: String.self) }
            #expect(users == ["jobs_api_server"])
        }
        #expect(status == 0)
        #expect(!log.contains("more rights than the app needs"), "\(log.suffix(2000))")

        let (_, ownerLog) = try await ServeProcess.run(environment: [:]) { _, _ in }
        #expect(ownerLog.contains("more rights than the app needs"))
    }

    /// Item 5: the start-up log shows DATABASE_URL rebuilt from its structure, never a password,
    /// however it is encoded or quoted.
    @Test func startupLogMasksEncodedPasswords() async throws {
        for url in [
            "postgres://u:p%40ss-w0rd@127.0.0.1:1/db",
            "host=127.0.0.1 port=1 password='q uoted\\'pass' sslpassword=ssl-pass-xyz",
        ] {
            let result = try await runJobsAPI(
                ["serve", "--port", "0"], environment: ["DATABASE_URL": url, "LOG_FORMAT": "json"])
            let output = result.stdout + result.stderr
            #expect(output.contains("DATABASE_URL"), "the setting is logged: \(output.prefix(500))")
            for secret in ["p%40ss-w0rd", "p@ss-w0rd", "ss-w0rd", "uoted", "ssl-pass-xyz"] {
                #expect(!output.contains(secret), "\(secret) leaked: \(output.prefix(800))")
            }
        }
    }
}

/// Starts `jobs-api serve` on a random port with extra environment (JSON logs), runs `body`
/// once it is ready, then stops it with SIGTERM; returns its exit status (-1 if it did not exit
/// within 10 s) and its log.
enum ServeProcess {
    static func run(
        environment extra: [String: String], _ body: (String, HTTPClient) async throws -> Void
    ) async throws -> (Int32, String) {
        let port = Int.random(in: 30_000...39_999)
        let logURL = FileManager.default.temporaryDirectory.appendingPathComponent(
            TestDatabase.uniqueID("serve") + ".log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: logURL) }
        let log = try FileHandle(forWritingTo: logURL)
        let process = Process()
        process.executableURL = TestDatabase.binary
        process.arguments = ["serve"]
        var environment = ProcessInfo.processInfo.environment
        environment["PORT"] = String(port)
        environment["HOST"] = "127.0.0.1"
        environment["LOG_FORMAT"] = "json"
        environment["MIGRATIONS_DIR"] = TestDatabase.migrationsDirectory
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        let base = "http://127.0.0.1:\(port)"
        var ready = false
        for _ in 0..<150 where !ready && process.isRunning {
            if let response = try? await http.execute(HTTPClientRequest(url: "\(base)/readyz"), timeout: .seconds(2)),
                response.status == .ok
            {
                ready = true
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(ready, "the server became ready")
        if ready { try await body(base, http) }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try log.close()
        return (process.isRunning ? -1 : process.terminationStatus, try String(contentsOf: logURL, encoding: .utf8))
    }
}
