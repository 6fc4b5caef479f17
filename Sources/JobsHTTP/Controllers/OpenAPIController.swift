import Foundation
import Hummingbird
import NIOCore

/// `GET /openapi.json`: the OpenAPI 3.1 document, `Resources/openapi.json` — the one source of
/// the HTTP contract (a test validates it and compares its paths with the route table).
struct OpenAPIController: Sendable {
    /// The document's bytes, read once from the module's resources.
    static let document: ByteBuffer = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { fatalError("openapi.json is missing from the JobsHTTP resources") }
        return ByteBuffer(bytes: data)
    }()

    var routes: [Route] {
        [
            Route(method: .get, path: "/openapi.json") { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: Self.document))
            }
        ]
    }
}

/// The OpenAPI document as served (for tests and tools).
public enum OpenAPIDocument {
    public static var data: Data { Data(OpenAPIController.document.readableBytesView) }
}
