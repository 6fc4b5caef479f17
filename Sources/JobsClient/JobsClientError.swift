/// What a ``JobsClient`` call throws for an error response, or for a server that stays
/// unreachable through every attempt. A call may also throw `CancellationError`, an
/// `EncodingError` for a body that cannot be encoded, and the transport error itself when it is
/// not worth retrying (e.g. `HTTPClientError.invalidURL`, `NIOTooManyBytesError`).
public enum JobsClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `409`: the job was cancelled or has otherwise ended and accepts no more progress.
    /// The worker must stop working on it.
    case cancelled(jobID: String, detail: String)
    /// Any other non-retried error response (`400`, `401`, `403`, `404`, `413`, `415`, `422`,
    /// `500`, …) with the server's `detail` (for a `422`, every `loc: msg` issue joined by `; `).
    case http(status: Int, detail: String)
    /// The server stayed unreachable or overloaded through every attempt of the retry policy
    /// (or the request could not be sent at all); says what the last attempt saw.
    case unavailable(String)
    /// A success response whose body is not the expected JSON.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .cancelled(let jobID, let detail): "job \(jobID) has ended: \(detail)"
        case .http(let status, let detail): "HTTP \(status): \(detail)"
        case .unavailable(let reason): "jobs API unavailable: \(reason)"
        case .invalidResponse(let reason): "unexpected response from the jobs API: \(reason)"
        }
    }
}
