import Foundation
import Hummingbird
import NIOCore

/// The `/api/jobs` routes of spec §3–§4.
///
/// Each handler runs after `TenantMiddleware` (so the tenant is known), checks its permission,
/// then reads and validates the body, then touches the database — the contract's order:
/// 401 → 400/403 → 403 permission → body checks → 404 → 409.
public struct JobsController: Sendable {
    let repository: JobRepository

    public init(repository: JobRepository) {
        self.repository = repository
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
        let body = try await RequestBody.read(request, required: true)!
        let input = try CreateJobRequest.parse(body).get()
        let triggeredBy: String? =
            switch input.triggeredBy {
            case .none: tenant.userID
            case .some(let explicit): explicit
            }
        let now = Date()
        let job = Job(
            organizationID: tenant.organizationID, jobID: JobID.generate(now: now), jobType: input.jobType,
            totalItems: input.totalItems, metadata: input.metadata.jsonbOrdered, triggeredBy: triggeredBy, now: now)
        try await repository.create(job)
        var headers = HTTPFields()
        headers[.location] = "/api/jobs/\(job.jobID)"
        return JSONResponse.make(.created, JobJSON.job(job, events: [], now: now), headers: headers)
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
        let body = try await RequestBody.read(request, required: true)!
        let input = try ProgressRequest.parse(body).get()
        let id = try Self.jobID(context)
        let now = Date()
        let limits = repository.limits
        guard
            let (job, events) = try await repository.update(
                id, in: tenant.organizationID,
                { job in try ProgressRules.apply(input, to: &job, now: now, limits: limits) })
        else { throw APIError.jobNotFound(id) }
        return JSONResponse.make(.ok, JobJSON.job(job, events: events, now: Date()))
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobCancel)
        let body = try await RequestBody.read(request, required: false)
        let input = try CancelRequest.parse(body).get()
        let id = try Self.jobID(context)
        let now = Date()
        guard
            let (job, events) = try await repository.update(
                id, in: tenant.organizationID,
                { job in
                    try ProgressRules.cancel(input, job: &job, now: now)
                    return []
                })
        else { throw APIError.jobNotFound(id) }
        return JSONResponse.make(.ok, JobJSON.job(job, events: events, now: Date()))
    }

    func events(_ request: Request, _ context: AppRequestContext, kind: EventKind) async throws -> Response {
        let tenant = try context.requireTenant()
        try tenant.require(.jobRead)
        let (limit, after) = try QueryParser.eventPage(request.uri.query)
        let id = try Self.jobID(context)
        guard
            let (events, next) = try await repository.events(
                of: id, kind: kind, in: tenant.organizationID, limit: limit, afterSeq: after)
        else { throw APIError.jobNotFound(id) }
        return JSONResponse.make(
            .ok, JobJSON.page(events.map(JobJSON.event), next: next.map { Cursors.encodeEvents(afterSeq: $0) }))
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
