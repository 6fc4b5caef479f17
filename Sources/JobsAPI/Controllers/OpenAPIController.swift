import Hummingbird
import NIOCore

/// `GET /openapi.json`.
struct OpenAPIController {
    static let routes: [(method: HTTPRequest.Method, path: String)] = [(.get, "/openapi.json")]

    func addRoutes(to router: Router<AppRequestContext>) {
        let body = ByteBuffer(string: OpenAPIDocument.json)
        router.get("openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
        }
    }
}
