internal import CLibPQ
import Foundation
import NIOConcurrencyHelpers
import NIOPosix

/// One libpq connection, in libpq's non-blocking mode once connected.
///
/// - `pipeline`, `script` and `trimStatements` are async: they send from the calling thread
///   without blocking and suspend while the `PGReactor` collects the results.
/// - `init`, `execute` (used while connecting, before the connection turns non-blocking),
///   `executeScript` and `encryptPassword` block and must run on a thread that may block (the
///   client's small thread pool). `cancel`, the lease bookkeeping and the status checks
///   (`isConnected`, `transactionState`, `looksAlive`) do not block.
///
/// Safety (`@unchecked Sendable`): a connection is used by one lease holder at a time, and each
/// call into it runs either on the holder's thread or, while the holder is suspended, on the
/// reactor thread (handed over and back under the reactor's lock and a continuation), so libpq
/// never sees two threads on one `PGconn` at once. `cancel` uses a separate `PGcancel` object,
/// which libpq documents as safe to use from another thread.
final class PGConnection: @unchecked Sendable {
    /// The libpq handle; the reactor drives it while a task waits (see the type's Safety note).
    let conn: OpaquePointer
    private let cancelHandle: OpaquePointer?
    /// Named prepared statements of this session, by SQL text: name and last use (a tick).
    private var statements: [String: (name: String, lastUse: Int)] = [:]
    private var statementTick = 0
    private var nextStatementNumber = 0
    private let maxStatements: Int
    private let cancelDelay: Duration?
    private let unnamedOnly: Bool
    let id: Int

    private static let counter = Counter()

    /// Connects; throws `.connection` with libpq's message (password scrubbed).
    init(configuration: PGConfiguration) throws {
        var keys: [String] = ["fallback_application_name", "client_encoding", "connect_timeout"]
        var values: [String] = [
            configuration.applicationName, "UTF8", String(configuration.connectTimeoutSeconds),
        ]
        if let url = configuration.connectionString {
            keys.insert("dbname", at: 0)
            values.insert(url, at: 0)
        }
        let secrets = PGConnection.secrets(in: configuration.connectionString)
        let handle: OpaquePointer? = withCStringArray(keys) { keyPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keyPointers, valuePointers, 1)
            }
        }
        guard let handle else {
            throw PGError(code: .connection, message: "out of memory while connecting")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = PGConnection.scrub(String(cString: PQerrorMessage(handle)), secrets: secrets)
            PQfinish(handle)
            throw PGError(code: .connection, message: "cannot connect to PostgreSQL: \(message)")
        }
        // Server NOTICEs (e.g. "already exists, skipping") would go to stderr; drop them.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        conn = handle
        cancelHandle = PQgetCancel(handle)
        unnamedOnly = configuration.unnamedStatementsOnly
        maxStatements = configuration.maxPreparedStatements
        cancelDelay = configuration.cancelDelayForTesting
        id = PGConnection.counter.next()
        // Timestamps come back in ISO style so `PGTimestamp.parse` can read them.
        _ = try? executeScript("SET DateStyle TO ISO")
        var settings = configuration.sessionSettings
        if let role = configuration.role, !role.isEmpty { settings.insert(("role", role), at: 0) }
        if !settings.isEmpty {
            // One round trip; names and values are both bound. On failure `deinit` closes the
            // handle: every stored property is set by now.
            let calls = settings.indices.map { "set_config($\($0 * 2 + 1), $\($0 * 2 + 2), false)" }
            _ = try execute(
                PGQuery(
                    sql: "SELECT " + calls.joined(separator: ", "),
                    binds: settings.flatMap { [$0.name.pgBind, $0.value.pgBind] }))
        }
        // From here on statements are sent without blocking and the reactor waits for results.
        guard PQsetnonblocking(conn, 1) == 0 else { throw lastError(prefix: "cannot make the connection non-blocking") }
    }

    /// Opens a connection on `threads` (connecting blocks): the one way the pool and
    /// `PGListener` connect, so both get the same connection string, role and session settings.
    static func open(configuration: PGConfiguration, on threads: NIOThreadPool) async throws -> PGConnection {
        try await threads.runBlocking { try PGConnection(configuration: configuration) }
    }

    deinit {
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        PQfinish(conn)
    }

    /// True when libpq considers the connection usable and nothing marked it broken.
    var isConnected: Bool { !isBroken && libpqConnected }

    /// libpq's own view of the connection (no lock; for the reactor's result collection).
    var libpqConnected: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Set when the connection failed in a way libpq may not have noticed yet (a hang-up seen
    /// by epoll, a pipeline left in an unknown state). The pool then drops it.
    private var broken = false

    var isBroken: Bool { leaseLock.withLock { broken } }

    /// Marks the connection as not reusable (any thread).
    func markBroken() { leaseLock.withLock { broken = true } }

    /// The transaction state, as libpq reports it.
    enum TransactionState { case idle, active, inTransaction, failed, unknown }

    var transactionState: TransactionState {
        switch PQtransactionStatus(conn) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_ACTIVE: return .active
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .failed
        default: return .unknown
        }
    }

    /// Non-blocking check of an idle pooled connection. An idle connection has nothing to say
    /// (pool connections never LISTEN), so a readable socket means the server sent a termination
    /// notice or closed it (restart, `pg_terminate_backend`): treat it as dead and replace it.
    func looksAlive() -> Bool {
        guard isConnected else { return false }
        let socket = PQsocket(conn)
        guard socket >= 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    // MARK: Leases and cancellation
    //
    // A cancel request travels on its own socket and the server acts on it whenever it arrives:
    // if the statement it was meant for has already finished, it interrupts whatever this
    // session runs next. So a cancel is tied to one lease, and a connection that had a cancel
    // sent during its lease is never reused: the pool closes it (its session, and any late
    // cancel, die with it). Safety: `lease`, `cancelSent` and `broken` are only touched under
    // `leaseLock`.
    private let leaseLock = NIOLock()
    private var lease = 0
    private var leaseCounter = 0
    private var cancelSent = false

    /// Marks the start of a lease and returns its number.
    func beginLease() -> Int {
        leaseLock.withLock {
            leaseCounter += 1
            lease = leaseCounter
            cancelSent = false
            return lease
        }
    }

    /// Ends the current lease; true when a cancel was sent during it (do not reuse).
    func endLease() -> Bool {
        leaseLock.withLock {
            lease = 0
            return cancelSent
        }
    }

    /// Asks the server to cancel the statement of lease `number` (any thread). Does nothing once
    /// that lease has ended, so it can never reach another lease's statement. The request is
    /// sent from a thread of its own: `PQcancel` blocks on a network round trip, and the caller
    /// may be an event loop or the cooperative pool.
    func cancel(lease number: Int) {
        guard cancelHandle != nil else { return }
        let send = leaseLock.withLock { () -> Bool in
            guard number != 0, lease == number else { return false }
            cancelSent = true
            return true
        }
        guard send else { return }
        // The closure keeps `self` (and so the PGcancel object) alive until the request is sent.
        Thread.detachNewThread { [self] in
            if let delay = cancelDelay {
                let micros = delay.components.seconds * 1_000_000 + delay.components.attoseconds / 1_000_000_000_000
                usleep(UInt32(clamping: micros))
            }
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancelHandle, &buffer, Int32(buffer.count))
        }
    }

    /// Runs one parameterized statement. Uses a named prepared statement per distinct SQL text
    /// unless the configuration asks for unnamed statements only.
    func execute(_ query: PGQuery) throws -> PGRows {
        for (index, bind) in query.binds.enumerated() where bind.value?.utf8.contains(0) == true {
            // libpq passes C strings, and PostgreSQL cannot store NUL in text anyway.
            throw PGError(code: .usage, message: "parameter $\(index + 1) contains a NUL character")
        }
        let count = Int32(query.binds.count)
        let types = query.binds.map { Oid($0.type) }
        let result: OpaquePointer? = withOptionalCStringArray(query.binds.map(\.value)) { values in
            if unnamedOnly {
                return PQexecParams(conn, query.sql, count, types, values, nil, nil, 0)
            }
            if let name = preparedName(query.sql) {
                return PQexecPrepared(conn, name, count, values, nil, nil, 0)
            }
            let name = freshStatementName()
            let prepared = PQprepare(conn, name, query.sql, count, types)
            guard let prepared else { return nil }
            if PQresultStatus(prepared) != PGRES_COMMAND_OK {
                return prepared
            }
            PQclear(prepared)
            remember(query.sql, as: name)
            return PQexecPrepared(conn, name, count, values, nil, nil, 0)
        }
        return try consume(result)
    }

    // MARK: Non-blocking statements (the reactor collects the results)

    /// Sends every statement in one round trip (libpq pipeline mode) and returns their results
    /// in order. Outside an explicit transaction they run as one implicit transaction; the
    /// first error aborts the rest and is thrown. The statements are sent from the calling
    /// thread (the connection is non-blocking, so this never blocks); `reactor` collects the
    /// results while the task is suspended.
    func pipeline(_ queries: [PGQuery], reactor: PGReactor) async throws -> [PGRows] {
        let (collector, flushing) = try sendPipeline(queries)
        let outcome = await reactor.wait(for: self, collector: collector, flushing: flushing)
        return try finishPipeline(outcome)
    }

    /// Runs trusted SQL text that may hold several statements (`BEGIN`, `COMMIT`, migration
    /// files; never input) with the simple protocol, as `PQexec` would: the last result, or the
    /// error that stopped the script.
    func script(_ sql: String, reactor: PGReactor) async throws -> PGRows {
        guard !isBroken else { throw PGError(code: .connection, message: "the connection was lost earlier") }
        guard PQsendQuery(conn, sql) == 1 else { throw lastError(prefix: "cannot send the statements") }
        let flushing = try flushAfterSending()
        let outcome = await reactor.wait(
            for: self, collector: PGResultCollector(mode: .script), flushing: flushing)
        if let lost = outcome.connectionLost {
            throw PGError(
                code: .connection, sqlState: outcome.firstError?.sqlState, message: lostMessage(lost, outcome))
        }
        if let error = outcome.firstError { throw error }
        guard let rows = outcome.lastRows else { throw lastError(prefix: "no result from the server") }
        return rows
    }

    /// The message for a batch cut short by a lost connection, with the server's last word (a
    /// FATAL `terminating connection ...`, say) when there was one.
    private func lostMessage(_ lost: String, _ outcome: PGResultCollector) -> String {
        guard let said = outcome.firstError?.message, !lost.contains(said) else { return lost }
        return "\(lost) (the server said: \(said))"
    }

    /// `PQflush` after sending: true while output remains queued (the reactor then also waits
    /// for writability). A failure marks the connection broken.
    private func flushAfterSending() throws -> Bool {
        switch PQflush(conn) {
        case 0: return false
        case 1: return true
        default:
            let error = lastError(prefix: "cannot send to the server")
            markBroken()
            throw error
        }
    }

    /// Enters pipeline mode and queues the statements, the sync point and a flush. Any failure
    /// while sending leaves the pipeline in an unknown state, so the connection is marked broken
    /// (the pool drops it) rather than drained.
    private func sendPipeline(_ queries: [PGQuery]) throws -> (PGResultCollector, flushing: Bool) {
        for query in queries {
            for (index, bind) in query.binds.enumerated() where bind.value?.utf8.contains(0) == true {
                // libpq passes C strings, and PostgreSQL cannot store NUL in text anyway.
                throw PGError(code: .usage, message: "parameter $\(index + 1) contains a NUL character")
            }
        }
        guard !isBroken else { throw PGError(code: .connection, message: "the connection was lost earlier") }
        guard PQenterPipelineMode(conn) == 1 else { throw lastError(prefix: "cannot enter pipeline mode") }
        var sent: [PGResultCollector.Sent] = []
        var newNames: [String: String] = [:]
        for (index, query) in queries.enumerated() {
            let count = Int32(query.binds.count)
            let types = query.binds.map { Oid($0.type) }
            let ok: Int32 = withOptionalCStringArray(query.binds.map(\.value)) { values in
                if unnamedOnly {
                    return PQsendQueryParams(conn, query.sql, count, types, values, nil, nil, 0)
                }
                var name = preparedName(query.sql) ?? newNames[query.sql]
                if name == nil {
                    let fresh = freshStatementName()
                    guard PQsendPrepare(conn, fresh, query.sql, count, types) == 1 else { return 0 }
                    sent.append(.prepare(sql: query.sql, name: fresh))
                    newNames[query.sql] = fresh
                    name = fresh
                }
                return PQsendQueryPrepared(conn, name!, count, values, nil, nil, 0)
            }
            guard ok == 1 else {
                let error = lastError(prefix: "cannot send the pipeline")
                markBroken()
                throw error
            }
            sent.append(.query(index))
        }
        guard PQpipelineSync(conn) == 1 else {
            let error = lastError(prefix: "cannot send the pipeline")
            markBroken()
            throw error
        }
        let flushing = try flushAfterSending()
        return (PGResultCollector(mode: .pipeline(sent: sent, count: queries.count)), flushing)
    }

    /// Turns the collected results into the pipeline's rows or its error, after remembering the
    /// statements it prepared and leaving pipeline mode.
    private func finishPipeline(_ outcome: PGResultCollector) throws -> [PGRows] {
        for (sql, name) in outcome.prepared { remember(sql, as: name) }
        if let lost = outcome.connectionLost {
            throw PGError(
                code: .connection, sqlState: outcome.firstError?.sqlState, message: lostMessage(lost, outcome))
        }
        if !outcome.sawSync || PQexitPipelineMode(conn) != 1 {
            // Still in pipeline mode with results unaccounted for: never reuse the session.
            markBroken()
        }
        if let error = outcome.firstError { throw error }
        guard outcome.sawSync else {
            throw PGError(
                code: .connection, message: "the connection was lost before the server confirmed the pipeline's end")
        }
        guard outcome.results.allSatisfy({ $0 != nil }) else {
            throw PGError(code: .connection, message: "the pipeline ended before every statement answered")
        }
        return outcome.results.map { $0! }
    }

    // MARK: The prepared-statement cache

    private func preparedName(_ sql: String) -> String? {
        guard let entry = statements[sql] else { return nil }
        statementTick += 1
        statements[sql] = (entry.name, statementTick)
        return entry.name
    }

    private func freshStatementName() -> String {
        nextStatementNumber += 1
        return "s\(nextStatementNumber)"
    }

    private func remember(_ sql: String, as name: String) {
        statementTick += 1
        statements[sql] = (name, statementTick)
    }

    /// How many named statements this session holds (for tests and diagnostics).
    var preparedStatementCount: Int { statements.count }

    /// True when the session holds more prepared statements than the configured bound.
    var needsStatementTrim: Bool { !unnamedOnly && statements.count > maxStatements }

    /// Deallocates the least recently used statements down to three quarters of the bound, in
    /// one round trip. Call only on an idle connection (the pool does, on release). The names
    /// are our own `sN`, never input.
    func trimStatements(reactor: PGReactor) async throws {
        guard needsStatementTrim else { return }
        let keep = maxStatements * 3 / 4
        let victims = statements.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(statements.count - keep)
        let sql = victims.map { "DEALLOCATE \($0.value.name);" }.joined(separator: " ")
        for victim in victims { statements[victim.key] = nil }
        _ = try await script(sql, reactor: reactor)
    }

    /// Runs trusted SQL text that may hold several statements (migration files). Never for input.
    @discardableResult
    func executeScript(_ sql: String) throws -> PGRows {
        try consume(PQexec(conn, sql))
    }

    /// The password as the server stores it (a SCRAM-SHA-256 verifier, or what the server's
    /// `password_encryption` asks for), computed here so the password never travels.
    func encryptPassword(_ password: String, user: String) throws -> String {
        guard let encrypted = PQencryptPasswordConn(conn, password, user, nil) else {
            throw lastError(prefix: "cannot encrypt the password")
        }
        defer { PQfreemem(encrypted) }
        return String(cString: encrypted)
    }

    func lastError(prefix: String) -> PGError {
        let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        return PGError(code: .connection, message: message.isEmpty ? prefix : "\(prefix): \(message)")
    }

    /// Turns a libpq result into rows or a thrown error, always freeing it.
    func consume(_ result: OpaquePointer?) throws -> PGRows {
        guard let result else {
            throw lastError(prefix: "no result from the server")
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            var columns: [String] = []
            var types: [UInt32] = []
            columns.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                columns.append(String(cString: PQfname(result, Int32(c))))
                types.append(UInt32(PQftype(result, Int32(c))))
            }
            var cells: [[String?]] = []
            cells.reserveCapacity(rowCount)
            for r in 0..<rowCount {
                var row: [String?] = []
                row.reserveCapacity(columnCount)
                for c in 0..<columnCount {
                    if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                        row.append(nil)
                    } else {
                        let length = Int(PQgetlength(result, Int32(r), Int32(c)))
                        let pointer = PQgetvalue(result, Int32(r), Int32(c))!
                        row.append(
                            pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                            })
                    }
                }
                cells.append(row)
            }
            let tag = String(cString: PQcmdStatus(result))
            return PGRows(columns: columns, types: types, cells: cells, commandTag: tag)
        default:
            func field(_ code: Int32) -> String? {
                guard let pointer = PQresultErrorField(result, code) else { return nil }
                return String(cString: pointer)
            }
            let state = field(CLIBPQ_DIAG_SQLSTATE).map(SQLState.init(rawValue:))
            var message = field(CLIBPQ_DIAG_MESSAGE_PRIMARY)
            if message == nil {
                message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            var code = PGError.Code.server
            if state == .queryCanceled {
                code = .cancelled
            } else if state == nil || !isConnected {
                code = .connection
            }
            throw PGError(
                code: code, sqlState: state, message: message ?? "unknown error",
                detail: field(CLIBPQ_DIAG_MESSAGE_DETAIL), hint: field(CLIBPQ_DIAG_MESSAGE_HINT),
                constraint: field(CLIBPQ_DIAG_CONSTRAINT_NAME), column: field(CLIBPQ_DIAG_COLUMN_NAME))
        }
    }

    /// Connection keywords whose values are secrets.
    static let secretKeywords: Set<String> = ["password", "sslpassword"]

    /// The keywords a connection string sets (libpq's own parser: URI or conninfo, quoting and
    /// percent-decoding included), or nil when libpq cannot parse it.
    static func parsedOptions(_ connectionString: String) -> [(keyword: String, value: String)]? {
        var errorPointer: UnsafeMutablePointer<CChar>?
        defer { if let errorPointer { PQfreemem(errorPointer) } }
        guard let options = PQconninfoParse(connectionString, &errorPointer) else { return nil }
        defer { PQconninfoFree(options) }
        var out: [(keyword: String, value: String)] = []
        var cursor = options
        while let keyword = cursor.pointee.keyword {
            if let value = cursor.pointee.val { out.append((String(cString: keyword), String(cString: value))) }
            cursor = cursor.advanced(by: 1)
        }
        return out
    }

    /// The connection string rewritten from its parsed structure, as conninfo, with every
    /// secret keyword's value replaced by `********`. Nothing of the original text is copied,
    /// so no encoding or quoting of a password can slip through.
    static func redact(_ connectionString: String) -> String {
        guard let options = parsedOptions(connectionString) else {
            return "(unparseable connection string, not shown)"
        }
        return options.map { option in
            let value = secretKeywords.contains(option.keyword) ? "********" : option.value
            return "\(option.keyword)=\(conninfoQuoted(value))"
        }.joined(separator: " ")
    }

    /// A conninfo value: bare when safe, else single-quoted with `\` and `'` escaped.
    static func conninfoQuoted(_ value: String) -> String {
        let bare =
            !value.isEmpty && value.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && $0 != "'" && $0 != "\\" }
        if bare { return value }
        return "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// Every form a secret of the connection string or environment may take in a message from
    /// libpq or the server: the values of the secret keywords, and their percent-encoded forms
    /// (as a URI may carry them), to scrub from error messages.
    static func secrets(in connectionString: String?) -> [String] {
        var values: [String] = []
        let environment = ProcessInfo.processInfo.environment
        for name in ["PGPASSWORD", "PGSSLPASSWORD"] {
            if let value = environment[name], !value.isEmpty { values.append(value) }
        }
        if let connectionString {
            guard let options = parsedOptions(connectionString) else { return values + [connectionString] }
            values += options.filter { secretKeywords.contains($0.keyword) && !$0.value.isEmpty }.map(\.value)
        }
        var forms: [String] = []
        for value in values {
            forms.append(value)
            for allowed in [CharacterSet.alphanumerics, .urlUserAllowed, .urlPasswordAllowed, .urlQueryAllowed] {
                if let encoded = value.addingPercentEncoding(withAllowedCharacters: allowed), encoded != value {
                    forms.append(encoded)
                }
            }
        }
        return forms
    }

    /// Replaces every secret in a message.
    static func scrub(_ message: String, secrets: [String]) -> String {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines)
        for secret in secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "********")
        }
        return text
    }

    /// Validates a connection string without connecting. libpq's parse errors quote the text
    /// they stumbled on, which may be part of a password, so none of it is repeated.
    static func validate(connectionString: String) throws {
        guard parsedOptions(connectionString) == nil else { return }
        throw PGError(
            code: .connection,
            message:
                "invalid DATABASE_URL: libpq cannot parse it as a URI (postgres://user:password@host:port/db?param=value, "
                + "special characters percent-encoded) or as conninfo (key=value ...); its text is not shown, as it may hold a password"
        )
    }
}

final class Counter: @unchecked Sendable {
    // Safety: guarded by `lock`.
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

func withCStringArray<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers.map { UnsafePointer($0) })
}

func withOptionalCStringArray<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers.map { UnsafePointer($0) })
}
