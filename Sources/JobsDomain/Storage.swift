public import Foundation

// The seams between the HTTP layer and storage. `JobsStore` implements them twice: on
// PostgreSQL (`PostgresStore`) and in memory (`MemoryStore`, which the HTTP tests use).

/// Jobs and their events, per organization.
public protocol JobStorage: Sendable {
    /// Inserts the job `make` builds, guarded by an `Idempotency-Key` when `guarded` is set: a
    /// recorded key replays its response (and `make` is not called), a key used for another
    /// request is `Idempotency.reuseError`.
    func create(
        organization: String, guarded: IdempotencyGuard?, _ make: @Sendable () -> (Job, RecordedResponse)
    ) async throws -> WriteOutcome

    /// The job with its most recent 100 errors and warnings, or nil.
    func job(_ id: String, in organization: String) async throws -> (Job, [JobEvent])?

    /// The job with its recent window and its version (what a live stream sends), or nil.
    func snapshot(_ id: String, in organization: String) async throws -> JobSnapshot?

    /// Where committed changes are announced (after commit, in commit order per job).
    var changes: ChangeFeed { get }

    /// The job alone (the cheap status view), or nil.
    func jobRow(_ id: String, in organization: String) async throws -> Job?

    /// One page, newest first, and the position after it (nil on the last page).
    func list(_ filter: ListFilter, in organization: String) async throws -> ([Job], ListCursor?)

    /// Events of one kind after `afterSeq`, oldest first, and the seq to continue after (nil on
    /// the last page); nil when the job does not exist.
    func events(of id: String, kind: EventKind, in organization: String, limit: Int, afterSeq: Int64)
        async throws -> ([JobEvent], Int64?)?

    /// Applies `change` to the job under its lock (a progress report or a cancel).
    func write(organization: String, jobID: String, _ change: JobChange) async throws -> WriteOutcome
}

/// Who a credential belongs to.
public protocol CredentialStore: Sendable {
    /// The API key with this SHA-256, if it exists and is not revoked.
    func apiKey(hash: [UInt8]) async throws -> Principal?
    /// The user and memberships of a live session token, or nil.
    func session(token: String) async throws -> Principal?
    /// The organization linked to this Stytch organization id (`jobs-api org link`), or nil.
    func organization(linkedToStytch stytchOrganizationID: String) async throws -> String?
}

/// What `/readyz` asks of storage.
public protocol ReadinessProbe: Sendable {
    /// The newest applied migration version.
    func migrationVersion() async throws -> Int
}

/// A response as recorded for an `Idempotency-Key` and replayed: opaque to storage, which only
/// keeps it.
public struct RecordedResponse: Sendable, Equatable {
    public var status: Int
    public var body: String
    public var location: String?

    public init(status: Int, body: String, location: String? = nil) {
        self.status = status
        self.body = body
        self.location = location
    }
}

/// The `Idempotency-Key` of a request, and what identifies the request (spec §5).
public struct IdempotencyGuard: Sendable, Equatable {
    public var key: String
    public var method: String
    public var path: String
    public var requestHash: [UInt8]

    public init(key: String, method: String, path: String, requestHash: [UInt8]) {
        self.key = key
        self.method = method
        self.path = path
        self.requestHash = requestHash
    }
}

/// One change to one job: the rule to apply, how to render its response (storage records it for
/// replay), and the request's idempotency data.
public struct JobChange: Sendable {
    public var apply: @Sendable (inout Job, Date) throws(APIError) -> [JobEvent]
    public var render: @Sendable (Job, [JobEvent], Date) -> RecordedResponse
    public var guarded: IdempotencyGuard?

    public init(
        guarded: IdempotencyGuard?, apply: @escaping @Sendable (inout Job, Date) throws(APIError) -> [JobEvent],
        render: @escaping @Sendable (Job, [JobEvent], Date) -> RecordedResponse
    ) {
        self.apply = apply
        self.render = render
        self.guarded = guarded
    }
}

/// What a write produced: the response to send (or replay), and facts for metrics.
public struct WriteOutcome: Sendable {
    public var response: RecordedResponse
    public var replayed: Bool
    public var endedWith: JobStatus?

    public init(response: RecordedResponse, replayed: Bool, endedWith: JobStatus? = nil) {
        self.response = response
        self.replayed = replayed
        self.endedWith = endedWith
    }
}

/// The filters and page of `GET /api/jobs`.
public struct ListFilter: Sendable, Equatable {
    public var statuses: [JobStatus] = []
    public var jobType: String?
    public var triggeredBy: String?
    public var createdAfter: Date?
    public var createdBefore: Date?
    public var limit = 50
    public var cursor: ListCursor?
    /// `?stalled=true|false` (nil: either).
    public var stalled: Bool?
    /// The server's `STALL_AFTER`, for jobs without their own threshold (set by the controller).
    public var defaultStallAfter: Duration = .seconds(600)
    public init() {}
}

/// The position after the last job of a list page: (created_at in µs, job_id), opaque to clients.
public struct ListCursor: Sendable, Equatable {
    public var createdMicros: Int64
    public var jobID: String

    public init(createdMicros: Int64, jobID: String) {
        self.createdMicros = createdMicros
        self.jobID = jobID
    }
}

extension JobEvent {
    /// The most recent 100 of each kind, oldest first (what a job embeds).
    public static func lastHundred(_ events: [JobEvent]) -> [JobEvent] {
        let errors = events.filter { $0.kind == .error }.suffix(Limits.recentEvents)
        let warnings = events.filter { $0.kind == .warning }.suffix(Limits.recentEvents)
        return Array(errors) + Array(warnings)
    }
}
