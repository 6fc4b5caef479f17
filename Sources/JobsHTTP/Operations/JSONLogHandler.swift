import Foundation
import JobsDomain
public import Logging
import StrictJSON

/// One JSON object per line on stdout: `{"ts":..., "level":..., "label":..., "msg":..., ...metadata}`.
/// Used when `LOG_FORMAT=json`, or when `LOG_FORMAT` is unset and stdout is not a terminal.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String

    private static let lock = NSLock()

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object = JSONObject()
        object["ts"] = .string(Timestamp.format(Date()))
        object["level"] = .string(event.level.rawValue)
        object["label"] = .string(label)
        object["msg"] = .string("\(event.message)")
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where object[key] == nil {
            object[key] = Self.json(value)
        }
        var line = JSONValue.object(object).compactJSONBytes
        line.append(UInt8(ascii: "\n"))
        Self.lock.lock()
        defer { Self.lock.unlock() }
        line.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c):
            if let n = c as? Int { return .number(JSONNumber(n)) }
            if let d = c as? Double { return .number(JSONNumber(d)) }
            return .string(c.description)
        case .array(let items): return .array(items.map(json))
        case .dictionary(let dict):
            return .object(JSONObject(dict.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }

    /// True when `LOG_FORMAT` asks for JSON, or is unset and stdout is not a terminal.
    public static func wantsJSON(format: String?) -> Bool {
        switch format?.lowercased() {
        case "json": return true
        case "text": return false
        default: return isatty(STDOUT_FILENO) == 0
        }
    }
}
