/// The rows of a result, already copied out of libpq into Swift values.
public struct PGRows: Sendable, Sequence {
    /// Column names in result order.
    public let columns: [String]
    /// Column type OIDs in result order.
    public let types: [UInt32]
    /// The command tag, e.g. `INSERT 0 1` or `COMMIT`.
    public let commandTag: String
    let cells: [[String?]]
    let index: [String: Int]

    init(columns: [String], types: [UInt32], cells: [[String?]], commandTag: String) {
        self.columns = columns
        self.types = types
        self.cells = cells
        self.commandTag = commandTag
        var index = [String: Int](minimumCapacity: columns.count)
        for (i, name) in columns.enumerated() where index[name] == nil { index[name] = i }
        self.index = index
    }

    /// The number of rows.
    public var count: Int { cells.count }
    public var isEmpty: Bool { cells.isEmpty }
    /// The first row, if any.
    public var first: PGRow? { cells.isEmpty ? nil : PGRow(rows: self, row: 0) }

    /// The number of rows the command affected (from the command tag), or 0.
    public var affectedRows: Int {
        guard let last = commandTag.split(separator: " ").last, let n = Int(last) else { return 0 }
        return n
    }

    public subscript(_ row: Int) -> PGRow { PGRow(rows: self, row: row) }

    public func makeIterator() -> AnyIterator<PGRow> {
        var next = 0
        return AnyIterator {
            guard next < self.cells.count else { return nil }
            defer { next += 1 }
            return PGRow(rows: self, row: next)
        }
    }
}

/// One row of a `PGRows`, decoded by column name.
public struct PGRow: Sendable {
    let rows: PGRows
    let row: Int

    private func cell(_ column: String) throws -> (String?, UInt32) {
        guard let i = rows.index[column] else {
            throw PGError(code: .usage, message: "the result has no column named \(column)", column: column)
        }
        return (rows.cells[row][i], rows.types[i])
    }

    /// True when the column is SQL NULL.
    public func isNull(_ column: String) throws -> Bool { try cell(column).0 == nil }

    /// Decodes a non-NULL column; a NULL or an undecodable value throws an error naming the column.
    public func decode<T: PGDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        let (text, oid) = try cell(column)
        guard let text else {
            throw PGError(code: .decoding, message: "column \(column) is NULL, expected \(T.self)", column: column)
        }
        guard let value = T(pgText: text, type: oid) else {
            throw PGError(
                code: .decoding, message: "column \(column) (type oid \(oid)) cannot be decoded as \(T.self)",
                column: column)
        }
        return value
    }

    /// Decodes a column that may be NULL.
    public func decode<T: PGDecodable>(_ column: String, as type: T?.Type) throws -> T? {
        if try cell(column).0 == nil { return nil }
        return try decode(column, as: T.self)
    }
}
