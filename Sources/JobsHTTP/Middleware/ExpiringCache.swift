import NIOConcurrencyHelpers

/// The authentication caches' one mechanism: answers kept for at most a time-to-live, keyed
/// by text, bounded by emptying the map when it is full (simple, and a flood of distinct tokens
/// cannot make it grow). `Value` may be optional: a cached "nobody" is an answer too.
final class ExpiringCache<Value: Sendable>: Sendable {
    private let entries = NIOLockedValueBox([String: (value: Value, until: ContinuousClock.Instant)]())
    let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The unexpired value for `key`, nil when there is none.
    func value(_ key: String, now: ContinuousClock.Instant = .now) -> Value? {
        guard let entry = entries.withLockedValue({ $0[key] }), entry.until > now else { return nil }
        return entry.value
    }

    /// Keeps `value` for `ttl` (nothing when `ttl` is not positive).
    func store(_ key: String, _ value: Value, for ttl: Duration, now: ContinuousClock.Instant = .now) {
        guard ttl > .zero else { return }
        entries.withLockedValue { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (value, now + ttl)
        }
    }
}
