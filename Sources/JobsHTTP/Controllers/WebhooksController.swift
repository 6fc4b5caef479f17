import Foundation
import HTTPTypes
import Hummingbird
import JobsDomain
import JobsStore
import StrictJSON

/// `/api/webhooks`: the organization's webhook endpoints and their delivery history, for its
/// owners (role `owner`: they decide where the organization's data goes; the contract's
/// permissions stay as they are). The secret appears only in the answers that create or rotate it.
struct WebhooksController: Sendable {
    let store: WebhookStore?
    let requestTimeout: Duration

    var routes: [Route] {
        [
            Route(method: .get, path: "/api/webhooks", permission: nil, handler: list),
            Route(method: .post, path: "/api/webhooks", permission: nil, handler: create),
            Route(method: .get, path: "/api/webhooks/{endpoint_id}", permission: nil, handler: get),
            Route(method: .delete, path: "/api/webhooks/{endpoint_id}", permission: nil, handler: remove),
            Route(
                method: .post, path: "/api/webhooks/{endpoint_id}/rotate-secret", permission: nil,
                handler: rotate),
            Route(method: .post, path: "/api/webhooks/{endpoint_id}/enable", permission: nil, handler: enable),
            Route(
                method: .get, path: "/api/webhooks/{endpoint_id}/deliveries", permission: nil,
                handler: deliveries),
        ]
    }

    func webhooks() throws -> WebhookStore {
        guard let store else { throw APIError.notFound("Webhooks need the PostgreSQL backend") }
        return store
    }

    /// The tenant, when its role is `owner` (else 403).
    static func owner(_ context: AppRequestContext) throws -> TenantContext {
        let tenant = try context.requireTenant()
        guard tenant.role == .owner else { throw APIError.forbidden("Managing webhooks requires the owner role") }
        return tenant
    }

    static func endpointID(_ context: AppRequestContext) throws -> String {
        guard let id = context.parameters.get("endpoint_id"), id.utf8.count <= 64 else {
            throw APIError.notFound("Webhook endpoint not found")
        }
        return id
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try Self.owner(context)
        let endpoints = try await webhooks().list(organization: tenant.organizationID)
        var object = JSONObject()
        object["items"] = .array(endpoints.map(Self.json))
        return JSONResponse.make(.ok, .object(object))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try Self.owner(context)
        let body = try await RequestBodyReader.read(request, required: true, timeout: requestTimeout)!
        let input = try CreateWebhookRequest.parse(body).get()
        let (endpoint, secret) = try await webhooks().add(
            organization: tenant.organizationID, url: input.url, events: input.events)
        return JSONResponse.make(
            .created, Self.json(endpoint, secret: secret),
            headers: [.location: "/api/webhooks/\(endpoint.endpointID)"])
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try Self.owner(context)
        guard
            let endpoint = try await webhooks().endpoint(
                organization: tenant.organizationID, id: Self.endpointID(context))
        else { throw APIError.notFound("Webhook endpoint not found") }
        return JSONResponse.make(.ok, Self.json(endpoint))
    }

    @Sendable func remove(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try Self.owner(context)
        guard try await webhooks().remove(organization: tenant.organizationID, id: Self.endpointID(context)) else {
            throw APIError.notFound("Webhook endpoint not found")
        }
        return Response(status: .noContent)
    }

    @Sendable func rotate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try Self.owner(context)
        guard
            let (endpoint, secret) = try await webhooks().rotateSecret(
                organization: tenant.organizationID, id: Self.endpointID(context))
        else { throw APIError.notFound("Webhook endpoint not found") }
        return JSONResponse.make(.ok, Self.json(endpoint, secret: secret))
    }

    @Sendable func enable(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try Self.owner(context)
        guard
            let endpoint = try await webhooks().enable(
                organization: tenant.organizationID, id: Self.endpointID(context))
        else { throw APIError.notFound("Webhook endpoint not found") }
        return JSONResponse.make(.ok, Self.json(endpoint))
    }

    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try Self.owner(context)
        let id = try Self.endpointID(context)
        var issues: [ValidationIssue] = []
        var limit = 50
        var cursor: String?
        for (name, value) in QueryParser.parameters(request.uri.query) {
            switch name {
            case "limit":
                if let parsed = QueryParser.integer("limit", value, range: 1...100, into: &issues) { limit = parsed }
            case "cursor":
                if value.utf8.count > 64 || value.isEmpty || !value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) {
                    issues.append(QueryParser.issue("cursor", "Invalid cursor", "value_error"))
                } else {
                    cursor = value
                }
            default: continue
            }
        }
        if !issues.isEmpty { throw APIError.validation(issues) }
        guard
            let (items, next) = try await webhooks().deliveries(
                organization: tenant.organizationID, endpoint: id, limit: limit, before: cursor)
        else { throw APIError.notFound("Webhook endpoint not found") }
        return JSONResponse.make(.ok, JobJSON.page(items.map(Self.json), next: next))
    }

    // MARK: JSON

    static func json(_ endpoint: WebhookEndpoint) -> JSONValue { json(endpoint, secret: nil) }

    static func json(_ endpoint: WebhookEndpoint, secret: String?) -> JSONValue {
        var object = JSONObject()
        object["endpoint_id"] = .string(endpoint.endpointID)
        object["url"] = .string(endpoint.url)
        object["events"] = .array(endpoint.events.map(JSONValue.string))
        object["enabled"] = .bool(endpoint.enabled)
        object["failing_since"] = JobJSON.date(endpoint.failingSince)
        object["disabled_at"] = JobJSON.date(endpoint.disabledAt)
        object["disabled_reason"] = JobJSON.string(endpoint.disabledReason)
        object["previous_secret_expires_at"] = JobJSON.date(endpoint.previousSecretExpiresAt)
        object["created_at"] = .string(Timestamp.format(endpoint.createdAt))
        object["updated_at"] = .string(Timestamp.format(endpoint.updatedAt))
        if let secret { object["secret"] = .string(secret) }
        return .object(object)
    }

    static func json(_ delivery: WebhookDelivery) -> JSONValue {
        var object = JSONObject()
        object["message_id"] = .string(delivery.messageID)
        object["event_type"] = .string(delivery.eventType)
        object["job_id"] = JobJSON.string(delivery.jobID)
        object["state"] = .string(delivery.state)
        object["attempts"] = JobJSON.int(Int64(delivery.attempts))
        object["last_status"] = delivery.lastStatus.map { JobJSON.int(Int64($0)) } ?? .null
        object["last_latency_ms"] = delivery.lastLatencyMs.map { JobJSON.int(Int64($0)) } ?? .null
        object["last_error"] = JobJSON.string(delivery.lastError)
        object["created_at"] = .string(Timestamp.format(delivery.createdAt))
        object["last_attempt_at"] = JobJSON.date(delivery.lastAttemptAt)
        object["delivered_at"] = JobJSON.date(delivery.deliveredAt)
        object["next_attempt_at"] =
            delivery.state == "pending" ? .string(Timestamp.format(delivery.nextAttemptAt)) : .null
        return .object(object)
    }
}
