import NIOConcurrencyHelpers

/// Stops calling a dependency that keeps failing: after `threshold` failures in a row it opens
/// for `openFor`, during which callers fail at once (no connection, no wait); then one probe
/// call is let through, and its outcome closes or re-opens it.
final class CircuitBreaker: Sendable {
    let threshold: Int
    let openFor: Duration

    private struct State {
        var failures = 0
        var openUntil: ContinuousClock.Instant?
        var probing = false
    }
    private let state = NIOLockedValueBox(State())

    init(threshold: Int = 5, openFor: Duration = .seconds(5)) {
        self.threshold = threshold
        self.openFor = openFor
    }

    /// nil: the call may go ahead. Else how long until the breaker lets a probe through.
    func refusal(now: ContinuousClock.Instant = .now) -> Duration? {
        state.withLockedValue { state in
            guard let openUntil = state.openUntil else { return nil }
            if now < openUntil { return openUntil - now }
            if state.probing { return openFor }
            state.probing = true
            return nil
        }
    }

    func succeeded() {
        state.withLockedValue { $0 = State() }
    }

    func failed(now: ContinuousClock.Instant = .now) {
        state.withLockedValue { state in
            state.failures += 1
            if state.probing || state.failures >= threshold {
                state.openUntil = now + openFor
                state.probing = false
            }
        }
    }

    var isOpen: Bool { state.withLockedValue { $0.openUntil != nil } }
}
