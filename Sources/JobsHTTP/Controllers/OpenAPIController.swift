public import Foundation
import Hummingbird
import JobsDomain
import NIOCore

/// `GET /openapi.json`: the OpenAPI 3.1 document, `Resources/openapi.json` — the one source of
/// the HTTP contract (a test validates it and compares its paths with the route table and the
/// router).
struct OpenAPIController: Sendable {
    var routes: [Route] {
        [
            Route(method: .get, path: "/openapi.json") { _, _ in
                guard let document = OpenAPIDocument.buffer else {
                    throw APIError.notFound("The OpenAPI document is not installed with this binary")
                }
                return JSONResponse.text(.ok, document)
            }
        ]
    }
}

/// The OpenAPI document, read once. SwiftPM copies `Resources/openapi.json` into the bundle
/// `jobs-api_JobsHTTP.resources` beside the executable (the Docker image copies it too); a run
/// from the source tree (tests) falls back to the file itself. Looked up by hand rather than
/// through `Bundle.module`, whose accessor stops the process when the bundle is missing:
/// `serve` checks `data` at start-up instead and refuses to start without it.
public enum OpenAPIDocument {
    public static let bundleName = "jobs-api_JobsHTTP.resources"

    public static var candidates: [URL] {
        var urls: [URL] = []
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            urls.append(executable.deletingLastPathComponent().appendingPathComponent(bundleName))
        }
        urls.append(Bundle.main.bundleURL.appendingPathComponent(bundleName))
        urls = urls.map { $0.appendingPathComponent("openapi.json") }
        urls.append(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Resources/openapi.json"))
        return urls
    }

    /// The document's bytes, or nil when it cannot be found.
    public static let data: Data? = candidates.lazy.compactMap { try? Data(contentsOf: $0) }.first

    static let buffer: ByteBuffer? = data.map { ByteBuffer(bytes: $0) }
}
