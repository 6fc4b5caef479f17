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

        /// Binds `value` as the next parameter with an explicit type OID.
        public mutating func appendInterpolation(_ value: String?, type: UInt32) {
            binds.append(PGBind(value: value, type: type))
            sql += "$\(binds.count)"
        }

        /// Inserts SQL text verbatim. Only for trusted constants chosen by the code.
        public mutating func appendInterpolation(unsafeRaw text: String) {
            sql += text
        }
    }
}
