import JobsDomain
import NIOConcurrencyHelpers
import StrictJSON

/// The last committed state of recently written jobs, with the row version it was committed at
/// (PostgreSQL's `xmin` of the row, which every update of the row changes).
///
/// It lets `JobWriter` report progress in one round trip: it applies the requests to the cached
/// job and writes with `UPDATE … WHERE xmin = <cached version>` (compare-and-set). A cached
/// entry is only ever a guess: when anything else changed the row (another server, a DBA
/// function, pruning), the update matches no row, nothing is written, the entry is dropped and
/// the batch runs again on the locked row. So the cache needs no invalidation to be correct.
///
/// It also keeps each job's recent window (the 100 most recent errors and warnings a response
/// embeds), so a report on a job with events needs no read either.
///
/// Bounded by an estimate of its bytes (the JSON size of the metadata and of each event's details,
/// the events' strings, plus a fixed overhead per job and per event);
/// over the budget, arbitrary entries (never the one just stored) are dropped until it is at 3/4
/// of it.
final class JobCache: Sendable {
    struct Entry: Sendable {
        var job: Job
        var version: String
        /// The job's most recent 100 errors and 100 warnings at `version`.
        var recent: [JobEvent]
        var bytes: Int
    }

    private struct State {
        var entries: [JobWriter.Key: Entry] = [:]
        var bytes = 0
    }

    private let state = NIOLockedValueBox(State())
    let budget: Int

    /// `budget` in bytes; 0 turns the cache (and the one-round-trip path) off.
    init(budget: Int) {
        self.budget = budget
    }

    func entry(_ key: JobWriter.Key) -> Entry? {
        state.withLockedValue { $0.entries[key] }
    }

    /// Remembers the committed row and its recent window (at most 100 events of each kind).
    func store(_ key: JobWriter.Key, job: Job, version: String, recent: [JobEvent]) {
        guard budget > 0 else { return }
        var bytes =
            512 + job.jobID.utf8.count + job.jobType.utf8.count + (job.errorMessage?.utf8.count ?? 0)
            + JSONValue.object(job.metadata).compactByteCount
        for event in recent {
            bytes +=
                160 + event.entityKey.utf8.count + event.entityType.utf8.count + event.errorType.utf8.count
                + event.message.utf8.count + (event.step?.utf8.count ?? 0)
                + JSONValue.object(event.details).compactByteCount
        }
        guard bytes <= budget / 16 else {
            remove(key)
            return
        }
        let entry = Entry(job: job, version: version, recent: recent, bytes: bytes)
        state.withLockedValue { state in
            if let old = state.entries.updateValue(entry, forKey: key) {
                state.bytes -= old.bytes
            }
            state.bytes += bytes
            guard state.bytes > budget else { return }
            var excess = state.bytes - budget * 3 / 4
            var victims: [JobWriter.Key] = []
            for (victim, entry) in state.entries where victim != key {
                if excess <= 0 { break }
                victims.append(victim)
                excess -= entry.bytes
            }
            for victim in victims {
                if let old = state.entries.removeValue(forKey: victim) { state.bytes -= old.bytes }
            }
        }
    }

    func remove(_ key: JobWriter.Key) {
        state.withLockedValue { state in
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= old.bytes }
        }
    }

    /// Entries and estimated bytes (tests and diagnostics).
    var usage: (entries: Int, bytes: Int) {
        state.withLockedValue { ($0.entries.count, $0.bytes) }
    }
}
