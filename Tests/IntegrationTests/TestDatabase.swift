import Foundation
import LibPQ
import Logging
import Testing

@testable import JobsStore

/// Access to the throwaway PostgreSQL that `scripts/test` starts.
///
/// Database tests never skip: without `PGHOST`/`DATABASE_URL` they fail with a message naming
/// the script to run.
enum TestDatabase {
    static let environment = ProcessInfo.processInfo.environment

    static func requireConfigured() throws {
        let configured =
            environment["DATABASE_URL"] != nil || environment["PGHOST"] != nil
            || environment["PGDATABASE"] != nil
        if !configured {
            Issue.record("No database configured: run the tests with scripts/test (it starts a throwaway PostgreSQL).")
            throw TestSetupError.noDatabase
        }
    }

    /// A pool connecting as the owner (the migrating role).
    static func ownerClient(maxConnections: Int = 4, database: String? = nil, acquireTimeout: Duration = .seconds(5))
        throws -> PGClient
    {
        try requireConfigured()
        var connection = environment["DATABASE_URL"]
        if let database { connection = "dbname=\(database)" }
        return PGClient(
            configuration: PGConfiguration(
                connectionString: connection, maxConnections: maxConnections, acquireTimeout: acquireTimeout))
    }

    /// A pool connecting as the server's runtime role.
    static func appClient(maxConnections: Int = 4) async throws -> PGClient {
        try await migrated()
        return PGClient(
            configuration: PGConfiguration(
                connectionString: environment["DATABASE_URL"], role: "jobs_api_app", maxConnections: maxConnections))
    }

    static var migrationsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sql/migrations").path
    }

    /// Migrates the test database once (the migrator's advisory lock makes concurrent calls safe).
    static func migrated() async throws {
        let client = try ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await PGMigrator(client: client, directory: migrationsDirectory).migrate()
        await client.shutdown()
    }

    /// Runs `body` while no other test holding the same named lock runs. For tests of global
    /// operations (prune_jobs deletes across organizations), which would otherwise delete each
    /// other's rows when run in parallel. A session advisory lock on a pool of one connection:
    /// shutting the pool down closes that connection, which releases the lock.
    static func exclusively<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        let lock = try ownerClient(maxConnections: 1, acquireTimeout: .seconds(120))
        do {
            try await lock.query("SELECT pg_advisory_lock(hashtext(\(name)))")
            let value = try await body()
            await lock.shutdown()
            return value
        } catch {
            await lock.shutdown()
            throw error
        }
    }

    /// Creates an empty database for a test and drops it afterwards.
    static func withScratchDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let name = "scratch_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = try ownerClient(maxConnections: 1)
        // Safety: identifiers cannot be bound; the name is generated above from hex digits only.
        try await admin.query("CREATE DATABASE \(unsafeRaw: name)")
        do {
            let value = try await body(name)
            try await admin.query("DROP DATABASE \(unsafeRaw: name) WITH (FORCE)")
            await admin.shutdown()
            return value
        } catch {
            _ = try? await admin.query("DROP DATABASE \(unsafeRaw: name) WITH (FORCE)")
            await admin.shutdown()
            throw error
        }
    }

    /// The built `jobs-api` executable (next to the test bundle in .build/<configuration>/).
    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("jobs-api")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/jobs-api")
    }

    static func uniqueID(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }
}

enum TestSetupError: Error { case noDatabase }

/// Runs the jobs-api binary and captures its output.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the binary on a thread of its own: waiting for a child process must never block the
/// cooperative pool, or a child that waits on a database lock held by a task of this process
/// (a migration in progress, say) would deadlock the whole test run.
func runJobsAPI(_ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil) async throws
    -> CommandResult
{
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try runJobsAPIBlocking(arguments, environment: extra, stdin: stdin) })
        }
    }
}

private func runJobsAPIBlocking(_ arguments: [String], environment extra: [String: String], stdin: String?) throws
    -> CommandResult
{
    let process = Process()
    process.executableURL = TestDatabase.binary
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}
