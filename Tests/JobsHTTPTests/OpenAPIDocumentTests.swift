import Foundation
import Hummingbird
import HummingbirdTesting
import JobsDomain
import JobsStore
import Logging
import OpenAPIKit
import Testing

@testable import JobsHTTP

/// The OpenAPI document (`Sources/JobsHTTP/Resources/openapi.json`) is the one source of the
/// HTTP contract: it must be a valid OpenAPI 3.1 document, and it must describe exactly the
/// routes the router serves.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static let usualMethods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]

    static func documentedRoutes() throws -> Set<String> {
        let data = try #require(OpenAPIDocument.data)
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        return documented
    }

    @Test func isAValidOpenAPI31Document() throws {
        let document = try JSONDecoder().decode(OpenAPI.Document.self, from: try #require(OpenAPIDocument.data))
        #expect(document.openAPIVersion.rawValue.hasPrefix("3.1"))
        // Structure, references, unique operation ids, responses on every operation.
        try document.validate()
        for route in try Self.documentedRoutes() {
            let parts = route.split(separator: " ")
            let item = try #require(document.paths[OpenAPI.Path(rawValue: String(parts[1]))]?.pathItemValue)
            let operation = try #require(item.for(OpenAPI.HttpMethod(rawValue: String(parts[0]))!), "\(route)")
            #expect(operation.operationId != nil, "\(route) has an operationId")
            #expect(!operation.responses.isEmpty, "\(route) documents its responses")
        }
    }

    /// The built bundle is found (not only the source file), as the installed binary needs.
    @Test func theBundleBesideTheBinaryIsFound() throws {
        let bundled = try #require(OpenAPIDocument.candidates.first)
        #expect(FileManager.default.fileExists(atPath: bundled.path), "\(bundled.path)")
        #expect(try Data(contentsOf: bundled) == OpenAPIDocument.data)
    }

    @Test func describesExactlyTheRouteTable() throws {
        let served = Set(servedRoutes().map { "\($0.method) \($0.path)" })
        #expect(try Self.documentedRoutes() == served)
    }

    /// The router itself, probed: every documented operation reaches a handler (it is neither
    /// an unknown route nor a 405), and every other usual method on a documented path is a 405
    /// that names the documented ones in `Allow`.
    @Test func theRouterServesWhatTheDocumentSays() async throws {
        let documented = try Self.documentedRoutes()
        var methodsByPath: [String: Set<String>] = [:]
        for route in documented {
            let parts = route.split(separator: " ").map(String.init)
            methodsByPath[parts[1], default: []].insert(parts[0])
        }
        let store = MemoryStore()
        store.addAPIKey("jak_probe", keyID: "k", organization: "org_probe", role: .editor)
        let app = buildApplication(
            configuration: AppConfiguration(), backend: .memory(store), expectedMigration: 1,
            logger: Logger(label: "test"))
        let paths = methodsByPath
        try await app.test(.router) { http in
            for (path, methods) in paths {
                var uri = path.replacingOccurrences(of: "{job_id}", with: "job_probe")
                // The organization's event stream never ends: a bad filter (422) shows its handler
                // is reached without opening one.
                if path == "/api/jobs/events" { uri += "?status=bogus" }
                for method in Self.usualMethods {
                    let response = try await http.execute(
                        uri: uri, method: method, headers: [.authorization: "Bearer jak_probe"], body: nil)
                    let body = String(buffer: response.body)
                    if methods.contains(method.rawValue) {
                        #expect(response.status != .methodNotAllowed, "\(method) \(path)")
                        #expect(!body.contains("\"Not Found\""), "\(method) \(path) reached no handler: \(body)")
                    } else {
                        #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                        let allowed = Set(
                            (response.headers[.allow] ?? "").split(separator: ",").map {
                                $0.trimmingCharacters(in: .whitespaces)
                            })
                        #expect(allowed == methods, "\(method) \(path): Allow \(allowed)")
                    }
                }
            }
        }
    }

    /// Every error code the server sends is listed in the document's `ErrorDetail`.
    @Test func everyErrorCodeIsDocumented() throws {
        let data = try #require(OpenAPIDocument.data)
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let errorDetail = try #require(schemas["ErrorDetail"] as? [String: Any])
        let code = try #require((errorDetail["properties"] as? [String: Any])?["code"] as? [String: Any])
        let listed = try #require(code["description"] as? String)
        // One value of every case: a new case fails to compile here until it is added.
        func covered(_ error: APIError) -> Bool {
            switch error {
            case .badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .conflict, .requestTimeout,
                .payloadTooLarge, .unsupportedMediaType, .tooManyRequests, .validation, .unavailable, .busy,
                .identityProviderUnavailable, .overloaded:
                return true
            }
        }
        let all: [APIError] = [
            .badRequest(""), .unauthorized, .forbidden(""), .notFound(""), .methodNotAllowed(allowed: []),
            .conflict(""), .requestTimeout, .payloadTooLarge, .unsupportedMediaType, .tooManyRequests(""),
            .unavailable, .busy, .identityProviderUnavailable(retryAfter: 2), .overloaded(""),
        ]
        for error in all where covered(error) {
            #expect(listed.contains("`\(error.code)`"), "\(error.code) is not in ErrorDetail.code")
        }
        #expect(listed.contains("`internal_error`"))
    }
}
