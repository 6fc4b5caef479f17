import Foundation
public import JobsDomain
import NIOConcurrencyHelpers

/// The storage seams in memory, with the semantics of `PostgresStore`: tenant filtering, the
/// job's lock (one lock for the whole store), idempotency keys recorded with the change they
/// guard, list order and cursors, events pages. It lets the whole HTTP status matrix run
/// without a database; the integration suite checks the PostgreSQL implementation.
/// Nothing expires and nothing survives the process.
public final class MemoryStore: JobStorage, CredentialStore, ReadinessProbe, Sendable {
    private struct JobKey: Hashable {
        var organization: String
        var jobID: String
    }

    private struct KeyRecord {
        var hash: [UInt8]
        var response: RecordedResponse
    }

    private struct State {
        var jobs: [JobKey: (job: Job, events: [JobEvent])] = [:]
        var keys: [JobKey: KeyRecord] = [:]
        var apiKeys: [[UInt8]: Principal] = [:]
        var sessions: [String: Principal] = [:]
        var stytchLinks: [String: String] = [:]
        /// Each job's version: the value of `clock` at its last change.
        var versions: [JobKey: Int] = [:]
        var clock = 0

        mutating func bump(_ key: JobKey) -> String {
            clock += 1
            versions[key] = clock
            return String(clock)
        }
    }

    private let state = NIOLockedValueBox(State())
    private let version: Int
    public let changes = ChangeFeed()

    /// `migrationVersion` is what `/readyz` compares with the version it expects.
    public init(migrationVersion: Int = Int.max) {
        version = migrationVersion
    }

    // MARK: Credentials (set up by tests)

    /// Registers an API key token for one organization.
    public func addAPIKey(_ token: String, keyID: String, organization: String, role: Role) {
        state.withLockedValue {
            $0.apiKeys[Token.hash(token)] = .apiKey(keyID: keyID, organizationID: organization, role: role)
        }
    }

    /// Registers a session token of a user with these memberships.
    public func addSession(_ token: String, userID: String, memberships: [Principal.Membership]) {
        state.withLockedValue { $0.sessions[token] = .user(userID: userID, memberships: memberships) }
    }

    /// Links a Stytch organization id to one of ours (`jobs-api org link`).
    public func linkStytchOrganization(_ stytchOrganizationID: String, to organization: String) {
        state.withLockedValue { $0.stytchLinks[stytchOrganizationID] = organization }
    }

    public func organization(linkedToStytch stytchOrganizationID: String) async throws -> String? {
        state.withLockedValue { $0.stytchLinks[stytchOrganizationID] }
    }

    public func apiKey(hash: [UInt8]) async throws -> Principal? {
        state.withLockedValue { $0.apiKeys[hash] }
    }

    public func session(token: String) async throws -> Principal? {
        state.withLockedValue { $0.sessions[token] }
    }

    public func migrationVersion() async throws -> Int { version }

    // MARK: JobStorage

    public func create(
        organization: String, guarded: IdempotencyGuard?, _ make: @Sendable () -> (Job, RecordedResponse)
    ) async throws -> WriteOutcome {
        let (outcome, snapshot) = try state.withLockedValue { state -> (WriteOutcome, JobSnapshot?) in
            if let guarded, let recorded = state.keys[JobKey(organization: organization, jobID: guarded.key)] {
                return (try Idempotency.answer(guarded, recorded: recorded.response, hash: recorded.hash).get(), nil)
            }
            let (job, response) = make()
            let key = JobKey(organization: organization, jobID: job.jobID)
            state.jobs[key] = (job, [])
            if let guarded {
                state.keys[JobKey(organization: organization, jobID: guarded.key)] = KeyRecord(
                    hash: guarded.requestHash, response: response)
            }
            return (
                WriteOutcome(response: response, replayed: false),
                JobSnapshot(job: job, recent: [], version: state.bump(key))
            )
        }
        if let snapshot { changes.emit(.committed(snapshot)) }
        return outcome
    }

    public func snapshot(_ id: String, in organization: String) async throws -> JobSnapshot? {
        state.withLockedValue { state in
            let key = JobKey(organization: organization, jobID: id)
            return state.jobs[key].map {
                JobSnapshot(
                    job: $0.job, recent: JobEvent.lastHundred($0.events), version: String(state.versions[key] ?? 0))
            }
        }
    }

    public func job(_ id: String, in organization: String) async throws -> (Job, [JobEvent])? {
        state.withLockedValue { state in
            state.jobs[JobKey(organization: organization, jobID: id)].map { ($0.job, JobEvent.lastHundred($0.events)) }
        }
    }

    public func jobRow(_ id: String, in organization: String) async throws -> Job? {
        state.withLockedValue { $0.jobs[JobKey(organization: organization, jobID: id)]?.job }
    }

    /// Microseconds since the epoch, as PostgreSQL keeps `created_at`.
    static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down)) }

    public func list(_ filter: ListFilter, in organization: String) async throws -> ([Job], ListCursor?) {
        let now = Date()
        let jobs = state.withLockedValue { state in
            state.jobs.values.map(\.job).filter { job in
                job.organizationID == organization
                    && (filter.statuses.isEmpty || filter.statuses.contains(job.status))
                    && (filter.jobType == nil || job.jobType == filter.jobType)
                    && (filter.triggeredBy == nil || job.triggeredBy == filter.triggeredBy)
                    && (filter.createdAfter.map { job.createdAt >= $0 } ?? true)
                    && (filter.createdBefore.map { job.createdAt < $0 } ?? true)
                    && (filter.stalled.map {
                        job.isStalled(now: now, defaultStallAfter: filter.defaultStallAfter) == $0
                    } ?? true)
                    && (filter.cursor.map { (Self.micros(job.createdAt), job.jobID) < ($0.createdMicros, $0.jobID) }
                        ?? true)
            }
        }
        let sorted = jobs.sorted { (Self.micros($0.createdAt), $0.jobID) > (Self.micros($1.createdAt), $1.jobID) }
        let page = Array(sorted.prefix(filter.limit))
        let next =
            sorted.count > filter.limit
            ? page.last.map { ListCursor(createdMicros: Self.micros($0.createdAt), jobID: $0.jobID) } : nil
        return (page, next)
    }

    public func events(of id: String, kind: EventKind, in organization: String, limit: Int, afterSeq: Int64)
        async throws -> ([JobEvent], Int64?)?
    {
        guard let stored = state.withLockedValue({ $0.jobs[JobKey(organization: organization, jobID: id)] }) else {
            return nil
        }
        let matching = stored.events.filter { $0.kind == kind && $0.seq > afterSeq }.sorted { $0.seq < $1.seq }
        let page = Array(matching.prefix(limit))
        return (page, matching.count > limit ? page.last?.seq : nil)
    }

    public func write(organization: String, jobID: String, _ change: JobChange) async throws -> WriteOutcome {
        let (outcome, snapshot) = try state.withLockedValue { state -> (WriteOutcome, JobSnapshot?) in
            if let guarded = change.guarded,
                let recorded = state.keys[JobKey(organization: organization, jobID: guarded.key)]
            {
                return (try Idempotency.answer(guarded, recorded: recorded.response, hash: recorded.hash).get(), nil)
            }
            let key = JobKey(organization: organization, jobID: jobID)
            guard var stored = state.jobs[key] else { throw APIError.jobNotFound(jobID) }
            let now = Date()
            let original = stored.job
            let before = original.status
            let events = try change.apply(&stored.job, now)
            stored.events += events
            state.jobs[key] = stored
            let response = change.render(stored.job, JobEvent.lastHundred(stored.events), now)
            if let guarded = change.guarded {
                state.keys[JobKey(organization: organization, jobID: guarded.key)] = KeyRecord(
                    hash: guarded.requestHash, response: response)
            }
            let ended = stored.job.status != before && stored.job.status.isTerminal ? stored.job.status : nil
            let changed = stored.job != original || !events.isEmpty
            let snapshot =
                changed
                ? JobSnapshot(job: stored.job, recent: JobEvent.lastHundred(stored.events), version: state.bump(key))
                : nil
            return (WriteOutcome(response: response, replayed: false, endedWith: ended), snapshot)
        }
        if let snapshot { changes.emit(.committed(snapshot)) }
        return outcome
    }
}
