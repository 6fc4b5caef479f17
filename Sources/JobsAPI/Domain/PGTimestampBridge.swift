import Foundation
import LibPQ

/// The wrapper's tolerant timestamp parser, reused for RFC 3339 after `Timestamp` checked the shape.
enum PGTimestampBridge {
    static func parse(_ text: String) -> Date? { PGTimestamp.parse(text) }
}
