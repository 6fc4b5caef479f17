import AsyncHTTPClient
import Foundation
import Testing

@testable import JobsClient

@Suite struct ResponseHandlingTests {
    func body(_ text: String) -> Data { Data(text.utf8) }

    @Test func conflictOnAJobMeansItWasCancelledOrEnded() {
        let outcome = JobsClient.disposition(
            status: 409, retryAfter: nil,
            body: body(#"{"detail": "job job_1 is cancelled and accepts no more progress"}"#), jobID: "job_1")
        #expect(
            outcome
                == .failure(.cancelled(jobID: "job_1", detail: "job job_1 is cancelled and accepts no more progress")))
    }

    @Test func conflictWithoutAJobIsAnOrdinaryHTTPError() {
        let outcome = JobsClient.disposition(status: 409, retryAfter: nil, body: body(#"{"detail":"x"}"#), jobID: nil)
        #expect(outcome == .failure(.http(status: 409, detail: "x")))
    }

    @Test(arguments: [400, 401, 403, 404, 405, 413, 415, 422, 500])
    func otherErrorsAreNotRetried(status: Int) {
        let outcome = JobsClient.disposition(
            status: status, retryAfter: "1", body: body(#"{"detail":"nope","code":"c"}"#), jobID: "job_1")
        #expect(outcome == .failure(.http(status: status, detail: "nope")))
    }

    @Test(arguments: [408, 429, 502, 503, 504])
    func transientStatusesAreRetried(status: Int) {
        guard
            case .retry(let after, _) = JobsClient.disposition(
                status: status, retryAfter: nil, body: Data(), jobID: "j")
        else {
            Issue.record("\(status) should be retried")
            return
        }
        #expect(after == nil)
    }

    @Test func retryAfterSecondsAreHonoured() {
        let outcome = JobsClient.disposition(
            status: 503, retryAfter: " 2 ", body: body(#"{"detail":"database unavailable"}"#), jobID: nil)
        #expect(outcome == .retry(after: .seconds(2), reason: "HTTP 503: database unavailable"))
        #expect(JobsClient.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
        #expect(JobsClient.parseRetryAfter("-1") == nil)
        #expect(JobsClient.parseRetryAfter(nil) == nil)
    }

    @Test func successStatuses() {
        #expect(JobsClient.disposition(status: 200, retryAfter: nil, body: Data(), jobID: "j") == .success)
        #expect(JobsClient.disposition(status: 201, retryAfter: nil, body: Data(), jobID: nil) == .success)
    }

    @Test func validationIssuesAreJoined() {
        let detail = JobsClient.detail(
            fromBody: body(
                #"{"detail":[{"loc":["body","processed_items"],"msg":"Input should be a valid integer","type":"int_type"},"#
                    + #"{"loc":["body","error","entity_key"],"msg":"Field required","type":"missing"}]}"#),
            status: 422)
        #expect(
            detail == "body.processed_items: Input should be a valid integer; body.error.entity_key: Field required")
    }

    @Test func nonJSONBodiesFallBackToTextOrReason() {
        #expect(JobsClient.detail(fromBody: body("upstream timed out\n"), status: 504) == "upstream timed out")
        #expect(JobsClient.detail(fromBody: Data(), status: 502) == "Bad Gateway")
    }

    @Test func transportErrorClassification() {
        #expect(JobsClient.isTransient(HTTPClientError.connectTimeout))
        #expect(JobsClient.isTransient(HTTPClientError.deadlineExceeded))
        #expect(JobsClient.isTransient(HTTPClientError.remoteConnectionClosed))
        #expect(JobsClient.isTransient(POSIXError(.ECONNREFUSED)))
        #expect(!JobsClient.isTransient(HTTPClientError.invalidURL))
        #expect(!JobsClient.isTransient(HTTPClientError.alreadyShutdown))
        #expect(!JobsClient.isTransient(CancellationError()))
    }

    @Test func idempotencyKeysAreFreshAndValid() {
        let keys = (0..<1000).map { _ in JobsClient.makeIdempotencyKey() }
        #expect(Set(keys).count == keys.count)
        for key in keys {
            // Spec §5: 1–255 printable ASCII characters.
            #expect((1...255).contains(key.utf8.count))
            #expect(key.utf8.allSatisfy { (0x21...0x7E).contains($0) })
        }
    }

    @Test func jobIDsAreEscapedInPaths() {
        #expect(JobsClient.escapePathSegment("job_01JDX3Q6Z8M2K4T9V7B5N1C0RA") == "job_01JDX3Q6Z8M2K4T9V7B5N1C0RA")
        #expect(JobsClient.escapePathSegment("a/b c?é") == "a%2Fb%20c%3F%C3%A9")
    }

    @Test func baseURLLosesItsTrailingSlashes() {
        #expect(JobsClient(baseURL: "http://127.0.0.1:8080//", token: "t").baseURL == "http://127.0.0.1:8080")
    }

    @Test func errorsDescribeThemselves() {
        #expect("\(JobsClientError.cancelled(jobID: "job_1", detail: "cancelled"))".contains("job_1"))
        #expect("\(JobsClientError.http(status: 404, detail: "Job not found"))" == "HTTP 404: Job not found")
    }
}
