import NIOConcurrencyHelpers
import NIOCore

/// One subscriber of a `PGListener`: a bounded queue of events and the one reader of its
/// `AsyncStream`.
///
/// When the queue holds `capacity` events, newer events are dropped (the oldest are kept, so
/// what the reader gets stays in order with no hole inside it) and the queue remembers it. The
/// reader then gets `.overflowed` exactly where the hole is: after the events kept, as soon as it
/// has read them, even when nothing else arrives; and before any event queued once there is room
/// again. So the queue never holds more than `capacity + 1` entries (the events plus that one
/// marker), and a reader learns of every loss without the listener ever waiting for it.
///
/// Safety (`Sendable`): all state is in a `NIOLockedValueBox`; continuations are resumed after
/// the lock is released.
final class PGListenerSubscriber: Sendable {
    typealias Event = PGListener.Event

    private struct State {
        var queue = CircularBuffer<Event>()
        /// Events were dropped since the reader last got `.overflowed`.
        var dropping = false
        /// Events dropped in all (diagnostics and tests).
        var dropped = 0
        /// No more events will be queued: the listener stopped (the reader still gets what is
        /// queued) or the reader went away (the queue was emptied).
        var finished = false
        /// The reader, suspended in `next()` while the queue is empty.
        var waiter: CheckedContinuation<Event?, Never>?

        /// The next entry for the reader, if one is ready. `.some(nil)` is the stream's end.
        mutating func take() -> Event?? {
            if let event = queue.popFirst() { return .some(event) }
            if dropping {
                dropping = false
                return .some(.overflowed)
            }
            if finished { return .some(nil) }
            return nil
        }
    }

    /// The most events queued; at least 1.
    let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Queues `events` in order, dropping what does not fit (see the type's note). Returns false
    /// when the subscriber has ended, so the listener can forget it. Never blocks or suspends.
    @discardableResult
    func deliver(_ events: [Event]) -> Bool {
        let (alive, resume) = state.withLockedValue { state -> (Bool, (CheckedContinuation<Event?, Never>, Event)?) in
            guard !state.finished else { return (false, nil) }
            for event in events {
                if state.queue.count >= capacity {
                    state.dropping = true
                    state.dropped += 1
                    continue
                }
                if state.dropping {
                    // The hole comes before this event; the marker may take one slot past
                    // `capacity`, never more (`dropping` is cleared here).
                    state.queue.append(.overflowed)
                    state.dropping = false
                }
                state.queue.append(event)
            }
            guard let waiter = state.waiter, let first = state.queue.popFirst() else { return (true, nil) }
            state.waiter = nil
            return (true, (waiter, first))
        }
        if let (waiter, event) = resume { waiter.resume(returning: event) }
        return alive
    }

    /// Ends the stream after what is queued (the listener stopped).
    func finish() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Event?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Ends the stream now and drops what is queued (the reader was cancelled or went away).
    func cancel() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Event?, Never>? in
            state.finished = true
            state.dropping = false
            state.queue.removeAll()
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next event, suspending while none is queued; nil once the stream has ended.
    /// Cancelling the reading task ends the stream (as `cancel()`). One reader at a time: a
    /// second concurrent call gets nil.
    func next() async -> Event? {
        if let ready = state.withLockedValue({ $0.take() }) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Event?, Never>) in
                let ready = state.withLockedValue { state -> Event?? in
                    if let ready = state.take() { return ready }
                    guard state.waiter == nil else { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Entries queued now (at most `capacity + 1`), for diagnostics and tests.
    var bufferedCount: Int { state.withLockedValue { $0.queue.count } }

    /// Events dropped so far because the queue was full.
    var droppedCount: Int { state.withLockedValue { $0.dropped } }
}
