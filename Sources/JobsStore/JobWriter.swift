import Foundation
import JobsDomain
import LibPQ
import NIOConcurrencyHelpers

/// Writes to one job (progress reports and cancels), coalescing the requests queued for the
/// same job into one transaction.
///
/// Why: every write must happen under the job's row lock. When many workers report on one job,
/// taking the lock once per request makes them queue on the row (PostgreSQL's own rate on one
/// hot row collapses as clients grow). Here, the requests waiting for the same job form a batch:
/// one transaction locks the row once, applies each request in arrival order to the in-memory
/// job (each gets its own response, its own 422 or 409, exactly as if it had run alone), then
/// writes the row once and appends all events in one statement.
///
/// How: the first request for a job becomes the *leader* and runs a batch with everything queued
/// so far; when it is done it hands leadership to the first request that arrived meanwhile. No
/// background task is needed, and a job with a single writer pays nothing extra.
///
/// Idempotency keys are checked per request inside the batch transaction (spec §5): a key seen
/// earlier in the same batch is resolved against that earlier request's outcome (a failed one
/// leaves it free for the next request), and at commit each claimed key is either recorded with
/// the last request that succeeded with it or deleted, so a failure stays retryable and a
/// success is never applied twice.
final class JobWriter: Sendable {
    typealias Item = JobChange
    typealias Outcome = WriteOutcome
    let database: Database
    let maxBatch: Int
    let cache: JobCache
    /// Told of each committed change (the job after the batch), before the batch's callers resume.
    let announce: @Sendable (JobSnapshot) -> Void
    /// Renders the webhook events a job's end fires; they are queued in the outbox by the same
    /// statement or transaction that ends the job (nil: no webhooks, e.g. some tests).
    let webhooks: WebhookEvents?
    private let state = NIOLockedValueBox(WriterQueues<Key, Waiter>())

    /// `cacheBytes`: the budget of the `JobCache` behind the one-round-trip path (0: always lock).
    init(
        database: Database, maxBatch: Int = 128, cacheBytes: Int = JobWriter.defaultCacheBytes,
        announce: @escaping @Sendable (JobSnapshot) -> Void = { _ in }, webhooks: WebhookEvents? = nil
    ) {
        self.database = database
        self.announce = announce
        self.webhooks = webhooks
        self.maxBatch = maxBatch
        self.cache = JobCache(budget: cacheBytes)
    }

    /// 16 MiB: about 25,000 jobs with small metadata.
    static let defaultCacheBytes = 16 << 20

    struct Key: Hashable, Sendable {
        var organization: String
        var jobID: String
    }

    enum Signal {
        case done(Result<Outcome, any Error>)
        case lead
    }

    struct Waiter: Sendable {
        var item: Item
        var continuation: CheckedContinuation<Signal, Never>
    }

    func write(organization: String, jobID: String, _ item: Item) async throws -> Outcome {
        let key = Key(organization: organization, jobID: jobID)
        if !state.withLockedValue({ $0.arrive(key) }) {
            let signal = await withCheckedContinuation { (continuation: CheckedContinuation<Signal, Never>) in
                let enqueued = state.withLockedValue {
                    $0.enqueue(Waiter(item: item, continuation: continuation), for: key)
                }
                if enqueued == .leadNow { continuation.resume(returning: .lead) }
            }
            if case .done(let result) = signal { return try result.get() }
        }
        return try await lead(key, own: item)
    }

    /// Runs one batch (our item plus what is queued), delivers the others' results, and passes
    /// leadership on.
    private func lead(_ key: Key, own: Item) async throws -> Outcome {
        let others = state.withLockedValue { $0.takeBatch(for: key, max: maxBatch) }
        let items = [own] + others.map(\.item)
        let results: [Result<Outcome, any Error>]
        do {
            results = try await Database.retryingConflicts { try await runBatch(key, items) }
        } catch {
            results = Array(repeating: .failure(error), count: items.count)
        }
        for (waiter, result) in zip(others, results.dropFirst()) {
            waiter.continuation.resume(returning: .done(result))
        }
        let next = state.withLockedValue { $0.finish(key) }
        next?.continuation.resume(returning: .lead)
        return try results[0].get()
    }

    // MARK: The batch transaction

    /// The request that last used a key in this batch, and its outcome (nil: it failed).
    private struct KeyRecord {
        var item: Item
        var outcome: Outcome?
        var hash: [UInt8] { item.guarded?.requestHash ?? [] }
    }

    /// A batch without idempotency keys takes one round trip when the job is cached
    /// (`runCached`), two when it is not (`readForCache` first: no lock, no transaction block).
    /// With a key, when the job is missing, or when the cached row turns out to be stale, it runs
    /// on the locked row (`runLocked`).
    private func runBatch(_ key: Key, _ items: [Item]) async throws -> [Result<Outcome, any Error>] {
        if cache.budget > 0, items.allSatisfy({ $0.guarded == nil }) {
            var entry = cache.entry(key)
            let fresh = entry == nil
            if fresh { entry = try await readForCache(key) }
            if let cached = entry {
                do {
                    if let results = try await runCached(key, items, cached, fresh: fresh) { return results }
                } catch {
                    // Whether it committed is unknown: forget the row, report the failure.
                    cache.remove(key)
                    throw error
                }
            }
        }
        return try await runLocked(key, items)
    }

    /// Reads the row with its version and its recent window in one round trip, without a lock,
    /// and caches them; nil when the job does not exist. The two reads may see different
    /// snapshots when a writer commits in between: then the row's version is already stale and
    /// the compare-and-set that follows matches nothing, so nothing wrong is ever written.
    private func readForCache(_ key: Key) async throws -> JobCache.Entry? {
        let rows = try await database.read(
            organization: key.organization,
            [
                JobRepository.selectJob(key.jobID, organization: key.organization, lock: false, versioned: true),
                JobRepository.recentEventsQuery(key.jobID, organization: key.organization),
            ])
        guard let row = rows[0].first else { return nil }
        let job = try JobRepository.decodeJob(row)
        let version = try row.decode("version", as: String.self)
        let recent = try JobRepository.decodeEvents(rows[1])
        cache.store(key, job: job, version: version, recent: recent)
        return JobCache.Entry(job: job, version: version, recent: recent, bytes: 0)
    }

    /// One round trip, no lock held across it: applies the requests to the cached job in memory,
    /// then one statement (its own implicit transaction) writes the row and the new events with a
    /// compare-and-set on the cached version (`JobRepository.compareAndWriteQuery`); the responses
    /// embed the cached recent window plus the new events. Nil when the row had changed (nothing
    /// was written: the caller runs the batch on the locked row) or when nothing would be written
    /// and the copy is not `fresh` (just read): that is answered from the locked row, so a no-op
    /// (a `409`, say) never answers from a stale copy.
    private func runCached(_ key: Key, _ items: [Item], _ cached: JobCache.Entry, fresh: Bool) async throws
        -> [Result<Outcome, any Error>]?
    {
        let original = cached.job
        var job = original
        var appended: [JobEvent] = []
        // Each request's outcome before rendering: the job after it, its clock, its status change.
        var applied: [Result<(job: Job, appendedCount: Int, now: Date, ended: JobStatus?), any Error>] = []
        for item in items {
            let now = Date()
            var next = job
            do {
                let events = try item.apply(&next, now)
                let ended = next.status != job.status && next.status.isTerminal ? next.status : nil
                job = next
                appended += events
                applied.append(.success((job, appended.count, now, ended)))
            } catch {
                applied.append(.failure(error))
            }
        }
        let before = cached.recent
        if job != original || !appended.isEmpty {
            let hook = webhookQuery(from: original, to: job, guardedBy: "updated")
            let queries = [
                JobRepository.compareAndWriteQuery(job, version: cached.version, events: appended, also: hook)
            ]
            let rows = try await database.read(organization: key.organization, queries)
            guard let version = try rows.last?.first?.decode("version", as: String.self) else {
                cache.remove(key)
                return nil
            }
            if hook != nil { webhooks?.committed() }
            let recent = JobEvent.lastHundred(before + appended)
            cache.store(key, job: job, version: version, recent: recent)
            announce(JobSnapshot(job: job, recent: recent, version: version))
        } else if !fresh {
            return nil
        }
        return zip(items, applied).map { item, result in
            result.map { state in
                let recent = JobEvent.lastHundred(before + appended.prefix(state.appendedCount))
                return Outcome(
                    response: item.render(state.job, recent, state.now), replayed: false, endedWith: state.ended)
            }
        }
    }

    /// The transaction takes two round trips when no idempotency key is involved
    /// (`Database.lockedJob`): one begins, sets the tenant, locks and reads the row and its recent
    /// events; the other writes the row, appends the events, records keys and commits. The lock
    /// is held for the time in between, which is in-memory work only.
    private func runLocked(_ key: Key, _ items: [Item]) async throws -> [Result<Outcome, any Error>] {
        typealias Batch = (
            results: [Result<Outcome, any Error>], written: (job: Job, unchangedVersion: String?, recent: [JobEvent])?
        )
        let (batch, rows) = try await database.lockedJob(organization: key.organization, jobID: key.jobID) {
            tx, locked -> (Batch, [PGQuery]) in
            guard let locked else {
                return ((try await resolveWithoutJob(key, items, tx), nil), [])
            }
            var job = locked.job
            let original = job
            var recent = locked.recent
            var appended: [JobEvent] = []
            var results: [Result<Outcome, any Error>] = []
            // The keys this batch claimed (their rows are inserted, uncommitted), in claim order,
            // with the latest request that used each. Whatever happens in between, each key
            // ends as exactly one thing at commit: recorded with its last success, or deleted.
            var keys: [String: KeyRecord] = [:]
            var claimOrder: [String] = []

            for item in items {
                // Idempotency: replay, refuse a reuse, or claim the key.
                if let guarded = item.guarded {
                    if let earlier = keys[guarded.key] {
                        if let outcome = earlier.outcome {
                            results.append(
                                Idempotency.answer(guarded, recorded: outcome.response, hash: earlier.hash).mapError {
                                    $0
                                })
                            continue
                        }
                        // An earlier request of this batch failed with this key: the key is free
                        // for this one, and this batch's claim on it (its row) still stands.
                    } else {
                        switch try await IdempotencyStore.claim(tx, organization: key.organization, guarded) {
                        case .claimed:
                            claimOrder.append(guarded.key)
                        case .recorded(let hash, let response):
                            results.append(Idempotency.answer(guarded, recorded: response, hash: hash).mapError { $0 })
                            continue
                        }
                    }
                }
                let now = Date()
                var next = job
                do {
                    let events = try item.apply(&next, now)
                    let statusBefore = job.status
                    job = next
                    appended += events
                    recent += events
                    let outcome = Outcome(
                        response: item.render(job, JobEvent.lastHundred(recent), now), replayed: false,
                        endedWith: job.status != statusBefore && job.status.isTerminal ? job.status : nil)
                    results.append(.success(outcome))
                    if let guarded = item.guarded {
                        keys[guarded.key] = KeyRecord(item: item, outcome: outcome)
                    }
                } catch {
                    results.append(.failure(error))
                    if let guarded = item.guarded {
                        // Only successful responses are recorded: the key is free again.
                        keys[guarded.key] = KeyRecord(item: item, outcome: nil)
                    }
                }
            }
            var writes: [PGQuery] = []
            let changed = job != original
            if changed { writes.append(JobRepository.writeQuery(job)) }
            if !appended.isEmpty { writes.append(JobRepository.insertQuery(appended, of: job)) }
            if let hook = webhookQuery(from: original, to: job) { writes.append(hook) }
            for claimed in claimOrder {
                guard let record = keys[claimed], let outcome = record.outcome, let guarded = record.item.guarded else {
                    writes.append(IdempotencyStore.releaseQuery(organization: key.organization, key: claimed))
                    continue
                }
                writes.append(
                    IdempotencyStore.recordQuery(organization: key.organization, guarded, response: outcome.response))
            }
            return ((results, (job, changed ? nil : locked.version, JobEvent.lastHundred(recent))), writes)
        }
        // Remember the committed row for the next batch's one-round-trip path.
        if let written = batch.written,
            let version = try written.unchangedVersion ?? rows.first?.first?.decode("version", as: String.self)
        {
            cache.store(key, job: written.job, version: version, recent: written.recent)
            if written.unchangedVersion == nil {
                announce(JobSnapshot(job: written.job, recent: written.recent, version: version))
                if written.job.status.isTerminal { webhooks?.committed() }
            }
        } else {
            cache.remove(key)
        }
        return batch.results
    }

    /// The outbox insert for the event a batch that ended the job fires (nil when it did not end
    /// it, or webhooks are off): it joins the batch's own statement or transaction.
    private func webhookQuery(from original: Job, to job: Job, guardedBy cte: String? = nil) -> PGQuery? {
        guard let webhooks, !original.status.isTerminal, let event = WebhookEvent(ending: job.status) else {
            return nil
        }
        return WebhookStore.enqueueQuery(
            organization: job.organizationID, jobID: job.jobID, event: event,
            payload: webhooks.render(event, job, job.completedAt ?? Date()), guardedBy: cte)
    }

    /// The job does not exist (or is another organization's): 404 for each request — except
    /// that a key already recorded still replays or refuses as §5 says.
    private func resolveWithoutJob(_ key: Key, _ items: [Item], _ tx: PGLease) async throws -> [Result<
        Outcome, any Error
    >] {
        var results: [Result<Outcome, any Error>] = []
        for item in items {
            if let guarded = item.guarded,
                let stored = try await IdempotencyStore.lookup(tx, organization: key.organization, key: guarded.key)
            {
                results.append(
                    Idempotency.answer(guarded, recorded: stored.response, hash: stored.hash).mapError { $0 })
                continue
            }
            results.append(.failure(APIError.jobNotFound(key.jobID)))
        }
        return results
    }
}
