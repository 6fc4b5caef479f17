import Hummingbird
import JobsDomain
import Logging
import NIOCore
import StrictJSON

/// The second middleware, inside `RequestLogMiddleware` (the outermost): turns every error into
/// the contract's JSON body and status.
///
/// `APIError` maps directly (storage already turned database unavailability and timeouts into
/// `APIError.unavailable` / `.busy`: `503` with `Retry-After`); Hummingbird's own HTTP errors
/// (unknown route, body too large) get the same `{"detail": ...}` shape; anything else is logged
/// and becomes a generic `500` whose body names no SQL, host or stack.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, request: request, logger: context.logger)
        }
    }

    static func response(for error: any Error, request: Request, logger: Logger) -> Response {
        switch error {
        case let error as APIError:
            return JSONResponse.error(error)
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: return JSONResponse.error(.payloadTooLarge)
            case .notFound: return JSONResponse.error(.notFound("Not Found"))
            case .methodNotAllowed: return JSONResponse.error(.methodNotAllowed(allowed: []))
            case .badRequest: return JSONResponse.error(.badRequest("Bad request"))
            default:
                var body = JSONObject()
                body["detail"] = .string(error.status.reasonPhrase)
                body["code"] = .string("http_\(error.status.code)")
                return JSONResponse.make(error.status, .object(body))
            }
        case is NIOTooManyBytesError:
            // Any body read past its limit, whatever the framing (chunked has no Content-Length).
            return JSONResponse.error(.payloadTooLarge)
        default:
            logger.error("unhandled error", metadata: ["error": "\(error)"])
            var body = JSONObject()
            body["detail"] = .string("Internal server error")
            body["code"] = .string("internal_error")
            return JSONResponse.make(.internalServerError, .object(body))
        }
    }
}
