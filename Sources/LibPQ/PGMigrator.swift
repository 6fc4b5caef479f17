import Foundation
import Logging

/// One migration file: `NNNN_name.sql`.
public struct PGMigration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
    /// SHA-256 of the file's bytes, hex (computed by the server, see `PGMigrator.migrations(on:)`).
    public var checksum: String
    /// `NNNN_name.sql`, as on disk.
    public var fileName: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name + ".sql"
    }
}

/// Applies numbered plain-SQL files in order, once each.
///
/// - Each file runs in its own transaction, recorded in `schema_migrations` with its checksum.
/// - A session advisory lock serialises concurrent runs (e.g. several deploy jobs running
///   `jobs-api migrate` at once; `serve` only reads the status): the second waits, then finds
///   nothing left to apply.
/// - An applied file whose contents changed is refused: a new file must make the change.
public struct PGMigrator: Sendable {
    public let client: PGClient
    public let directory: String
    let logger: Logger

    /// Arbitrary constant naming this project's migration lock (`pg_advisory_lock` key).
    public static let lockKey: Int64 = 0x6A6F_6273_6170_6931

    public init(client: PGClient, directory: String, logger: Logger = Logger(label: "migrate")) {
        self.client = client
        self.directory = directory
        self.logger = logger
    }

    /// What the database has applied, and what is still to apply.
    public struct Status: Sendable {
        public var applied: [Int]
        public var pending: [PGMigration]
        public var isCurrent: Bool { pending.isEmpty }
    }

    /// Reads the migration files (sorted by version).
    public func files() throws -> [(version: Int, name: String, sql: String)] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PGError(code: .migration, message: "migrations directory not found: \(directory)")
        }
        var out: [(Int, String, String)] = []
        for entry in try manager.contentsOfDirectory(atPath: directory) where entry.hasSuffix(".sql") {
            let stem = entry.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw PGError(
                    code: .migration, message: "migration file \(entry) is not named NNNN_name.sql")
            }
            let path = (directory as NSString).appendingPathComponent(entry)
            guard let data = manager.contents(atPath: path) else {
                throw PGError(code: .migration, message: "cannot read migration file \(entry)")
            }
            out.append((version, String(stem[stem.index(after: underscore)...]), String(decoding: data, as: UTF8.self)))
        }
        out.sort { $0.0 < $1.0 }
        for (a, b) in zip(out, out.dropFirst()) where a.0 == b.0 {
            throw PGError(code: .migration, message: "two migration files share version \(a.0)")
        }
        return out
    }

    private static let createTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE schema_migrations IS 'Migration files of sql/migrations applied to this database, one row each (written by jobs-api migrate).';
        COMMENT ON COLUMN schema_migrations.version IS 'The NNNN number of the file.';
        COMMENT ON COLUMN schema_migrations.name IS 'The file name after the number, without .sql.';
        COMMENT ON COLUMN schema_migrations.checksum IS 'SHA-256 (hex) of the file when applied; an applied file must never change.';
        COMMENT ON COLUMN schema_migrations.applied_at IS 'When the file was applied.';
        """

    /// Loads the files with their checksums (hashed by the server: no crypto library needed).
    private func migrations(on lease: PGLease) async throws -> [PGMigration] {
        var out: [PGMigration] = []
        for file in try files() {
            let checksum = try await lease.query(
                "SELECT encode(sha256(convert_to(\(file.sql), 'UTF8')), 'hex') AS checksum"
            ).first!.decode("checksum", as: String.self)
            out.append(PGMigration(version: file.version, name: file.name, sql: file.sql, checksum: checksum))
        }
        return out
    }

    private func applied(on lease: PGLease) async throws -> [Int: String]? {
        let exists = try await lease.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            .first!.decode("present", as: Bool.self)
        guard exists else { return nil }
        var applied: [Int: String] = [:]
        for row in try await lease.query("SELECT version, checksum FROM schema_migrations") {
            applied[try row.decode("version", as: Int.self)] = try row.decode("checksum", as: String.self)
        }
        return applied
    }

    private func compare(_ files: [PGMigration], _ applied: [Int: String]) throws -> [PGMigration] {
        for file in files {
            if let checksum = applied[file.version], checksum != file.checksum {
                throw PGError(
                    code: .migration,
                    message:
                        "migration \(file.fileName) was edited after it was applied; add a new migration instead")
            }
        }
        return files.filter { applied[$0.version] == nil }
    }

    /// Reports applied and pending migrations without changing anything (read-only).
    public func status() async throws -> Status {
        try await client.withConnection { lease in
            let files = try await migrations(on: lease)
            let applied = try await applied(on: lease) ?? [:]
            return Status(applied: applied.keys.sorted(), pending: try compare(files, applied))
        }
    }

    /// Applies every pending migration; returns the migrations it applied (empty if none).
    @discardableResult
    public func migrate() async throws -> [PGMigration] {
        try await client.withConnection { lease in
            _ = try await lease.query("SELECT pg_advisory_lock(\(Self.lockKey))")
            do {
                let done = try await migrateLocked(lease)
                _ = try await lease.query("SELECT pg_advisory_unlock(\(Self.lockKey))")
                return done
            } catch {
                _ = try? await lease.query("SELECT pg_advisory_unlock(\(Self.lockKey))")
                throw error
            }
        }
    }

    private func migrateLocked(_ lease: PGLease) async throws -> [PGMigration] {
        try await lease.script(Self.createTable)
        let files = try await migrations(on: lease)
        let pending = try compare(files, try await applied(on: lease) ?? [:])
        for migration in pending {
            logger.info(
                "applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            try await apply(migration, on: lease)
        }
        return pending
    }

    /// Runs one migration in its own transaction. Roles are cluster-global and the advisory lock
    /// is per database: when two databases of one cluster migrate at once, both may see a role
    /// missing and one `CREATE ROLE` (or `GRANT role`) fails with 23505/42710 once the other
    /// commits. The loser's transaction rolled back entirely, so it runs again and now sees the
    /// role (a few attempts; any other error is final).
    private func apply(_ migration: PGMigration, on lease: PGLease) async throws {
        var attempt = 1
        while true {
            do {
                try await lease.transaction { lease in
                    try await lease.script(migration.sql)
                    try await lease.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))"
                    )
                }
                return
            } catch let error as PGError
                where attempt < 4 && (error.sqlState == .uniqueViolation || error.sqlState == .duplicateObject)
            {
                logger.warning(
                    "migration collided with a concurrent one on a cluster-wide object; retrying",
                    metadata: ["version": "\(migration.version)", "attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }
}
