import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1

/// One server-sent event (or a comment line, `comment` set).
public struct SSEEvent: Sendable, Equatable {
    public var event: String?
    public var id: String?
    public var data: String
    public var comment: String?

    /// `data` parsed as a JSON object.
    public var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
    }
}

/// A live `text/event-stream` response read as it arrives, over a real socket: a background task
/// parses frames into an inbox that `next(timeout:)` takes from.
public final class SSEStream: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    /// The whole body when the status is not 200.
    public let errorBody: String
    let inbox: Inbox
    let reader: Task<Void, Never>?

    actor Inbox {
        var events: [SSEEvent] = []
        var ended = false
        var raw = ""
        func push(_ event: SSEEvent) { events.append(event) }
        func end() { ended = true }
        func take(comments: Bool) -> (SSEEvent?, Bool) {
            while !events.isEmpty {
                let first = events.removeFirst()
                if first.comment == nil || comments { return (first, false) }
            }
            return (nil, ended)
        }
    }

    /// Opens `GET url` with `headers`.
    public static func open(_ url: String, headers: [String: String]) async throws -> SSEStream {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let inbox = Inbox()
        let pairs = response.headers.map { ($0.name, $0.value) }
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            return SSEStream(
                status: Int(response.status.code), headers: pairs, errorBody: String(buffer: body), inbox: inbox,
                reader: nil)
        }
        let reader = Task {
            var pending = ""
            do {
                for try await chunk in response.body {
                    pending += String(buffer: chunk)
                    while let range = pending.range(of: "\n\n") {
                        let block = String(pending[..<range.lowerBound])
                        pending = String(pending[range.upperBound...])
                        if let event = Self.parse(block) { await inbox.push(event) }
                    }
                }
            } catch {}
            await inbox.end()
        }
        return SSEStream(status: 200, headers: pairs, errorBody: "", inbox: inbox, reader: reader)
    }

    init(status: Int, headers: [(String, String)], errorBody: String, inbox: Inbox, reader: Task<Void, Never>?) {
        self.status = status
        self.headers = headers
        self.errorBody = errorBody
        self.inbox = inbox
        self.reader = reader
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    static func parse(_ block: String) -> SSEEvent? {
        var event = SSEEvent(event: nil, id: nil, data: "", comment: nil)
        var dataLines: [String] = []
        var any = false
        for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix(":") {
                event.comment = String(line.dropFirst()).trimmingCharacters(in: .whitespaces)
                any = true
                continue
            }
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            var value = parts.count > 1 ? String(parts[1]) : ""
            if value.hasPrefix(" ") { value.removeFirst() }
            switch name {
            case "event": event.event = value
            case "id": event.id = value
            case "data": dataLines.append(value)
            default: break  // retry: and unknown fields
            }
            any = true
        }
        event.data = dataLines.joined(separator: "\n")
        guard any, event.event != nil || !dataLines.isEmpty || event.comment != nil || event.id != nil else {
            return nil
        }
        return event
    }

    /// The next event (comments skipped unless `comments`), nil when the stream ended; throws
    /// `SSETimeout` when nothing came within `timeout`.
    public func next(timeout: Duration = .seconds(10), comments: Bool = false) async throws -> SSEEvent? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (event, ended) = await inbox.take(comments: comments)
            if let event { return event }
            if ended { return nil }
            if ContinuousClock.now >= deadline { throw SSETimeout() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Whether nothing (but comments) arrives for `duration`.
    public func staysQuiet(for duration: Duration) async throws -> Bool {
        do {
            _ = try await next(timeout: duration)
            return false
        } catch is SSETimeout {
            return true
        }
    }

    /// Stops reading (the connection closes).
    public func close() { reader?.cancel() }
}

public struct SSETimeout: Error {}
