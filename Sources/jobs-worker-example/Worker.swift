import ArgumentParser
import Foundation
import JobsClient

/// An example worker: imports a CSV of products and reports its progress to the Jobs API.
@main
struct JobsWorkerExample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs-worker-example",
        abstract: "Imports a CSV of products, reporting progress to the Jobs API.",
        discussion: """
            Creates a "csv-import" job with one item per data row, marks it started (stage \
            "importing"), then checks the rows batch by batch: a row is valid when its `sku` is \
            not empty and its `price` is a non-negative decimal. Each invalid row is reported as \
            an error (entity_key = the sku, or row-N where N counts data rows from 1); the valid \
            rows of a batch are reported together with the message "batch k/n". Finally the job \
            is completed and its status printed on stdout.

            Exit codes: 0 done, 3 the job was cancelled (or ended) while the worker ran, \
            1 any other failure, 64 bad usage or input.
            """
    )

    @Option(name: .customLong("base-url"), help: "The Jobs API's root URL.")
    var baseURL = "http://127.0.0.1:8080"

    @Option(help: "API key or session token (default: env JOBS_API_TOKEN).")
    var token: String?

    @Option(name: .customLong("organization-id"), help: "Sent as X-Organization-ID when given.")
    var organizationID: String?

    @Option(name: .customLong("batch-size"), help: "Rows per progress report.")
    var batchSize = 50

    @Argument(help: "The CSV file, with a header row that has `sku` and `price` columns.")
    var file: String

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard resolvedToken != nil else {
            throw ValidationError("give --token or set JOBS_API_TOKEN")
        }
    }

    var resolvedToken: String? {
        if let token, !token.isEmpty { return token }
        if let token = ProcessInfo.processInfo.environment["JOBS_API_TOKEN"], !token.isEmpty { return token }
        return nil
    }

    func run() async throws {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw usageError("cannot read \(file): \(error.localizedDescription)")
        }
        let table: CSVTable
        do {
            table = try CSVTable(parsing: text)
        } catch {
            throw usageError("\(file): \(error)")
        }
        guard let skuColumn = table.columnIndex("sku"), let priceColumn = table.columnIndex("price") else {
            throw usageError("\(file) needs a header row with `sku` and `price` columns")
        }

        let client = JobsClient(baseURL: baseURL, token: resolvedToken ?? "", organizationID: organizationID)
        let rows = table.rows
        let job = try await client.createJob(
            type: "csv-import", totalItems: rows.count,
            metadata: ["file": .string(URL(fileURLWithPath: file).lastPathComponent)])
        log("created job \(job.jobID) for \(rows.count) rows")

        do {
            _ = try await client.report(job.jobID, Progress(stage: "importing", markStarted: true))
            let batchCount = (rows.count + batchSize - 1) / batchSize
            for (batchIndex, start) in stride(from: 0, to: rows.count, by: batchSize).enumerated() {
                var valid = 0
                for rowIndex in start..<min(start + batchSize, rows.count) {
                    let rowNumber = rowIndex + 1
                    let row = rows[rowIndex]
                    let sku = CSVTable.field(row, skuColumn).trimmingCharacters(in: .whitespaces)
                    if let problem = Self.problem(sku: sku, price: CSVTable.field(row, priceColumn)) {
                        let issue = ItemIssue(
                            entityKey: sku.isEmpty ? "row-\(rowNumber)" : sku, errorType: "validation",
                            message: problem, details: ["row": .number(Double(rowNumber))], entityType: "row")
                        _ = try await client.report(job.jobID, Progress(error: issue))
                    } else {
                        valid += 1
                    }
                }
                _ = try await client.report(
                    job.jobID, Progress(processedItemsDelta: valid, message: "batch \(batchIndex + 1)/\(batchCount)"))
            }
            let done = try await client.complete(job.jobID)
            print(Self.statusLine(done))
        } catch JobsClientError.cancelled(let jobID, let detail) {
            log("stopping: job \(jobID) was cancelled or has ended (\(detail))")
            if let current = try? await client.job(jobID) { print(Self.statusLine(current)) }
            throw ExitCode(3)
        } catch is CancellationError {
            throw ExitCode.failure
        } catch {
            // Leave no job behind "in progress" for ever: best effort, the server may be down.
            log("failing job \(job.jobID): \(error)")
            if let failed = try? await client.fail(job.jobID, message: "worker error: \(error)") {
                print(Self.statusLine(failed))
            }
            throw error
        }
    }

    /// Why a row is invalid, or nil when it is valid.
    static func problem(sku: String, price: String) -> String? {
        if sku.isEmpty { return "sku is missing" }
        let price = price.trimmingCharacters(in: .whitespaces)
        if price.isEmpty { return "price is missing" }
        if price.hasPrefix("-"), isDecimal(price.dropFirst()) { return "price \(price) is negative" }
        if !isDecimal(Substring(price)) { return "price \"\(price)\" is not a decimal number" }
        return nil
    }

    /// Digits with at most one decimal point and at least one digit: `12`, `12.50`, `.5`, `3.`.
    static func isDecimal(_ text: Substring) -> Bool {
        var digits = 0
        var points = 0
        for character in text {
            if character == "." {
                points += 1
            } else if character.isASCII, character.isNumber {
                digits += 1
            } else {
                return false
            }
        }
        return digits > 0 && points <= 1
    }

    static func statusLine(_ job: Job) -> String {
        "job \(job.jobID): status=\(job.status) processed=\(job.processedItems) failed=\(job.failedItems) "
            + "success_rate=\(String(format: "%.2f", job.successRate))"
    }

    func usageError(_ message: String) -> ExitCode {
        log(message)
        return ExitCode(64)
    }

    func log(_ message: String) {
        FileHandle.standardError.write(Data("jobs-worker-example: \(message)\n".utf8))
    }
}
