import Foundation
import HTTPTypes
import Hummingbird
import JobsDomain
import NIOCore
import StrictJSON

/// The `/api/jobs` routes of spec §3–§4.
///
/// Each handler runs after `TenantMiddleware` (so the tenant is known) and after the route
/// table checked its permission; it reads and validates the body, then asks storage — the
/// contract's order: 401 → 400/403 → 403 permission → body checks → 404 → 409.
struct JobsController: Sendable {
    let storage: any JobStorage
    let limits: Limits
    let requestTimeout: Duration
    let metrics: AppMetrics?
    /// The server's `STALL_AFTER` (jobs without their own `stall_after`).
    let stallAfter: Duration

    init(
        storage: any JobStorage, limits: Limits, requestTimeout: Duration = .seconds(30), metrics: AppMetrics? = nil,
        stallAfter: Duration = AppConfiguration.defaultStallAfter
    ) {
        self.storage = storage
        self.limits = limits
        self.requestTimeout = requestTimeout
        self.metrics = metrics
        self.stallAfter = stallAfter
    }

    /// The rows of the route table this controller serves (paths as the OpenAPI document writes them).
    var routes: [Route] {
        [
            Route(method: .post, path: "/api/jobs/", permission: .jobCreate, handler: create),
            Route(method: .get, path: "/api/jobs/", permission: .jobRead, handler: list),
            Route(method: .get, path: "/api/jobs/{job_id}", permission: .jobRead, handler: get),
            Route(method: .get, path: "/api/jobs/{job_id}/status", permission: .jobRead, handler: status),
            Route(method: .post, path: "/api/jobs/{job_id}/progress", permission: .jobCreate, handler: progress),
            Route(method: .post, path: "/api/jobs/{job_id}/cancel", permission: .jobCancel, handler: cancel),
            Route(method: .get, path: "/api/jobs/{job_id}/errors", permission: .jobRead) {
                try await events($0, $1, kind: .error)
            },
            Route(method: .get, path: "/api/jobs/{job_id}/warnings", permission: .jobRead) {
                try await events($0, $1, kind: .warning)
            },
        ]
    }

    // MARK: Handlers

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let key = try Self.idempotencyKey(request)
        let body = try await RequestBodyReader.read(request, required: true, timeout: requestTimeout)!
        let input = try CreateJobRequest.parse(body).get()
        let triggeredBy: String? =
            switch input.triggeredBy {
            case .none: tenant.userID
            case .some(let explicit): explicit
            }
        let organization = tenant.organizationID
        let stallAfter = self.stallAfter
        let outcome = try await storage.create(
            organization: organization,
            guarded: Idempotency.guardOf(key: key, method: request.method.rawValue, path: request.uri.path, body: body)
        ) {
            let now = Date()
            var job = Job(
                organizationID: organization, jobID: JobID.generate(now: now), jobType: input.jobType,
                totalItems: input.totalItems, metadata: input.metadata.jsonbOrdered, triggeredBy: triggeredBy, now: now)
            job.stallAfterSeconds = input.stallAfterSeconds
            return (
                job,
                RecordedResponse(
                    status: 201, body: JobJSON.job(job, events: [], now: now, stallAfter: stallAfter).compactJSON,
                    location: "/api/jobs/\(job.jobID)")
            )
        }
        if !outcome.replayed { metrics?.jobCreated() }
        return respond(outcome.response, replayed: outcome.replayed)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        var filter = try QueryParser.listFilter(request.uri.query)
        filter.defaultStallAfter = stallAfter
        let (jobs, next) = try await storage.list(filter, in: tenant.organizationID)
        let now = Date()
        return JSONResponse.make(
            .ok,
            JobJSON.page(
                jobs.map { JobJSON.job($0, events: nil, now: now, stallAfter: stallAfter) },
                next: next.map(Cursors.encode)))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try Self.jobID(context)
        guard let (job, events) = try await storage.job(id, in: tenant.organizationID) else {
            throw APIError.jobNotFound(id)
        }
        return JSONResponse.make(.ok, JobJSON.job(job, events: events, now: Date(), stallAfter: stallAfter))
    }

    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try Self.jobID(context)
        guard let job = try await storage.jobRow(id, in: tenant.organizationID) else { throw APIError.jobNotFound(id) }
        return JSONResponse.make(.ok, JobJSON.status(job, now: Date(), stallAfter: stallAfter))
    }

    @Sendable func progress(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let key = try Self.idempotencyKey(request)
        let body = try await RequestBodyReader.read(request, required: true, timeout: requestTimeout)!
        let input = try ProgressRequest.parse(body).get()
        let id = try Self.jobID(context)
        let limits = self.limits
        let response = try await write(request, tenant: tenant, jobID: id, key: key, body: body) {
            job, now throws(APIError) in
            try ProgressRules.apply(input, to: &job, now: now, limits: limits)
        }
        metrics?.progressApplied()
        return response
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let key = try Self.idempotencyKey(request)
        let body = try await RequestBodyReader.read(request, required: false, timeout: requestTimeout)
        let input = try CancelRequest.parse(body).get()
        let id = try Self.jobID(context)
        return try await write(request, tenant: tenant, jobID: id, key: key, body: body) { job, now throws(APIError) in
            try ProgressRules.cancel(input, job: &job, now: now)
            return []
        }
    }

    /// A change to one job (under its row lock), recorded or replayed under the request's
    /// `Idempotency-Key`.
    func write(
        _ request: Request, tenant: TenantContext, jobID: String, key: String?, body: JSONValue?,
        _ apply: @escaping @Sendable (inout Job, Date) throws(APIError) -> [JobEvent]
    ) async throws -> Response {
        let guarded = Idempotency.guardOf(key: key, method: request.method.rawValue, path: request.uri.path, body: body)
        let stallAfter = self.stallAfter
        let outcome = try await storage.write(
            organization: tenant.organizationID, jobID: jobID,
            JobChange(guarded: guarded, apply: apply) { job, recent, now in
                RecordedResponse(
                    status: 200,
                    body: JobJSON.job(job, events: recent, now: now, stallAfter: stallAfter).compactJSON)
            })
        if let ended = outcome.endedWith { metrics?.jobEnded(ended) }
        return respond(outcome.response, replayed: outcome.replayed)
    }

    func respond(_ stored: RecordedResponse, replayed: Bool) -> Response {
        var headers = HTTPFields()
        if replayed {
            headers[.idempotentReplayed] = "true"
            metrics?.idempotentReplay()
        }
        if let location = stored.location { headers[.location] = location }
        return JSONResponse.text(
            HTTPResponse.Status(code: stored.status), ByteBuffer(string: stored.body), headers: headers)
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        let values = request.headers[values: .idempotencyKey]
        if values.count > 1 {
            throw APIError.validation([
                ValidationIssue(
                    "header", ["Idempotency-Key"], msg: "Value error, send Idempotency-Key once", type: "value_error")
            ])
        }
        return try Idempotency.validateKey(values.first)
    }

    func events(_ request: Request, _ context: AppRequestContext, kind: EventKind) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try Self.jobID(context)
        let (limit, after) = try QueryParser.eventPage(request.uri.query, kind: kind, jobID: id)
        guard
            let (events, next) = try await storage.events(
                of: id, kind: kind, in: tenant.organizationID, limit: limit, afterSeq: after)
        else { throw APIError.jobNotFound(id) }
        return JSONResponse.make(
            .ok,
            JobJSON.page(
                events.map(JobJSON.event), next: next.map { Cursors.encodeEvents(afterSeq: $0, kind: kind, jobID: id) })
        )
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
