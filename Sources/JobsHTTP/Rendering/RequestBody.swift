import Foundation
import Hummingbird
import JobsDomain
import NIOCore
import StrictJSON

/// Reading a JSON request body within the contract's limits.
enum RequestBodyReader {
    /// Reads at most 1 MiB (`413` past it, without buffering more), requires a JSON
    /// `Content-Type` for a non-empty body (`415`), and parses it strictly (`422 json_invalid`).
    /// An empty body is nil, or a `422` "Field required" when `required`.
    static func read(_ request: Request, required: Bool, timeout: Duration) async throws -> JSONValue? {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Limits.maxBodyBytes {
            throw APIError.payloadTooLarge
        }
        var buffer = try await collect(request.body, timeout: timeout)
        guard buffer.readableBytes > 0 else {
            if required {
                throw APIError.validation([ValidationIssue("body", msg: "Field required", type: "missing")])
            }
            return nil
        }
        guard isJSON(request.headers[.contentType]) else { throw APIError.unsupportedMediaType }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw APIError.validation([
                ValidationIssue(
                    loc: [.key("body"), .index(error.offset)], msg: "JSON decode error: \(error.message)",
                    type: "json_invalid")
            ])
        }
    }

    /// The whole body, or `408` when it has not fully arrived within `timeout` (a client
    /// trickling bytes must not hold a connection and a handler forever).
    static func collect(_ body: RequestBody, timeout: Duration) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await body.collect(upTo: Limits.maxBodyBytes)
                } catch is NIOTooManyBytesError {
                    // A body without Content-Length (chunked) grew past the limit while arriving.
                    throw APIError.payloadTooLarge
                }
            }
            group.addTask {
                await RequestTimer.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else { throw APIError.requestTimeout }
            return buffer
        }
    }

    /// `application/json` or `application/<something>+json`, any parameters.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType =
            contentType.split(separator: ";", maxSplits: 1).first.map {
                $0.trimmingHTTPWhitespace.lowercased()
            } ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }
}
