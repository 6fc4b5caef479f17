import JobsDomain

/// The one mapping from domain errors to HTTP: status and the stable `code` sent beside `detail`.
extension APIError {
    var status: Int {
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
        case .unavailable, .busy, .identityProviderUnavailable, .overloaded: return 503
        }
    }

    /// A stable machine-readable code, sent beside `detail`.
    var code: String {
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
        case .identityProviderUnavailable: return "identity_provider_unavailable"
        case .overloaded: return "overloaded"
        }
    }
}
