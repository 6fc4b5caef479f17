import ArgumentParser
import Foundation
import JobsDomain
import JobsHTTP
import JobsStore
import LibPQ

struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete terminal jobs (and their errors and warnings) that ended longer ago than a retention.",
        discussion: """
            Works in batches of --batch-size jobs, one short transaction each, so it is safe while the \
            server runs. Runs as the login (owner) role through the SQL function prune_jobs.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(
        name: .customLong("older-than"), help: "Retention, e.g. 90d, 12h, 30m (jobs that ended before now minus this).")
    var olderThan: String

    @Option(help: "Only these terminal statuses, comma-separated (default: all terminal statuses).")
    var status: String?

    @Option(name: .customLong("batch-size"), help: "Jobs deleted per transaction.")
    var batchSize: Int = 1000

    @Flag(name: .customLong("dry-run"), help: "Only count what would be deleted.")
    var dryRun = false

    func run() async throws {
        try await runReporting {
            guard let retention = DurationParser.parse(olderThan) else {
                throw ConfigurationError(message: "--older-than must look like 90d, 12h, 30m or 3600s")
            }
            let statuses = try Self.statuses(status)
            guard (1...100_000).contains(batchSize) else {
                throw ConfigurationError(message: "--batch-size must be in 1...100000")
            }
            try await withAdminClient(database) { _, client, logger in
                let pruner = JobPruner(client: client, logger: logger)
                let result = try await pruner.prune(
                    olderThan: retention, statuses: statuses, batchSize: batchSize, dryRun: dryRun)
                let verb = dryRun ? "would delete" : "deleted"
                print("\(verb) \(result.jobs) jobs and \(result.events) events")
            }
        }
    }

    static func statuses(_ text: String?) throws -> [JobStatus]? {
        guard let text else { return nil }
        var out: [JobStatus] = []
        for part in text.split(separator: ",") {
            guard let status = JobStatus(rawValue: part.trimmingCharacters(in: .whitespaces)), status.isTerminal else {
                throw ConfigurationError(
                    message:
                        "--status takes terminal statuses: completed, completed_with_warnings, partial_success, failed, cancelled"
                )
            }
            out.append(status)
        }
        return out
    }
}
