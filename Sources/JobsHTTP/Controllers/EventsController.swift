import Foundation
import HTTPTypes
import Hummingbird
import JobsDomain
import NIOCore
import ServiceLifecycle
import StrictJSON

/// The live routes (server-sent events, `text/event-stream`), with the JSON routes'
/// authentication, tenancy and `job:read` permission:
///
/// - `GET /api/jobs/{job_id}/events`: `event: job` frames carrying exactly what
///   `GET /api/jobs/{id}` returns, the current state first, then one per committed change, each
///   with `id:` = the row's version; the response ends after a terminal state. `Last-Event-ID`
///   equal to the current version sends nothing until the next change (`204` when that version
///   is terminal: the client has seen the end, and `204` stops an `EventSource`); any other
///   value sends the current state first.
/// - `GET /api/jobs/events?status=&job_type=`: `event: ready`, then `event: job` summaries of
///   the organization's changed jobs that match, and `event: resync` when changes may have been
///   missed (reload the list).
///
/// A `: heartbeat` comment every 15 s (`SSE_HEARTBEAT_SECONDS`) keeps proxies from closing idle
/// streams. Frames go out through `LiveHub`.
struct EventsController: Sendable {
    let storage: any JobStorage
    let hub: LiveHub

    var routes: [Route] {
        [
            Route(method: .get, path: "/api/jobs/events", permission: .jobRead, handler: organizationEvents),
            Route(method: .get, path: "/api/jobs/{job_id}/events", permission: .jobRead, handler: jobEvents),
        ]
    }

    /// Tells clients to wait 2 s before reconnecting.
    static let retryFrame = ByteBuffer(string: "retry: 2000\n\n")

    @Sendable func jobEvents(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try JobsController.jobID(context)
        let lastEventID = try Self.lastEventID(request)
        let (subscription, frames) = try hub.subscribe(organization: tenant.organizationID, .job(id))
        let snapshot: JobSnapshot?
        do {
            snapshot = try await storage.snapshot(id, in: tenant.organizationID)
        } catch {
            hub.unsubscribe(subscription)
            throw error
        }
        guard let snapshot else {
            hub.unsubscribe(subscription)
            throw APIError.jobNotFound(id)
        }
        if lastEventID == snapshot.version, snapshot.job.status.isTerminal {
            hub.unsubscribe(subscription)
            return Response(status: .noContent, headers: Self.headers)
        }
        hub.start(subscription, with: snapshot, lastEventID: lastEventID)
        return stream(subscription, frames)
    }

    @Sendable func organizationEvents(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let filter = try QueryParser.listFilter(request.uri.query)
        let resumed = try Self.lastEventID(request) != nil
        var ready = JSONObject()
        ready["organization_id"] = .string(tenant.organizationID)
        var initial = [LiveHub.frame(event: "ready", data: JSONValue.object(ready).compactJSON)]
        if resumed {
            // Summaries are not kept for replay: a client that reconnects reloads its list.
            initial.append(LiveHub.frame(event: "resync", data: #"{"reason":"reconnected"}"#))
        }
        let (subscription, frames) = try hub.subscribe(
            organization: tenant.organizationID, .organization(statuses: Set(filter.statuses), jobType: filter.jobType),
            initial: initial)
        return stream(subscription, frames)
    }

    /// The streaming response: `retry:`, then each frame as it comes; ends after a last frame,
    /// when the hub ends the stream (drain, slow consumer) or when the client goes away.
    func stream(_ subscription: Int, _ frames: AsyncStream<LiveFrame>) -> Response {
        let hub = self.hub
        return Response(
            status: .ok, headers: Self.headers,
            body: ResponseBody { writer in
                defer { hub.unsubscribe(subscription) }
                try await writer.write(Self.retryFrame)
                // The server's graceful shutdown waits for open responses: end this one at once.
                try await withGracefulShutdownHandler {
                    for await case .frame(let buffer, let last) in frames {
                        try await writer.write(buffer)
                        if last { break }
                    }
                } onGracefulShutdown: {
                    hub.unsubscribe(subscription)
                }
                try await writer.finish(nil)
            })
    }

    static let headers: HTTPFields = [
        .contentType: "text/event-stream; charset=utf-8",
        .cacheControl: "no-cache, no-store",
        HTTPField.Name("X-Accel-Buffering")!: "no",
    ]

    /// `Last-Event-ID`: at most 200 printable ASCII characters, sent at most once.
    static func lastEventID(_ request: Request) throws(APIError) -> String? {
        let values = request.headers[values: HTTPField.Name("Last-Event-ID")!]
        guard let value = values.first else { return nil }
        guard values.count == 1, value.utf8.count <= 200, value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw .badRequest("Last-Event-ID must be sent once, as at most 200 printable ASCII characters")
        }
        return value.isEmpty ? nil : value
    }
}
