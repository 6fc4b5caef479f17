import Foundation
public import HTTPTypes
import Hummingbird
public import HummingbirdTesting
import NIOCore
import Testing

// The HTTP helpers both the in-memory (JobsHTTPTests) and the PostgreSQL (IntegrationTests)
// suites call the API with.

/// A parsed JSON response.
public struct APIResponse: Sendable {
    public let status: Int
    public let headers: HTTPFields
    public let text: String

    public init(status: Int, headers: HTTPFields, text: String) {
        self.status = status
        self.headers = headers
        self.text = text
    }

    public var json: Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }
    public var object: [String: Any] { (json as? [String: Any]) ?? [:] }
    public subscript(_ key: String) -> Any? { object[key] }
    public var detail: String? { object["detail"] as? String }
    /// The 422 issues as (loc joined by ".", type).
    public var issues: [(loc: String, type: String)] {
        ((object["detail"] as? [[String: Any]]) ?? []).map { issue in
            (((issue["loc"] as? [Any]) ?? []).map { "\($0)" }.joined(separator: "."), (issue["type"] as? String) ?? "")
        }
    }
    public func hasIssue(_ loc: String, _ type: String? = nil) -> Bool {
        issues.contains { $0.loc == loc && (type == nil || $0.type == type) }
    }
}

extension TestClientProtocol {
    public func call(
        _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], json: String? = nil,
        contentType: String? = "application/json"
    ) async throws -> APIResponse {
        var headers = headers
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(string: json)
            if let contentType { headers[.contentType] = contentType }
        }
        let response = try await execute(uri: uri, method: method, headers: headers, body: body)
        return APIResponse(
            status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    /// Creates a job with an API key and returns its id.
    public func createJob(_ headers: HTTPFields, total: Int = 10, type: String = "import", extra: String = "")
        async throws
        -> String
    {
        let response = try await call(
            .post, "/api/jobs/", headers: headers, json: #"{"job_type": "\#(type)", "total_items": \#(total)\#(extra)}"#
        )
        #expect(response.status == 201, "create failed: \(response.text)")
        return try #require(response["job_id"] as? String)
    }

    public func progress(_ headers: HTTPFields, _ id: String, _ json: String) async throws -> APIResponse {
        try await call(.post, "/api/jobs/\(id)/progress", headers: headers, json: json)
    }
}
