/// The coalescing writer's queues (`JobWriter`) as a value-type state machine: which keys have
/// a batch running, and who waits for each. Its methods only change state and say what the
/// caller must do (lead a batch, wait, wake the next leader); the caller holds it in a lock and
/// resumes continuations outside it. Generic over the waiter so tests can drive it with plain
/// values, without tasks or sleeps.
///
/// The life of a request: `arrive` (lead now, or wait) → if waiting, `enqueue` (queued, or lead
/// after all because the batch ended in between) → the leader `takeBatch`es what is queued, runs
/// it, delivers results → `finish` names the next leader (the first still queued) or frees the key.
struct WriterQueues<Key: Hashable, Waiter> {
    private var busy: Set<Key> = []
    private var queues: [Key: [Waiter]] = [:]

    /// A request for `key` arrives: true when no batch runs for it (the request leads one now).
    mutating func arrive(_ key: Key) -> Bool {
        busy.insert(key).inserted
    }

    enum Enqueued: Equatable {
        /// The waiter is queued; a leader will deliver its result or hand it leadership.
        case queued
        /// The batch that was running ended between `arrive` and now: lead, do not wait.
        case leadNow
    }

    /// Queues a request that `arrive` told to wait.
    mutating func enqueue(_ waiter: Waiter, for key: Key) -> Enqueued {
        if !busy.contains(key) {
            busy.insert(key)
            return .leadNow
        }
        queues[key, default: []].append(waiter)
        return .queued
    }

    /// The leader of `key` takes the queued requests into its batch: at most `max - 1` (its own
    /// request makes `max`), oldest first; the rest stay queued for the next batch.
    mutating func takeBatch(for key: Key, max: Int) -> [Waiter] {
        let queued = queues[key] ?? []
        let taken = Array(queued.prefix(Swift.max(0, max - 1)))
        let rest = queued.dropFirst(taken.count)
        queues[key] = rest.isEmpty ? nil : Array(rest)
        return taken
    }

    /// The leader of `key` is done: the first queued request becomes the next leader (the caller
    /// wakes it), or, with none queued, the key is free.
    mutating func finish(_ key: Key) -> Waiter? {
        guard var queue = queues[key], !queue.isEmpty else {
            queues[key] = nil
            busy.remove(key)
            return nil
        }
        let next = queue.removeFirst()
        queues[key] = queue.isEmpty ? nil : queue
        return next
    }

    /// Whether a batch runs for `key`.
    func isBusy(_ key: Key) -> Bool { busy.contains(key) }

    /// How many requests wait for `key`.
    func waiting(for key: Key) -> Int { queues[key]?.count ?? 0 }

    /// No batch runs and nobody waits.
    var isIdle: Bool { busy.isEmpty && queues.isEmpty }
}

extension WriterQueues: Sendable where Key: Sendable, Waiter: Sendable {}
