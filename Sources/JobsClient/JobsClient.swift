import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A client of the Jobs API for workers: create a job, report progress on it, end it.
///
/// Every call retries what may pass on a second try (see ``RetryPolicy``): `502`, `503`, `504`,
/// `408` and `429` responses (honouring `Retry-After`), connection errors and timeouts. Other
/// error responses are thrown at once as ``JobsClientError``; a `409` becomes
/// ``JobsClientError/cancelled(jobID:detail:)``: the job was cancelled (or has ended) and the
/// worker must stop.
///
/// The mutating calls (``createJob(type:totalItems:metadata:triggeredBy:idempotencyKey:)``,
/// ``report(_:_:idempotencyKey:)`` and the calls built on it, ``cancel(_:reason:idempotencyKey:)``)
/// send an `Idempotency-Key` header, generated once per call and reused on each of its
/// retries, so a retry after a lost response is applied once (spec §5).
///
/// ```swift
/// let client = JobsClient(baseURL: "http://127.0.0.1:8080", token: key)
/// let job = try await client.createJob(type: "csv-import", totalItems: 100)
/// _ = try await client.start(job.jobID)
/// _ = try await client.report(job.jobID, Progress(processedItemsDelta: 50, message: "batch 1/2"))
/// let done = try await client.complete(job.jobID)
/// ```
public struct JobsClient: Sendable {
    /// The request header that makes a mutating call safe to retry.
    public static let idempotencyKeyHeader = "Idempotency-Key"
    /// The largest response body read; a larger one is an error.
    static let maxResponseBytes = 16 << 20

    /// The API's root, e.g. `http://127.0.0.1:8080` (no trailing slash).
    public let baseURL: String
    /// Sent as `X-Organization-ID` when set.
    public let organizationID: String?
    public let retry: RetryPolicy
    public let logger: Logger
    let token: String
    let httpClient: HTTPClient

    /// - Parameters:
    ///   - baseURL: the API's root, e.g. `http://127.0.0.1:8080`; a trailing `/` is ignored.
    ///   - token: an API key (`jak_…`) or session token, sent as `Authorization: Bearer <token>`.
    ///   - organizationID: sent as `X-Organization-ID` when given (optional for an API key).
    ///   - httpClient: the connection pool to use; the process-wide shared one by default.
    ///     The caller owns it (it is not shut down by this client).
    ///   - retry: when and how often to retry.
    ///   - logger: receives a debug line per request and a warning per retry; silent by default.
    public init(
        baseURL: String,
        token: String,
        organizationID: String? = nil,
        httpClient: HTTPClient = .shared,
        retry: RetryPolicy = .default,
        logger: Logger = Logger(label: "jobs-client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.organizationID = organizationID
        self.httpClient = httpClient
        self.retry = retry
        self.logger = logger
    }

    // MARK: - Calls

    /// `POST /api/jobs/`: creates a `pending` job.
    /// - Parameters:
    ///   - type: `job_type`, 1–100 characters.
    ///   - totalItems: `total_items`, ≥ 0.
    ///   - metadata: the initial `metadata` (the server defaults it to `{}`).
    ///   - triggeredBy: `triggered_by`; omitted when nil (the server then uses the session's
    ///     user, or null for an API key).
    ///   - idempotencyKey: the `Idempotency-Key` to send; a fresh one when nil. Pass a stable
    ///     key (e.g. derived from the input file) to make a restarted worker find its job again.
    public func createJob(
        type: String,
        totalItems: Int,
        metadata: [String: JSONValue]? = nil,
        triggeredBy: String? = nil,
        idempotencyKey: String? = nil
    ) async throws -> Job {
        let body = CreateJobBody(jobType: type, totalItems: totalItems, metadata: metadata, triggeredBy: triggeredBy)
        return try await send(
            .POST, "/api/jobs/", body: try Self.encode(body), jobID: nil,
            idempotencyKey: idempotencyKey ?? Self.makeIdempotencyKey())
    }

    /// `POST /api/jobs/{id}/progress`: applies one progress report atomically and returns the job.
    /// Throws ``JobsClientError/cancelled(jobID:detail:)`` when the job has ended (`409`).
    public func report(_ jobID: String, _ progress: Progress, idempotencyKey: String? = nil) async throws -> Job {
        try await send(
            .POST, "/api/jobs/\(Self.escapePathSegment(jobID))/progress", body: try Self.encode(progress),
            jobID: jobID, idempotencyKey: idempotencyKey ?? Self.makeIdempotencyKey())
    }

    /// Marks the job started (`pending` → `in_progress`; no change when already in progress).
    public func start(_ jobID: String) async throws -> Job {
        try await report(jobID, Progress(markStarted: true))
    }

    /// Ends the job; the server derives `completed`, `completed_with_warnings`,
    /// `partial_success` or `failed` from its counts. Repeating it is harmless.
    public func complete(_ jobID: String) async throws -> Job {
        try await report(jobID, Progress(markCompleted: true))
    }

    /// Ends the job as `failed` with `message` (1–10,000 characters) as its `error_message`.
    public func fail(_ jobID: String, message: String) async throws -> Job {
        try await report(jobID, Progress(markFailed: message))
    }

    /// `POST /api/jobs/{id}/cancel`: cancels a `pending` or `in_progress` job (a cancelled one
    /// is returned unchanged). Throws ``JobsClientError/cancelled(jobID:detail:)`` (`409`) when
    /// the job had already ended otherwise.
    public func cancel(_ jobID: String, reason: String? = nil, idempotencyKey: String? = nil) async throws -> Job {
        try await send(
            .POST, "/api/jobs/\(Self.escapePathSegment(jobID))/cancel",
            body: try Self.encode(CancelBody(reason: reason)),
            jobID: jobID, idempotencyKey: idempotencyKey ?? Self.makeIdempotencyKey())
    }

    /// `GET /api/jobs/{id}`: the whole job, with its latest 100 errors and warnings.
    public func job(_ jobID: String) async throws -> Job {
        try await send(.GET, "/api/jobs/\(Self.escapePathSegment(jobID))", body: nil, jobID: jobID, idempotencyKey: nil)
    }

    /// `GET /api/jobs/{id}/status`: the cheap polling view.
    public func status(_ jobID: String) async throws -> JobStatusView {
        try await send(
            .GET, "/api/jobs/\(Self.escapePathSegment(jobID))/status", body: nil, jobID: jobID, idempotencyKey: nil)
    }

    // MARK: - Transport

    /// Sends one logical call, retrying per ``retry``, and decodes the success body.
    func send<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, body: Data?, jobID: String?, idempotencyKey: String?
    ) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "jobs-client-swift")
        if let organizationID { request.headers.add(name: "X-Organization-ID", value: organizationID) }
        if let idempotencyKey { request.headers.add(name: Self.idempotencyKeyHeader, value: idempotencyKey) }
        if body != nil { request.headers.add(name: "Content-Type", value: "application/json") }

        var logger = self.logger
        logger[metadataKey: "request"] = "\(method) \(path)"
        if let idempotencyKey { logger[metadataKey: "idempotency_key"] = "\(idempotencyKey)" }

        var attempt = 1
        while true {
            try Task.checkCancellation()
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            var outcome: Disposition
            do {
                logger.debug("sending", metadata: ["attempt": "\(attempt)"])
                let response = try await httpClient.execute(
                    request, timeout: .nanoseconds(Self.nanoseconds(retry.requestTimeout)), logger: logger)
                let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
                let data = Data(buffer.readableBytesView)
                outcome = Self.disposition(
                    status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"),
                    body: data, jobID: jobID)
                if case .success = outcome {
                    do {
                        return try JSONDecoder().decode(Response.self, from: data)
                    } catch {
                        throw JobsClientError.invalidResponse("\(method) \(path): \(error)")
                    }
                }
            } catch let error as JobsClientError {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                guard Self.isTransient(error) else { throw error }
                outcome = .retry(after: nil, reason: String(describing: error))
            }

            switch outcome {
            case .success:
                preconditionFailure("returned above")
            case .failure(let error):
                throw error
            case .retry(let retryAfter, let reason):
                guard attempt < retry.maxAttempts else {
                    throw JobsClientError.unavailable(
                        "\(method) \(path) failed \(attempt) time\(attempt == 1 ? "" : "s"); last: \(reason)")
                }
                let wait = retry.delay(forAttempt: attempt, retryAfter: retryAfter)
                logger.warning(
                    "retrying",
                    metadata: ["attempt": "\(attempt)", "reason": "\(reason)", "wait_seconds": "\(wait.seconds)"])
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }

    /// What to do with a response.
    enum Disposition: Equatable {
        case success
        case retry(after: Duration?, reason: String)
        case failure(JobsClientError)
    }

    /// Classifies a response: `2xx` succeeds; `408`, `429`, `502`, `503`, `504` are retried
    /// (after `Retry-After` seconds when given); `409` on a job is ``JobsClientError/cancelled(jobID:detail:)``;
    /// anything else is ``JobsClientError/http(status:detail:)``.
    static func disposition(status: Int, retryAfter: String?, body: Data, jobID: String?) -> Disposition {
        switch status {
        case 200..<300:
            return .success
        case 408, 429, 502, 503, 504:
            return .retry(
                after: parseRetryAfter(retryAfter), reason: "HTTP \(status): \(detail(fromBody: body, status: status))")
        default:
            let detail = detail(fromBody: body, status: status)
            if status == 409, let jobID { return .failure(.cancelled(jobID: jobID, detail: detail)) }
            return .failure(.http(status: status, detail: detail))
        }
    }

    /// The `detail` of a FastAPI-style error body: the sentence, or a `422`'s issues as
    /// `loc: msg` joined by `; `; else the start of the body, or the status's reason phrase.
    static func detail(fromBody body: Data, status: Int) -> String {
        if let value = try? JSONDecoder().decode(JSONValue.self, from: body), let detail = value["detail"] {
            switch detail {
            case .string(let sentence):
                return sentence
            case .array(let issues) where !issues.isEmpty:
                return issues.map { issue -> String in
                    let loc = (issue["loc"]?.arrayValue ?? []).map { part in
                        part.stringValue ?? part.intValue.map(String.init) ?? "?"
                    }.joined(separator: ".")
                    let message = issue["msg"]?.stringValue ?? "invalid"
                    return loc.isEmpty ? message : "\(loc): \(message)"
                }.joined(separator: "; ")
            default:
                break
            }
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? HTTPResponseStatus(statusCode: status).reasonPhrase : text
    }

    /// `Retry-After` as delay-seconds; nil when absent or an HTTP date.
    static func parseRetryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
            return nil
        }
        return .seconds(seconds)
    }

    /// Whether a transport error may pass on a retry: timeouts and connection failures yes;
    /// a bad URL, a shut-down client, an over-long body or a cancellation no.
    static func isTransient(_ error: any Error) -> Bool {
        if error is CancellationError || error is NIOTooManyBytesError { return false }
        if let error = error as? HTTPClientError {
            let transient: [HTTPClientError] = [
                .readTimeout, .writeTimeout, .remoteConnectionClosed, .connectTimeout, .socksHandshakeTimeout,
                .httpProxyHandshakeTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout,
                .deadlineExceeded, .uncleanShutdown,
            ]
            return transient.contains(error)
        }
        return true  // NIOConnectionError, IOError (ECONNREFUSED, ECONNRESET), ChannelError, TLS errors…
    }

    /// A new `Idempotency-Key`: a random UUID (36 printable ASCII characters).
    public static func makeIdempotencyKey() -> String {
        UUID().uuidString.lowercased()
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func escapePathSegment(_ segment: String) -> String {
        var result = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }

    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product + attoseconds / 1_000_000_000
    }
}

/// The body of `POST /api/jobs/`.
struct CreateJobBody: Encodable {
    var jobType: String
    var totalItems: Int
    var metadata: [String: JSONValue]?
    var triggeredBy: String?

    enum CodingKeys: String, CodingKey {
        case jobType = "job_type"
        case totalItems = "total_items"
        case metadata
        case triggeredBy = "triggered_by"
    }
}

/// The body of `POST /api/jobs/{id}/cancel`: `{}` or `{"reason": "..."}`.
struct CancelBody: Encodable {
    var reason: String?
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
