import Foundation
import HTTPTypes
import Hummingbird
import JobsDomain
import Logging

/// Outermost middleware: one structured log line per request, and the request id.
///
/// Expects nothing before it. Honours a sane `X-Request-ID` (1–128 of `A-Z a-z 0-9 . _ - :`)
/// or generates one, echoes it on the response, and puts it in the context's logger. Logs the
/// method, the route template (never the raw path: ids stay out of logs and metrics labels),
/// status, duration and organization — never a token. An error that reaches it becomes a
/// response through `ErrorMiddleware.response(for:request:logger:)`, so every request is logged
/// with a status; normally none does, because `ErrorMiddleware`, inside it, has already turned
/// errors into responses.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let logger: Logger
    let metrics: AppMetrics?
    let drain: DrainState?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        let id = Self.requestID(request.headers[.requestID])
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = ErrorMiddleware<Context>.response(for: error, request: request, logger: context.logger)
        }
        response.headers[.requestID] = id
        // While draining, the server closes each connection after its response: say so, so a
        // keep-alive client opens a new connection (to another instance) instead of writing
        // its next request into a closing socket.
        if drain?.isDraining == true { response.headers[.connection] = "close" }
        let elapsed = ContinuousClock.now - started
        let seconds = elapsed.inSeconds
        let route = context.endpointPath ?? "unmatched"
        if logger.logLevel <= .info {
            var metadata: Logger.Metadata = [
                "request_id": .string(id), "method": .string(request.method.rawValue), "route": .string(route),
                "status": .stringConvertible(Int(response.status.code)),
                "duration_ms": .stringConvertible((seconds * 100_000).rounded() / 100),
            ]
            if let org = context.info.organizationID { metadata["organization_id"] = .string(org) }
            logger.info("request", metadata: metadata)
        }
        metrics?.record(
            method: request.method.rawValue, route: route, status: Int(response.status.code), seconds: seconds)
        return response
    }

    static func requestID(_ header: String?) -> String {
        if let header, !header.isEmpty, header.utf8.count <= 128,
            header.utf8.allSatisfy({ c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                    || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                    || c == UInt8(ascii: ":")
            })
        {
            return header
        }
        return UUID().uuidString.lowercased()
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
}
