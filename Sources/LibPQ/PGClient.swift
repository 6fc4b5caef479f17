import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// A bounded pool of libpq connections with an async API.
///
/// - Statements (`query`, `pipeline`, `script`, and so `BEGIN`/`COMMIT`/`ROLLBACK`) are sent by
///   the calling task on its own thread, the connection being non-blocking, and the task
///   suspends while the process-wide `PGReactor` thread collects the results: no thread hop and
///   no thread per connection. Calls that can only block (connecting, `PQencryptPasswordConn`)
///   run on the client's small `NIOThreadPool`; `PQcancel` is sent from a detached thread of its
///   own, and `PQfinish` runs wherever the last reference to a connection is dropped.
/// - `acquire` waits in FIFO order up to `acquireTimeout`, then fails with `.poolTimeout`.
/// - A connection comes back to the pool only if it is connected and idle; one left inside a
///   transaction is rolled back first; a broken one is dropped and its slot reused, so the pool
///   recovers by itself once the server is back after a restart.
/// - As a `Service`, it closes its connections after graceful shutdown.
public final class PGClient: Service, Sendable {
    public let configuration: PGConfiguration
    let logger: Logger
    let threads: NIOThreadPool
    let reactor: PGReactor
    /// The pool's bookkeeping; every decision is made there under this lock, and the actions it
    /// returns (resuming waiters, closing connections) run after the lock is released.
    private let state: NIOLockedValueBox<PGPoolStateMachine<PGConnection, Waiter>>

    public init(configuration: PGConfiguration, logger: Logger = Logger(label: "libpq")) {
        if let url = configuration.connectionString {
            // Log a malformed URL at once (the message never includes the password); `init` carries
            // on and connecting fails later. `PGClient.validate(connectionString:)` throws instead.
            do { try PGConnection.validate(connectionString: url) } catch {
                logger.error("\(error)")
            }
        }
        self.configuration = configuration
        self.logger = logger
        // Only connecting and password encryption block now; a few threads are plenty (more
        // would only let simultaneous connection attempts proceed in parallel).
        self.threads = NIOThreadPool(numberOfThreads: min(configuration.maxConnections, 4))
        self.threads.start()
        self.reactor = PGReactor.shared
        self.state = NIOLockedValueBox(PGPoolStateMachine(maxConnections: configuration.maxConnections))
    }

    /// Checks that a connection string parses, without connecting. The error names no password.
    public static func validate(connectionString: String) throws {
        try PGConnection.validate(connectionString: connectionString)
    }

    // MARK: Public API

    /// Leases a connection for the duration of `body`.
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PGLease) async throws -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        let connection = try await acquire()
        configuration.acquireObserver?(ContinuousClock.now - started)
        let lease = PGLease(
            connection: connection, leaseNumber: connection.beginLease(), threads: threads, reactor: reactor,
            slowQueryThreshold: configuration.slowQueryThreshold, logger: logger)
        do {
            let value = try await body(lease)
            await release(connection)
            return value
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Runs `body` inside `BEGIN` ... `COMMIT`. A thrown error or the task's cancellation rolls
    /// the transaction back and rethrows.
    public func withTransaction<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PGLease) async throws -> T
    ) async throws -> T {
        try await withConnection { lease in
            try await lease.transaction(body)
        }
    }

    /// Runs one statement on any free connection.
    @discardableResult
    public func query(_ query: PGQuery) async throws -> PGRows {
        try await withConnection { try await $0.query(query) }
    }

    /// Pool figures for metrics and readiness checks.
    public var statistics: PGPoolStatistics {
        state.withLockedValue { $0.statistics }
    }

    /// Service entry point: waits for graceful shutdown (or cancellation), then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes idle connections, fails waiters, and stops handing out connections.
    public func shutdown() async {
        let (idle, waiters) = state.withLockedValue { $0.shutdown() } ?? ([], [])
        for waiter in waiters { waiter.resume(returning: nil) }
        _ = idle  // dropping the last reference calls PQfinish
        try? await threads.shutdownGracefully()
    }

    // MARK: Acquire and release

    typealias Grant = PGPoolGrant<PGConnection>

    /// A task suspended in `acquire`: resumed with its grant, or with nil when the pool closes or
    /// the wait is cancelled.
    typealias Waiter = CheckedContinuation<Grant?, Never>

    func acquire() async throws -> PGConnection {
        var grant: Grant
        switch state.withLockedValue({ $0.acquire() }) {
        case .closed: throw PGError(code: .poolClosed, message: "the connection pool is shut down")
        case .grant(let g): grant = g
        case .wait(let id): grant = try await waitForGrant(id: id)
        }
        while true {
            switch grant {
            case .connection(let connection):
                if connection.looksAlive() { return connection }
                logger.info("dropping a dead database connection", metadata: ["connection": "\(connection.id)"])
                grant = .create  // keep the slot, replace the connection
            case .create:
                do {
                    return try await PGConnection.open(configuration: configuration, on: threads)
                } catch {
                    freeSlot()
                    if let error = error as? PGError { throw error }
                    throw PGError(code: .connection, message: "cannot connect to PostgreSQL")
                }
            }
        }
    }

    private func waitForGrant(id: Int) async throws -> Grant {
        let timeout = configuration.acquireTimeout
        let received: Grant? = await withTaskGroup(of: Grant?.self) { group in
            group.addTask { await self.suspend(id: id) }
            group.addTask {
                await CancellableSleep.sleep(for: timeout)
                return nil
            }
            var grant: Grant? = nil
            if let first = await group.next() { grant = first }
            group.cancelAll()
            // The waiter may have been granted in the same instant the timer fired: keep one
            // grant and give any other back, so no connection or slot leaks.
            while let next = await group.next() {
                guard let next else { continue }
                if grant == nil { grant = next } else { giveBack(next) }
            }
            return grant
        }
        if Task.isCancelled {
            if let received { giveBack(received) }
            throw PGError(code: .cancelled, message: "cancelled while waiting for a database connection")
        }
        guard let received else {
            if state.withLockedValue({ $0.isClosed }) {
                throw PGError(code: .poolClosed, message: "the connection pool is shut down")
            }
            throw PGError(
                code: .poolTimeout,
                message:
                    "no database connection became free within \(timeout) (pool of \(configuration.maxConnections))")
        }
        return received
    }

    private func suspend(id: Int) async -> Grant? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                // The state machine also covers a connection that came back between `acquire`
                // deciding to wait and this registration: it is granted here rather than lost.
                let action = state.withLockedValue { $0.register(id: id, waiter: continuation) }
                if case .resume(let grant) = action { continuation.resume(returning: grant) }
            }
        } onCancel: {
            state.withLockedValue { $0.cancel(id: id) }?.resume(returning: nil)
        }
    }

    /// Returns a grant nobody will use (see `waitForGrant`), so no connection or slot leaks.
    private func giveBack(_ grant: Grant) {
        resume(state.withLockedValue { $0.giveBack(grant) })
    }

    /// Gives up a slot (its connection failed or was never made); a waiter may then open one.
    private func freeSlot() {
        resume(state.withLockedValue { $0.freeSlot() })
    }

    func release(_ connection: PGConnection) async {
        // A connection that had a cancel sent during this lease is closed, never reused: the
        // cancel may still land on whatever statement it would run next.
        var usable = !connection.endLease() && connection.isConnected
        if usable {
            switch connection.transactionState {
            case .idle: break
            case .inTransaction, .failed:
                do {
                    _ = try await connection.script("ROLLBACK", reactor: reactor)
                    usable = connection.isConnected && connection.transactionState == .idle
                } catch {
                    usable = false
                }
            case .active, .unknown:
                usable = false
            }
        }
        if usable && connection.needsStatementTrim {
            do {
                try await connection.trimStatements(reactor: reactor)
            } catch {
                usable = false
            }
        }
        handBack(connection, usable: usable)
    }

    private func handBack(_ connection: PGConnection, usable: Bool) {
        resume(state.withLockedValue { $0.handBack(connection, usable: usable) })
    }

    /// Resumes the waiter the state machine chose, outside the lock.
    private func resume(_ served: (waiter: Waiter, grant: Grant)?) {
        if let served { served.waiter.resume(returning: served.grant) }
    }
}

/// Pool figures at one instant.
public struct PGPoolStatistics: Sendable, Equatable {
    public var maxConnections: Int
    /// Connections open or being opened.
    public var open: Int
    public var idle: Int
    public var leased: Int
    /// Tasks waiting for a connection.
    public var waiting: Int
}

/// A leased connection. Valid only inside the `withConnection` / `withTransaction` body.
public struct PGLease: Sendable {
    let connection: PGConnection
    /// This lease's number on the connection: a cancel is sent only while it is current.
    let leaseNumber: Int
    let threads: NIOThreadPool
    let reactor: PGReactor
    var slowQueryThreshold: Duration? = nil
    var logger: Logger? = nil

    /// Logs a statement that took longer than the threshold: its name or SQL text (which holds
    /// only `$n` placeholders), never its values.
    private func noteDuration(_ started: ContinuousClock.Instant, _ queries: [PGQuery]) {
        guard let slowQueryThreshold, let logger else { return }
        let elapsed = ContinuousClock.now - started
        guard elapsed > slowQueryThreshold else { return }
        let names = queries.map { query -> String in
            if let name = query.name { return name }
            let flat = query.sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            return String(flat.prefix(120))
        }
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.warning(
            "slow query",
            metadata: [
                "statement": .string(names.joined(separator: " | ")),
                "duration_ms": .stringConvertible(millis.rounded()),
            ])
    }

    /// Runs one parameterized statement. Cancelling the task sends `PQcancel` to the server.
    @discardableResult
    public func query(_ query: PGQuery) async throws -> PGRows {
        let connection = self.connection
        let leaseNumber = self.leaseNumber
        let reactor = self.reactor
        if Task.isCancelled {
            throw PGError(code: .cancelled, message: "the task was cancelled before the statement ran")
        }
        let started = ContinuousClock.now
        defer { noteDuration(started, [query]) }
        // A pipeline of one: the same round trip as `PQexecPrepared`, without blocking.
        return try await withTaskCancellationHandler {
            try await connection.pipeline([query], reactor: reactor)[0]
        } onCancel: {
            connection.cancel(lease: leaseNumber)
        }
    }

    /// Sends the statements in one round trip (libpq pipeline mode) and returns their rows in
    /// order. Outside an explicit transaction they form one implicit transaction; the first
    /// failure aborts the rest and is thrown.
    @discardableResult
    public func pipeline(_ queries: [PGQuery]) async throws -> [PGRows] {
        let connection = self.connection
        let leaseNumber = self.leaseNumber
        let reactor = self.reactor
        if Task.isCancelled {
            throw PGError(code: .cancelled, message: "the task was cancelled before the statements ran")
        }
        let started = ContinuousClock.now
        defer { noteDuration(started, queries) }
        return try await withTaskCancellationHandler {
            try await connection.pipeline(queries, reactor: reactor)
        } onCancel: {
            connection.cancel(lease: leaseNumber)
        }
    }

    /// Runs trusted SQL text that may contain several statements: migration files,
    /// `BEGIN`/`COMMIT`/`ROLLBACK`, and the `ALTER ROLE` that `AdminService.setServerPassword`
    /// builds. Never input.
    @discardableResult
    public func script(_ sql: String) async throws -> PGRows {
        try await connection.script(sql, reactor: reactor)
    }

    /// Runs `body` in a transaction on this connection (see `PGClient.withTransaction`).
    public func transaction<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PGLease) async throws -> T
    ) async throws -> T {
        try await script("BEGIN")
        do {
            let value = try await body(self)
            if Task.isCancelled {
                throw PGError(code: .cancelled, message: "the task was cancelled; the transaction was rolled back")
            }
            let result = try await script("COMMIT")
            if result.commandTag == "ROLLBACK" {
                throw PGError(
                    code: .server, message: "the transaction failed earlier and was rolled back instead of committed")
            }
            return value
        } catch {
            if connection.isConnected, connection.transactionState != .idle {
                _ = try? await script("ROLLBACK")
            }
            throw error
        }
    }

    /// `password` encrypted for `user` as the server stores it (for `ALTER ROLE ... PASSWORD`),
    /// so the clear password never reaches the server or its logs.
    public func encryptPassword(_ password: String, user: String) async throws -> String {
        let connection = self.connection
        return try await threads.runBlocking { try connection.encryptPassword(password, user: user) }
    }

    /// The server process id of this connection (for tests and diagnostics).
    public func backendPID() async throws -> Int {
        try await query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
    }
}
