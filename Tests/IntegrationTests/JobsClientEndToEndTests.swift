import Foundation
import JobsClient
import Testing

/// The worker client against the real server (real HTTP, real database).
@Suite("JobsClient against the real server")
struct JobsClientEndToEndTests {
    @Test func aWorkersLifeAndCancellation() async throws {
        try await withAPI { (http, t) async throws in
            let port = try #require(http.port)
            let client = JobsClient(baseURL: "http://127.0.0.1:\(port)/", token: t.keyA[.editor]!)
            let job = try await client.createJob(
                type: "csv-import", totalItems: 3, metadata: ["file": .string("a.csv")])
            #expect(job.status.rawValue == "pending")
            _ = try await client.start(job.jobID)
            _ = try await client.report(
                job.jobID, Progress(processedItemsDelta: 2, stage: "importing", message: "batch 1/1"))
            let withError = try await client.report(
                job.jobID,
                Progress(
                    error: ItemIssue(
                        entityKey: "row-3", errorType: "validation", message: "price missing", entityType: "row")))
            #expect(withError.failedItems == 1)
            let done = try await client.complete(job.jobID)
            #expect(done.status.rawValue == "partial_success")
            #expect(done.processedItems == 2)
            #expect(done.errors.first?.entityKey == "row-3")
            let status = try await client.status(job.jobID)
            #expect(status.status.rawValue == "partial_success")

            // A worker learns of a cancellation from the 409 on its next report.
            let second = try await client.createJob(type: "csv-import", totalItems: 10)
            _ = try await client.cancel(second.jobID, reason: "operator")
            await #expect {
                _ = try await client.report(second.jobID, Progress(processedItemsDelta: 1))
            } throws: { error in
                guard case JobsClientError.cancelled(let id, _) = error else { return false }
                return id == second.jobID
            }
            // Other client mistakes are not retried and say why.
            await #expect {
                _ = try await client.job("job_does_not_exist")
            } throws: { error in
                guard case JobsClientError.http(let status, _) = error else { return false }
                return status == 404
            }
        }
    }

    @Test func retriesReuseTheIdempotencyKey() async throws {
        try await withAPI { (http, t) async throws in
            let port = try #require(http.port)
            let client = JobsClient(baseURL: "http://127.0.0.1:\(port)", token: t.keyA[.editor]!)
            let job = try await client.createJob(type: "x", totalItems: 10)
            let key = JobsClient.makeIdempotencyKey()
            // The same logical call sent twice (as a retry after a lost response would be): applied once.
            _ = try await client.report(job.jobID, Progress(processedItemsDelta: 4), idempotencyKey: key)
            let again = try await client.report(job.jobID, Progress(processedItemsDelta: 4), idempotencyKey: key)
            #expect(again.processedItems == 4)
            #expect(try await client.job(job.jobID).processedItems == 4)
        }
    }
}
