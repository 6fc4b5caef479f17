/// One FastAPI-style validation problem: where, what, and a stable type.
public struct ValidationIssue: Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    public var loc: [Location]
    public var msg: String
    public var type: String

    public init(loc: [Location], msg: String, type: String) {
        self.loc = loc
        self.msg = msg
        self.type = type
    }

    /// Builds a location from "body", "query", "path" or "header" and the rest of the path.
    public init(_ root: String, _ rest: [String] = [], msg: String, type: String) {
        self.init(loc: [.key(root)] + rest.map(Location.key), msg: msg, type: type)
    }
}

/// Everything a request can fail with, mapped to HTTP by `ErrorMiddleware`.
/// Each case carries a human sentence; none carries SQL, hosts or stack traces.
public enum APIError: Error, Sendable, Equatable {
    case badRequest(String)
    case unauthorized
    case forbidden(String)
    case notFound(String)
    case methodNotAllowed(allowed: [String])
    case conflict(String)
    case requestTimeout
    case payloadTooLarge
    case unsupportedMediaType
    case tooManyRequests(String)
    case validation([ValidationIssue])
    case unavailable
    /// The database answered, but a statement or lock wait timed out, or a deadlock persisted
    /// through the server's own retries.
    case busy

    public var status: Int {
        switch self {
        case .badRequest: return 400
        case .unauthorized: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .methodNotAllowed: return 405
        case .conflict: return 409
        case .requestTimeout: return 408
        case .payloadTooLarge: return 413
        case .unsupportedMediaType: return 415
        case .tooManyRequests: return 429
        case .validation: return 422
        case .unavailable, .busy: return 503
        }
    }

    /// A stable machine-readable code, sent beside `detail`.
    public var code: String {
        switch self {
        case .badRequest: return "bad_request"
        case .unauthorized: return "unauthorized"
        case .forbidden: return "forbidden"
        case .notFound: return "not_found"
        case .methodNotAllowed: return "method_not_allowed"
        case .conflict: return "conflict"
        case .requestTimeout: return "request_timeout"
        case .payloadTooLarge: return "payload_too_large"
        case .unsupportedMediaType: return "unsupported_media_type"
        case .tooManyRequests: return "too_many_requests"
        case .validation: return "validation_error"
        case .unavailable: return "unavailable"
        case .busy: return "database_busy"
        }
    }

    public var detail: String {
        switch self {
        case .badRequest(let s), .forbidden(let s), .notFound(let s), .conflict(let s), .tooManyRequests(let s): return s
        case .unauthorized: return "Not authenticated"
        case .methodNotAllowed: return "Method Not Allowed"
        case .requestTimeout: return "The request body did not arrive in time"
        case .payloadTooLarge: return "Request body is larger than 1 MiB"
        case .unsupportedMediaType: return "Request body must be JSON (Content-Type: application/json)"
        case .validation: return "Validation error"
        case .unavailable: return "The database is unavailable; retry shortly"
        case .busy: return "The database is busy and the request timed out; retry shortly"
        }
    }

    public static func jobNotFound(_ id: String) -> APIError { .notFound("Job not found") }

    public static func missingPermission(_ permission: Permission) -> APIError {
        .forbidden("Missing required permission: \(permission.rawValue)")
    }

    public static func validation(_ root: String, _ rest: [String], msg: String, type: String) -> APIError {
        .validation([ValidationIssue(root, rest, msg: msg, type: type)])
    }
}
