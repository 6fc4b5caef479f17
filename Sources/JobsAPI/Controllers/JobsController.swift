import Foundation
import HTTPTypes
import Hummingbird
import LibPQ
import NIOCore

/// The `/api/jobs` routes of spec §3–§4.
///
/// Each handler runs after `TenantMiddleware` (so the tenant is known), checks its permission,
/// then reads and validates the body, then touches the database — the contract's order:
/// 401 → 400/403 → 403 permission → body checks → 404 → 409.
public struct JobsController: Sendable {
    let repository: JobRepository
    let idempotency: IdempotencyStore
    let writer: JobWriter
    let requestTimeout: Duration
    let metrics: AppMetrics?

    public init(repository: JobRepository, requestTimeout: Duration = .seconds(30), metrics: AppMetrics? = nil) {
        self.repository = repository
        self.requestTimeout = requestTimeout
        self.metrics = metrics
        self.idempotency = IdempotencyStore(database: repository.database)
        self.writer = JobWriter(database: repository.database, limits: repository.limits)
    }

    /// Every (method, path) this controller serves, with the path as the OpenAPI document
    /// writes it. Registration is driven from this table, and a test compares it with the
    /// document.
    public static let routes: [(method: HTTPRequest.Method, path: String)] = [
        (.post, "/api/jobs/"), (.get, "/api/jobs/"),
        (.get, "/api/jobs/{job_id}"), (.get, "/api/jobs/{job_id}/status"),
        (.post, "/api/jobs/{job_id}/progress"), (.post, "/api/jobs/{job_id}/cancel"),
        (.get, "/api/jobs/{job_id}/errors"), (.get, "/api/jobs/{job_id}/warnings"),
    ]

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("jobs", use: create)
        group.get("jobs", use: list)
        group.get("jobs/:job_id", use: get)
        group.get("jobs/:job_id/status", use: status)
        group.post("jobs/:job_id/progress", use: progress)
        group.post("jobs/:job_id/cancel", use: cancel)
        group.get("jobs/:job_id/errors") { try await events($0, $1, kind: .error) }
        group.get("jobs/:job_id/warnings") { try await events($0, $1, kind: .warning) }
        // Known paths answer other methods with 405 and the methods they allow.
        let others: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
        var allowed: [String: [HTTPRequest.Method]] = [:]
        for route in Self.routes {
            allowed[Self.routerPath(route.path), default: []].append(route.method)
        }
        for (path, methods) in allowed {
            let names = methods.map(\.rawValue)
            for method in others where !methods.contains(method) {
                group.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw APIError.methodNotAllowed(allowed: names)
                }
            }
        }
    }

    /// `/api/jobs/{job_id}/status` → `jobs/:job_id/status` (relative to the `/api` group).
    static func routerPath(_ documentPath: String) -> String {
        var path = documentPath.replacingOccurrences(of: "{job_id}", with: ":job_id")
        path.removeFirst("/api/".count)
        while path.hasSuffix("/") { path.removeLast() }
        return path
    }

    // MARK: Handlers

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobCreate)
        let key = try Self.idempotencyKey(request)
        let body = try await RequestBodyReader.read(request, required: true, timeout: requestTimeout)!
        let input = try CreateJobRequest.parse(body).get()
        let triggeredBy: String? =
            switch input.triggeredBy {
            case .none: tenant.userID
            case .some(let explicit): explicit
            }
        func newJob() -> (Job, IdempotencyStore.StoredResponse) {
            let now = Date()
            let job = Job(
                organizationID: tenant.organizationID, jobID: JobID.generate(now: now), jobType: input.jobType,
                totalItems: input.totalItems, metadata: input.metadata.jsonbOrdered, triggeredBy: triggeredBy, now: now)
            return (job, .init(status: 201, body: JobJSON.job(job, events: [], now: now).compactJSON, location: "/api/jobs/\(job.jobID)"))
        }
        guard key != nil else {
            // No key: one round trip.
            let (job, response) = newJob()
            try await repository.create(job)
            metrics?.jobCreated()
            return respond(response, replayed: false)
        }
        return try await guarded(request, tenant: tenant, key: key, body: body) { tx in
            let (job, response) = newJob()
            try await repository.create(job, tx)
            metrics?.jobCreated()
            return response
        }
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobRead)
        let filter = try QueryParser.listFilter(request.uri.query)
        let (jobs, next) = try await repository.list(filter, in: tenant.organizationID)
        let now = Date()
        return JSONResponse.make(
            .ok, JobJSON.page(jobs.map { JobJSON.job($0, events: nil, now: now) }, next: next.map(Cursors.encode)))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobRead)
        let id = try Self.jobID(context)
        guard let (job, events) = try await repository.job(id, in: tenant.organizationID) else {
            throw APIError.jobNotFound(id)
        }
        return JSONResponse.make(.ok, JobJSON.job(job, events: events, now: Date()))
    }

    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobRead)
        let id = try Self.jobID(context)
        guard let job = try await repository.jobRow(id, in: tenant.organizationID) else { throw APIError.jobNotFound(id) }
        return JSONResponse.make(.ok, JobJSON.status(job))
    }

    @Sendable func progress(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobCreate)
        let key = try Self.idempotencyKey(request)
        let body = try await RequestBodyReader.read(request, required: true, timeout: requestTimeout)!
        let input = try ProgressRequest.parse(body).get()
        let id = try Self.jobID(context)
        let limits = repository.limits
        let response = try await write(request, tenant: tenant, jobID: id, key: key, body: body) { job, now throws(APIError) in
            try ProgressRules.apply(input, to: &job, now: now, limits: limits)
        }
        metrics?.progressApplied()
        return response
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobCancel)
        let key = try Self.idempotencyKey(request)
        let body = try await RequestBodyReader.read(request, required: false, timeout: requestTimeout)
        let input = try CancelRequest.parse(body).get()
        let id = try Self.jobID(context)
        return try await write(request, tenant: tenant, jobID: id, key: key, body: body) { job, now throws(APIError) in
            try ProgressRules.cancel(input, job: &job, now: now)
            return []
        }
    }

    /// A change to one job through the coalescing writer (one transaction per batch of requests
    /// for the same job), recorded or replayed under the request's `Idempotency-Key`.
    func write(
        _ request: Request, tenant: TenantContext, jobID: String, key: String?, body: JSONValue?,
        _ apply: @escaping @Sendable (inout Job, Date) throws(APIError) -> [JobEvent]
    ) async throws -> Response {
        let method = request.method.rawValue
        let hash = key == nil ? [] : IdempotencyStore.requestHash(method: method, path: request.uri.path, body: body)
        let outcome = try await writer.write(
            organization: tenant.organizationID, jobID: jobID,
            .init(apply: apply, idempotencyKey: key, method: method, path: request.uri.path, requestHash: hash))
        if let ended = outcome.endedWith { metrics?.jobEnded(ended) }
        return respond(outcome.response, replayed: outcome.replayed)
    }

    /// A create, in one tenant transaction, recorded or replayed under the `Idempotency-Key`.
    func guarded(
        _ request: Request, tenant: TenantContext, key: String?, body: JSONValue?,
        _ work: (PGLease) async throws -> IdempotencyStore.StoredResponse
    ) async throws -> Response {
        let method = request.method.rawValue
        let hash = key == nil ? [] : IdempotencyStore.requestHash(method: method, path: request.uri.path, body: body)
        let (stored, replayed) = try await idempotency.run(
            organization: tenant.organizationID, key: key, method: method, path: request.uri.path, hash: hash, work)
        return respond(stored, replayed: replayed)
    }

    func respond(_ stored: IdempotencyStore.StoredResponse, replayed: Bool) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if replayed {
            headers[.idempotentReplayed] = "true"
            metrics?.idempotentReplay()
        }
        if let location = stored.location { headers[.location] = location }
        return Response(
            status: HTTPResponse.Status(code: stored.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: stored.body)))
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        let values = request.headers[values: .idempotencyKey]
        if values.count > 1 {
            throw APIError.validation([
                ValidationIssue("header", ["Idempotency-Key"], msg: "Value error, send Idempotency-Key once", type: "value_error")
            ])
        }
        return try IdempotencyStore.validateKey(values.first)
    }

    func events(_ request: Request, _ context: AppRequestContext, kind: EventKind) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobRead)
        let id = try Self.jobID(context)
        let (limit, after) = try QueryParser.eventPage(request.uri.query, kind: kind, jobID: id)
        guard
            let (events, next) = try await repository.events(
                of: id, kind: kind, in: tenant.organizationID, limit: limit, afterSeq: after)
        else { throw APIError.jobNotFound(id) }
        return JSONResponse.make(
            .ok, JobJSON.page(events.map(JobJSON.event), next: next.map { Cursors.encodeEvents(afterSeq: $0, kind: kind, jobID: id) }))
    }

    /// The path's job id; longer than 64 characters cannot exist → 404.
    static func jobID(_ context: AppRequestContext) throws -> String {
        guard let id = context.parameters.get("job_id"), !id.isEmpty, id.count <= Limits.maxJobIDLength,
            !id.unicodeScalars.contains("\u{0}")
        else {
            throw APIError.notFound("Job not found")
        }
        return id
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}
