import Hummingbird
import JobsDomain
import NIOCore
import StrictJSON

/// The one way JSON responses are built: from a `JSONValue` (our serializer: exact numbers,
/// nulls kept) or from JSON text already rendered (recorded responses, fixed bodies, the
/// OpenAPI document).
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ value: JSONValue, headers: HTTPFields = [:]) -> Response {
        text(status, ByteBuffer(string: value.compactJSON), headers: headers)
    }

    /// A response whose body is JSON text already rendered.
    static func text(_ status: HTTPResponse.Status, _ body: ByteBuffer, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// `{"detail": "...", "code": "..."}` or, for 422, `{"detail": [{"loc", "msg", "type"}]}`.
    static func error(_ error: APIError) -> Response {
        var body = JSONObject()
        var headers = HTTPFields()
        switch error {
        case .validation(let issues):
            body["detail"] = .array(issues.map(issueJSON))
        default:
            body["detail"] = .string(error.detail)
            body["code"] = .string(error.code)
        }
        switch error {
        case .unauthorized: headers[.wwwAuthenticate] = "Bearer"
        case .unavailable, .overloaded: headers[.retryAfter] = "5"
        case .busy, .tooManyRequests: headers[.retryAfter] = "1"
        case .identityProviderUnavailable(let seconds): headers[.retryAfter] = String(max(1, seconds))
        case .requestTimeout, .payloadTooLarge: headers[.connection] = "close"
        case .methodNotAllowed(let allowed): headers[.allow] = allowed.joined(separator: ", ")
        default: break
        }
        return make(HTTPResponse.Status(code: error.status), .object(body), headers: headers)
    }

    static func issueJSON(_ issue: ValidationIssue) -> JSONValue {
        var object = JSONObject()
        object["loc"] = .array(
            issue.loc.map {
                switch $0 {
                case .key(let key): return .string(key)
                case .index(let index): return .number(JSONNumber(Int64(index)))
                }
            })
        object["msg"] = .string(issue.msg)
        object["type"] = .string(issue.type)
        return .object(object)
    }
}
