/// An error from the LibPQ wrapper.
///
/// `description` names the kind of failure, the SQLSTATE, the server's primary message and any
/// constraint or column. It never includes connection passwords, but the server's message may
/// quote a bind value (for `22P02` it quotes the rejected input): log it only where input may
/// appear, and never send it to a client.
public struct PGError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, broadly.
    public enum Code: String, Sendable {
        /// The connection could not be made or was lost.
        case connection
        /// The server answered a statement with an error (see `sqlState`).
        case server
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// No connection became free within the pool's acquire timeout.
        case poolTimeout
        /// The pool was shut down.
        case poolClosed
        /// The operation was cancelled: task cancellation, `PQcancel`, or any server cancel with
        /// SQLSTATE `57014` (including `statement_timeout`).
        case cancelled
        /// The wrapper was used in a way it does not support (e.g. an unknown column name).
        case usage
        /// A migration problem (edited file, missing directory, ...).
        case migration
    }

    public var code: Code
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: SQLState?
    /// The server's primary message, or a description of the client-side failure.
    public var message: String
    /// The server's DETAIL field, if any.
    public var detail: String?
    /// The server's HINT field, if any.
    public var hint: String?
    /// The name of the violated constraint, if any.
    public var constraint: String?
    /// The column being decoded, for `.decoding` errors.
    public var column: String?

    public init(
        code: Code, sqlState: SQLState? = nil, message: String, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, column: String? = nil
    ) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.column = column
    }

    public var description: String {
        var text = "PGError.\(code.rawValue)"
        if let sqlState { text += " [\(sqlState.rawValue)]" }
        text += ": \(message)"
        if let constraint { text += " (constraint \(constraint))" }
        if let column { text += " (column \(column))" }
        return text
    }

    /// True when the failure says the server or the link to it is gone or full, i.e. a retry
    /// later may succeed: connection errors, pool timeouts, a closed pool, SQLSTATE class 08,
    /// `57P01`–`57P03` and `53300` (too many connections).
    public var isUnavailable: Bool {
        switch code {
        case .connection, .poolTimeout, .poolClosed: return true
        case .server:
            guard let state = sqlState?.rawValue else { return false }
            return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
                || state == "53300"
        default: return false
        }
    }
}

extension PGError {
    /// True when the transaction lost a race that running it again can win: a deadlock
    /// (`40P01`) or a serialization failure (`40001`). The whole transaction was rolled back.
    public var isRetryableConflict: Bool {
        sqlState == .deadlockDetected || sqlState == .serializationFailure
    }

    /// True when a statement gave up waiting: `statement_timeout` or a cancel (`57014`), or
    /// `lock_timeout` (`55P03`). The database is busy; a later retry may succeed.
    public var isTimeout: Bool {
        sqlState == .queryCanceled || sqlState == .lockNotAvailable
    }
}

/// A PostgreSQL SQLSTATE code, e.g. `23505` for a unique violation.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let duplicateObject = SQLState(rawValue: "42710")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let insufficientPrivilege = SQLState(rawValue: "42501")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let syntaxError = SQLState(rawValue: "42601")
    public static let queryCanceled = SQLState(rawValue: "57014")
    public static let adminShutdown = SQLState(rawValue: "57P01")
    public static let raiseException = SQLState(rawValue: "P0001")
    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let lockNotAvailable = SQLState(rawValue: "55P03")
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    public static let numericValueOutOfRange = SQLState(rawValue: "22003")
    public static let characterNotInRepertoire = SQLState(rawValue: "22021")
    public static let untranslatableCharacter = SQLState(rawValue: "22P05")
}
