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

/// Everything a request can fail with, as the domain names it. `JobsHTTP` maps each case to a
/// status and a stable code (`APIError+HTTP.swift`), in one place.
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
    /// The identity provider (Stytch) could not confirm a session: unreachable, too slow,
    /// rate-limiting or failing. Fails closed: `503` with `Retry-After`, never anonymous.
    case identityProviderUnavailable(retryAfter: Int)
    /// This instance holds as many live streams as it may, or is shutting down (`503`).
    case overloaded(String)

    public var detail: String {
        switch self {
        case .badRequest(let s), .forbidden(let s), .notFound(let s), .conflict(let s), .tooManyRequests(let s),
            .overloaded(let s):
            return s
        case .unauthorized: return "Not authenticated"
        case .methodNotAllowed: return "Method Not Allowed"
        case .requestTimeout: return "The request body did not arrive in time"
        case .payloadTooLarge: return "Request body is larger than 1 MiB"
        case .unsupportedMediaType: return "Request body must be JSON (Content-Type: application/json)"
        case .validation: return "Validation error"
        case .unavailable: return "The database is unavailable; retry shortly"
        case .busy: return "The database is busy and the request timed out; retry shortly"
        case .identityProviderUnavailable:
            return "Your sign-in could not be checked: the identity provider is unavailable; retry shortly"
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
