/// A small RFC 4180 CSV reader for import workers.
///
/// - Fields are separated by `,` and records by LF, CRLF or CR.
/// - A field that starts with `"` is quoted: it may contain commas, line breaks and doubled
///   quotes (`""` → `"`), and must be followed by a separator, a line break or the end.
/// - A `"` inside an unquoted field is kept as is.
/// - Blank lines (including a trailing line break at the end of the text) are not records.
/// - A UTF-8 byte order mark at the start is ignored.
public enum CSV {
    /// Why a text is not valid CSV. `line` is 1-based.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String

        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }

        public var description: String { "CSV line \(line): \(reason)" }
    }

    /// Splits `text` into records of fields.
    public static func parse(_ text: String) throws(ParseError) -> [[String]] {
        let scalars = Array(text.unicodeScalars)
        var records: [[String]] = []
        var record: [String] = []
        var field = String.UnicodeScalarView()
        var fieldWasQuoted = false  // the current field started with a quote…
        var inQuotes = false  // …and its closing quote has not been seen yet
        var line = 1
        var quoteLine = 1
        var index = scalars.first == "\u{FEFF}" ? 1 : 0

        func endField() {
            record.append(String(field))
            field = String.UnicodeScalarView()
            fieldWasQuoted = false
        }
        func endRecord() {
            // A blank line (nothing at all before its line break) is not a record.
            if record.isEmpty && field.isEmpty && !fieldWasQuoted { return }
            endField()
            records.append(record)
            record = []
        }

        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            if inQuotes {
                if scalar == "\"" {
                    if index < scalars.count, scalars[index] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" || (scalar == "\r" && (index == scalars.count || scalars[index] != "\n")) {
                        line += 1
                    }
                    field.append(scalar)
                }
                continue
            }
            switch scalar {
            case ",":
                endField()
            case "\r", "\n":
                endRecord()
                if scalar == "\r", index < scalars.count, scalars[index] == "\n" { index += 1 }
                line += 1
            case "\"" where field.isEmpty && !fieldWasQuoted:
                fieldWasQuoted = true
                inQuotes = true
                quoteLine = line
            default:
                if fieldWasQuoted {
                    throw ParseError(line: line, reason: "unexpected character after a closing quote")
                }
                field.append(scalar)
            }
        }
        if inQuotes {
            throw ParseError(line: quoteLine, reason: "quoted field is not closed")
        }
        endRecord()
        return records
    }
}

/// A CSV text whose first record is a header row.
public struct CSVTable: Sendable, Equatable {
    /// The header's column names, as written.
    public var header: [String]
    /// The data records (the header excluded); they may be shorter or longer than the header.
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// Parses `text`; an empty text is a table with no columns and no rows.
    public init(parsing text: String) throws(CSV.ParseError) {
        var records = try CSV.parse(text)
        header = records.isEmpty ? [] : records.removeFirst()
        rows = records
    }

    /// The index of the first column whose name equals `name`, ignoring case and surrounding spaces.
    public func columnIndex(_ name: String) -> Int? {
        let wanted = name.trimmingSpaces.lowercased()
        return header.firstIndex { $0.trimmingSpaces.lowercased() == wanted }
    }

    /// The field of `row` in column `column`, or "" when the row is shorter.
    public static func field(_ row: [String], _ column: Int) -> String {
        column < row.count ? row[column] : ""
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
