/// How ``JobsClient`` retries a request that failed in a way that may pass: a `502`, `503`,
/// `504`, `408` or `429` response, a connection error or a timeout.
///
/// The wait before retry *n* (n = 1 after the first failed attempt) is exponential:
/// `baseDelay × 2^(n−1)`, capped at `maxDelay`, then shortened by a random fraction of at most
/// `jitter` so that many workers do not retry in step. A `Retry-After: <seconds>` header on the
/// response replaces that wait (capped at `maxRetryAfter`).
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first one included (at least 1; 1 = never retry).
    public var maxAttempts: Int
    /// The wait before the first retry, before jitter.
    public var baseDelay: Duration
    /// The longest backoff wait, before jitter.
    public var maxDelay: Duration
    /// Fraction (0…1) of a wait that may be taken off at random. 0 = deterministic waits.
    public var jitter: Double
    /// The longest wait a `Retry-After` header can impose.
    public var maxRetryAfter: Duration
    /// Deadline of one attempt: connecting, sending and reading the whole response.
    public var requestTimeout: Duration

    /// Six attempts, 0.2 s doubling up to 5 s, 25 % jitter, 10 s per attempt: about 6 s of
    /// backoff in all before giving up. Against a refused connection each attempt lasts its
    /// whole `requestTimeout` (AsyncHTTPClient keeps reconnecting within it), so a worker rides
    /// out about a minute of server downtime.
    public static let `default` = RetryPolicy()

    /// One attempt only.
    public static let none = RetryPolicy(maxAttempts: 1)

    public init(
        maxAttempts: Int = 6,
        baseDelay: Duration = .milliseconds(200),
        maxDelay: Duration = .seconds(5),
        jitter: Double = 0.25,
        maxRetryAfter: Duration = .seconds(30),
        requestTimeout: Duration = .seconds(10)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(.zero, baseDelay)
        self.maxDelay = max(.zero, maxDelay)
        self.jitter = min(1, max(0, jitter.isNaN ? 0 : jitter))
        self.maxRetryAfter = max(.zero, maxRetryAfter)
        self.requestTimeout = requestTimeout
    }

    /// The backoff before retry `attempt` (1 = the first retry) without jitter:
    /// `min(maxDelay, baseDelay × 2^(attempt−1))`. Attempts below 1 count as 1.
    public func nominalDelay(forAttempt attempt: Int) -> Duration {
        var delay = baseDelay
        var doublings = max(attempt, 1) - 1
        while doublings > 0 && (delay < maxDelay) && (delay > .zero) {
            delay = delay * 2
            doublings -= 1
        }
        return min(delay, maxDelay)
    }

    /// The wait before retry `attempt` (1 = the first retry), with jitter: a value in
    /// `(1 − jitter) × nominal … nominal`, so never more than `maxDelay`.
    public func delay(forAttempt attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(forAttempt: attempt, using: &generator)
    }

    /// ``delay(forAttempt:)`` with a given source of randomness (for tests).
    public func delay(forAttempt attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let nominal = nominalDelay(forAttempt: attempt)
        guard jitter > 0 else { return nominal }
        let cut = Double.random(in: 0..<1, using: &generator) * jitter
        return nominal * (1 - cut)
    }

    /// The wait before retry `attempt` when the response said `Retry-After: retryAfter` seconds
    /// (nil when it did not): that value capped at `maxRetryAfter`, else ``delay(forAttempt:)``.
    public func delay(forAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(max(.zero, retryAfter), maxRetryAfter) }
        return delay(forAttempt: attempt)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
