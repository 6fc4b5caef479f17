import AsyncHTTPClient
import Foundation
import JobsHTTP
import LibPQ
import Logging
import NIOCore
import Testing

@testable import JobsStore

/// The real `jobs-api serve` process: structured logs, request ids, configuration errors and
/// graceful shutdown on SIGTERM.
@Suite("jobs-api serve as a process")
struct ServerProcessTests {
    @Test func jsonRequestLogsAndCleanShutdownOnSIGTERM() async throws {
        try await TestDatabase.migrated()
        let owner = try TestDatabase.ownerClient(maxConnections: 1)
        let admin = AdminService(database: Database(client: owner))
        let org = TestDatabase.uniqueID("org_proc")
        try await admin.createOrganization(org, name: nil)
        let token = try await admin.createAPIKey(organization: org, name: "proc", role: .editor)
        await owner.shutdown()

        let (status, text) = try await ServeProcess.run(environment: ["SHUTDOWN_GRACE_SECONDS": "5"]) { base, http in
            var request = HTTPClientRequest(url: "\(base)/api/jobs/")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "X-Request-ID", value: "trace-proc-1")
            request.body = .bytes(ByteBuffer(string: #"{"job_type": "x", "total_items": 1}"#))
            let response = try await http.execute(request, timeout: .seconds(10))
            #expect(response.status == .created)
            #expect(response.headers.first(name: "X-Request-ID") == "trace-proc-1")
        }
        #expect(status == 0, "SIGTERM: exits 0 within the grace period")
        #expect(!text.contains(token), "tokens never reach the logs")
        #expect(!text.contains(String(token.dropFirst(4))))
        let lines = text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.count >= 3, "every line is JSON: \(text.prefix(500))")
        let requestLine = lines.first { $0["request_id"] as? String == "trace-proc-1" }
        #expect(requestLine?["msg"] as? String == "request")
        #expect(requestLine?["route"] as? String == "/api/jobs")
        #expect(requestLine?["method"] as? String == "POST")
        #expect((requestLine?["status"] as? NSNumber)?.intValue == 201)
        #expect(requestLine?["organization_id"] as? String == org)
        #expect(requestLine?["duration_ms"] is NSNumber)
        #expect(lines.contains { $0["msg"] as? String == "starting jobs-api" && $0["DB_POOL_SIZE"] != nil })
    }

    @Test func badSettingsExitWithCode2AndNameTheSetting() async throws {
        for (name, value) in [
            ("PORT", "eighty"), ("DB_POOL_SIZE", "0"), ("LOG_LEVEL", "chatty"), ("PRUNE_AFTER", "soon"),
        ] {
            let result = try await runJobsAPI(["serve"], environment: [name: value])
            #expect(result.status == 2, "\(name)=\(value): \(result.stderr)")
            #expect(result.stderr.contains(name))
        }
    }

    @Test func databaseURLPasswordIsMaskedInTheStartupSummary() {
        var config = AppConfiguration()
        config.databaseURL = "postgres://app:s3cret-pw@db.example:5432/jobs"
        let summary = Dictionary(uniqueKeysWithValues: config.summary)
        #expect(summary["DATABASE_URL"]?.contains("s3cret-pw") == false)
        #expect(summary["DATABASE_URL"]?.contains("db.example") == true)
    }
}

@Suite("Slow query log and --set overrides")
struct SlowQueryAndOverrideTests {
    final class Capture: @unchecked Sendable {
        // Safety: guarded by `lock`.
        let lock = NSLock()
        var lines: [String] = []
        func append(_ line: String) {
            lock.lock()
            lines.append(line)
            lock.unlock()
        }
    }

    struct CaptureHandler: LogHandler {
        let capture: Capture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.append("\(event.message) \(event.metadata ?? [:])")
        }
    }

    @Test func slowStatementsAreLoggedWithoutTheirValues() async throws {
        try TestDatabase.requireConfigured()
        let capture = Capture()
        let logger = Logger(label: "slow") { _ in CaptureHandler(capture: capture) }
        let client = PGClient(
            configuration: PGConfiguration(
                connectionString: TestDatabase.environment["DATABASE_URL"], maxConnections: 1,
                slowQueryThreshold: .milliseconds(100)),
            logger: logger)
        try await client.query("SELECT pg_sleep(0.3), \("secret-value-123")::text AS v")
        try await client.query("SELECT \("fast-value")::text AS v")
        await client.shutdown()
        let slow = capture.lines.filter { $0.hasPrefix("slow query") }
        // The fast statement may cross the threshold on a loaded machine; the sleeping one must.
        let sleeping = slow.filter { $0.contains("pg_sleep") }
        #expect(sleeping.count == 1)
        #expect(sleeping.first?.contains("duration_ms") == true)
        #expect(!capture.lines.joined().contains("secret-value-123"), "bind values never logged")
    }

    @Test func setOverridesAnySetting() async throws {
        let bad = try await runJobsAPI(["serve", "--set", "DB_POOL_SIZE=0"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("DB_POOL_SIZE"))
        let malformed = try await runJobsAPI(["migrate", "--set", "novalue"])
        #expect(malformed.status == 2)
        let format = try await runJobsAPI(["serve"], environment: ["LOG_FORMAT": "xml"])
        #expect(format.status == 2)
        #expect(format.stderr.contains("LOG_FORMAT"))
    }
}
