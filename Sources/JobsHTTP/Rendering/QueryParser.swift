import Foundation
import JobsDomain

/// Query-string parameters, decoded as browsers and Starlette do (`+` is a space), and the
/// validation of the list and event-page parameters (`422` with `loc: ["query", name]`).
enum QueryParser {
    static func parameters(_ query: String?) -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let rawKey = parts.first, !rawKey.isEmpty else { return nil }
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(rawKey), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    static func issue(_ name: String, _ msg: String, _ type: String) -> ValidationIssue {
        ValidationIssue("query", [name], msg: msg, type: type)
    }

    static func integer(_ name: String, _ text: String, range: ClosedRange<Int>, into issues: inout [ValidationIssue])
        -> Int?
    {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            issues.append(
                issue(name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing"))
            return nil
        }
        if value < range.lowerBound {
            issues.append(
                issue(name, "Input should be greater than or equal to \(range.lowerBound)", "greater_than_equal"))
            return nil
        }
        if value > range.upperBound {
            issues.append(issue(name, "Input should be less than or equal to \(range.upperBound)", "less_than_equal"))
            return nil
        }
        return value
    }

    static func listFilter(_ query: String?) throws(APIError) -> ListFilter {
        var filter = ListFilter()
        var issues: [ValidationIssue] = []
        for (name, value) in parameters(query) {
            switch name {
            case "status":
                for part in value.split(separator: ",") {
                    let trimmed = part.trimmingCharacters(in: .whitespaces)
                    guard let status = JobStatus(rawValue: trimmed) else {
                        let allowed = JobStatus.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                        issues.append(issue("status", "Input should be one of \(allowed)", "enum"))
                        continue
                    }
                    if !filter.statuses.contains(status) { filter.statuses.append(status) }
                }
                if value.trimmingCharacters(in: .whitespaces).isEmpty {
                    issues.append(issue("status", "Input should be a valid status", "enum"))
                }
            case "job_type":
                if let s = checked(name, value, into: &issues) { filter.jobType = s }
            case "triggered_by":
                if let s = checked(name, value, into: &issues) { filter.triggeredBy = s }
            case "created_after", "created_before":
                guard let date = Timestamp.parse(value) else {
                    issues.append(
                        issue(name, "Input should be a valid RFC 3339 date-time with a time zone", "datetime_parsing"))
                    continue
                }
                if name == "created_after" { filter.createdAfter = date } else { filter.createdBefore = date }
            case "stalled":
                switch value.trimmingCharacters(in: .whitespaces).lowercased() {
                case "true", "1", "yes", "on", "t", "y": filter.stalled = true
                case "false", "0", "no", "off", "f", "n": filter.stalled = false
                default:
                    issues.append(
                        issue("stalled", "Input should be a valid boolean, unable to interpret input", "bool_parsing"))
                }
            case "limit":
                if let limit = integer(name, value, range: 1...200, into: &issues) { filter.limit = limit }
            case "cursor":
                guard let cursor = Cursors.decodeList(value) else {
                    issues.append(issue("cursor", "Value error, invalid cursor", "value_error"))
                    continue
                }
                filter.cursor = cursor
            default:
                continue  // unknown query parameters are ignored, as FastAPI does
            }
        }
        guard issues.isEmpty else { throw .validation(issues) }
        return filter
    }

    static func checked(_ name: String, _ value: String, into issues: inout [ValidationIssue]) -> String? {
        if value.unicodeScalars.contains("\u{0}") {
            issues.append(issue(name, "Value error, strings must not contain the NUL character", "value_error"))
            return nil
        }
        return value
    }

    static func eventPage(_ query: String?, kind: EventKind, jobID: String) throws(APIError) -> (
        limit: Int, afterSeq: Int64
    ) {
        var limit = 100
        var after: Int64 = 0
        var issues: [ValidationIssue] = []
        for (name, value) in parameters(query) {
            switch name {
            case "limit":
                if let l = integer(name, value, range: 1...1000, into: &issues) { limit = l }
            case "cursor":
                guard let seq = Cursors.decodeEvents(value, kind: kind, jobID: jobID) else {
                    issues.append(issue("cursor", "Value error, invalid cursor", "value_error"))
                    continue
                }
                after = seq
            default:
                continue
            }
        }
        guard issues.isEmpty else { throw .validation(issues) }
        return (limit, after)
    }
}
