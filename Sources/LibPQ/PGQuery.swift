/// A SQL statement and its bound parameters.
///
/// Built by string interpolation: every interpolated value becomes a `$n` parameter, so input
/// can never change the statement's text. Only the loudly named `\(unsafeRaw:)` inserts text,
/// and it is meant for trusted constants (identifiers chosen by the code, never by input).
///
/// ```swift
/// let q: PGQuery = "SELECT * FROM jobs WHERE organization_id = \(org) AND job_id = \(id)"
/// ```
public struct PGQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The statement text with `$1`, `$2`, ... placeholders.
    public var sql: String
    /// The parameters, in placeholder order.
    public var binds: [PGBind]
    /// An optional name for logs and metrics (never the values).
    public var name: String?

    public init(sql: String, binds: [PGBind] = [], name: String? = nil) {
        self.sql = sql
        self.binds = binds
        self.name = name
    }

    public init(stringLiteral value: String) {
        self.init(sql: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(sql: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    /// Appends `fragment`, renumbering its placeholders after this query's own, so statements
    /// compose from pieces without anyone counting `$n` by hand:
    ///
    /// ```swift
    /// var q: PGQuery = "SELECT * FROM jobs WHERE organization_id = \(org)"
    /// if let type { q.append(" AND job_type = \(type)") }   // its $1 becomes $2
    /// ```
    public mutating func append(_ fragment: PGQuery) {
        sql += Self.renumbered(fragment.sql, by: binds.count)
        binds += fragment.binds
    }

    /// `lhs` followed by `rhs` (see `append`).
    public static func + (lhs: PGQuery, rhs: PGQuery) -> PGQuery {
        var query = lhs
        query.append(rhs)
        return query
    }

    /// Shifts every `$n` placeholder of `sql` by `offset`. Text inside single quotes, double
    /// quotes and comments is left alone (a placeholder never appears there).
    static func renumbered(_ sql: String, by offset: Int) -> String {
        guard offset > 0, sql.contains("$") else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var quote: Character?
        var index = sql.startIndex
        while index < sql.endIndex {
            let c = sql[index]
            if let open = quote {
                out.append(c)
                if c == open { quote = nil }
                index = sql.index(after: index)
                continue
            }
            if c == "'" || c == "\"" {
                quote = c
                out.append(c)
                index = sql.index(after: index)
                continue
            }
            if c == "$" {
                var end = sql.index(after: index)
                while end < sql.endIndex, sql[end].isASCII, sql[end].isNumber { end = sql.index(after: end) }
                if end > sql.index(after: index), let n = Int(sql[sql.index(after: index)..<end]) {
                    out += "$\(n + offset)"
                    index = end
                    continue
                }
            }
            out.append(c)
            index = sql.index(after: index)
        }
        return out
    }

    /// The statement text only: bind values are never part of a description.
    public var description: String { name ?? sql }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [PGBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds `value` as the next parameter.
        public mutating func appendInterpolation<T: PGEncodable>(_ value: T) {
            binds.append(value.pgBind)
            sql += "$\(binds.count)"
        }

        /// Binds an optional value (nil becomes SQL NULL).
        public mutating func appendInterpolation<T: PGEncodable>(_ value: T?) {
            binds.append(value.pgBind)
            sql += "$\(binds.count)"
        }

        /// Inserts SQL text verbatim. Only for trusted constants chosen by the code.
        public mutating func appendInterpolation(unsafeRaw text: String) {
            sql += text
        }
    }
}
