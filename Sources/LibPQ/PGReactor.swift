internal import CLibPQ
import Foundation
import Glibc
import NIOConcurrencyHelpers

/// The thread that waits for PostgreSQL's answers, so no statement needs a thread of its own.
///
/// A task that runs statements sends them itself, on whatever thread it runs on: the connection
/// is in libpq's non-blocking mode, so `PQsendQueryPrepared`, `PQpipelineSync` and `PQflush`
/// never block. It then registers the connection's socket here and suspends. This reactor's one
/// thread waits in `epoll_wait` (level-triggered) for every registered socket at once; when one
/// is readable it calls `PQconsumeInput` and collects the results with `PQgetResult` (only while
/// `PQisBusy` is 0, so it never blocks) until the batch's end (the pipeline's sync point, or the
/// end of a script); while output is still queued (`PQflush` returned 1) it also waits for
/// writability and flushes again. Then it removes the socket from epoll and resumes the task,
/// outside its lock, with the collected results.
///
/// - One reactor for the whole process (`shared`), not one per `PGClient`: a single thread can
///   watch any number of sockets, the app runs one or two clients, and tests create hundreds of
///   short-lived clients, which would otherwise each start and stop a thread. An idle reactor
///   costs one sleeping thread and two file descriptors.
/// - A socket is in epoll only while a task waits on it: it is added by the waiting task
///   (`epoll_ctl` is thread-safe, and adding directly saves waking the reactor per statement)
///   and removed by the reactor before it resumes that task. So a connection is never in epoll
///   when it is closed or handed to another lease, and each registration carries a generation
///   number (the epoll user data), so an event for a socket number that has since been reused is
///   recognised as stale and ignored.
/// - The `eventfd` wakes the loop for `stop()` (test reactors; `shared` is never stopped).
/// - `waitUntilReady` is the other kind of registration: "wake me when this socket is readable"
///   (`PGListener`, idle between notifications). The reactor does not touch libpq for it: it
///   removes the socket from epoll and resumes the task, which reads itself. Unlike a batch, such
///   a wait can be cancelled, so its epoll calls are made under the lock and whoever removes the
///   entry (the reactor, the canceller or `stop()`) also removes the socket and resumes, once.
/// - A hang-up, a socket error or a failing `PQconsumeInput` or `PQflush` completes the waiting
///   task with `connectionLost` set and marks the connection broken, so the pool drops it.
///
/// Safety (`@unchecked Sendable`): `registrations`, `readiness`, `nextGeneration`, `stopped` and
/// `flushingRegistrations` are only touched under `lock`. A `Registration` and its connection are used by the reactor thread
/// alone between their registration (under the lock) and their removal (under the lock, before
/// the task is resumed); the registering task is suspended all that time.
final class PGReactor: @unchecked Sendable {
    /// The process-wide reactor every `PGClient` uses.
    static let shared = PGReactor(name: "libpq-reactor")

    private let epollFD: Int32
    private let wakeFD: Int32
    private let lock = NIOLock()
    private var registrations: [UInt64: Registration] = [:]
    /// Readiness waits (`waitUntilReady`), by generation.
    private var readiness: [UInt64: ReadinessWait] = [:]
    /// 0 tags the eventfd; registrations count from 1.
    private var nextGeneration: UInt64 = 1
    private var stopped = false
    /// Registrations that began with output still queued (`PQflush` returned 1), so the reactor
    /// had to flush on writability: for tests, which check that the path is exercised.
    private var flushingRegistrations = 0

    // epoll and eventfd constants (Linux ABI values; Glibc imports some as enums).
    static let readable: UInt32 = 0x001  // EPOLLIN
    static let writable: UInt32 = 0x004  // EPOLLOUT
    static let error: UInt32 = 0x008  // EPOLLERR
    static let hangup: UInt32 = 0x010  // EPOLLHUP

    /// A task waiting for its batch's results.
    final class Registration {
        let connection: PGConnection
        let socket: Int32
        var collector: PGResultCollector
        /// True while libpq still holds output to send (`PQflush` returned 1).
        var flushing: Bool
        let continuation: CheckedContinuation<PGResultCollector, Never>

        init(
            connection: PGConnection, socket: Int32, collector: PGResultCollector, flushing: Bool,
            continuation: CheckedContinuation<PGResultCollector, Never>
        ) {
            self.connection = connection
            self.socket = socket
            self.collector = collector
            self.flushing = flushing
            self.continuation = continuation
        }
    }

    /// How a readiness wait ended.
    enum Readiness: Sendable, Equatable {
        /// The socket is readable (or writable, when asked), hung up or in error: the caller
        /// now reads (`PQconsumeInput`), and libpq reports any failure.
        case ready
        /// The waiting task was cancelled.
        case cancelled
        /// The socket could not be watched (the reactor stopped, no socket, `epoll_ctl` failed).
        case failed(String)
    }

    /// One readiness wait: allocated before the task suspends, so a cancellation that comes
    /// first is remembered (`cancelledEarly`) and the registration then resumes at once.
    private enum ReadinessWait {
        case pending
        case cancelledEarly
        case waiting(socket: Int32, continuation: CheckedContinuation<Readiness, Never>)
    }

    init(name: String) {
        let epoll = epoll_create1(0o2_000_000)  // EPOLL_CLOEXEC
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        let wake = eventfd(0, 0o2_000_000 | 0o4_000)  // EFD_CLOEXEC | EFD_NONBLOCK
        precondition(wake >= 0, "eventfd failed: errno \(errno)")
        var event = epoll_event()
        event.events = Self.readable
        event.data.u64 = 0
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &event) == 0, "epoll_ctl(eventfd) failed: errno \(errno)")
        epollFD = epoll
        wakeFD = wake
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// The number of tasks waiting (for tests and diagnostics).
    var waitingCount: Int { lock.withLock { registrations.count } }

    /// How many registrations so far needed the reactor to finish flushing (for tests).
    var flushingCount: Int { lock.withLock { flushingRegistrations } }

    /// The number of tasks in `waitUntilReady` (for tests and diagnostics).
    var readinessWaitingCount: Int {
        lock.withLock { readiness.values.filter { if case .waiting = $0 { true } else { false } }.count }
    }

    // MARK: Readiness waits

    /// Suspends until `connection`'s socket is readable (or also writable, with `writable`),
    /// hangs up or errs; or until the task is cancelled. Unlike `wait(for:collector:flushing:)`
    /// it never calls libpq: once resumed, the caller reads (`PQconsumeInput`) on its own
    /// thread. The connection must be idle (no batch registered) and used by this task alone.
    func waitUntilReady(_ connection: PGConnection, writable: Bool = false) async -> Readiness {
        let generation = lock.withLock { () -> UInt64 in
            let generation = nextGeneration
            nextGeneration += 1
            readiness[generation] = .pending
            return generation
        }
        let socket = PQsocket(connection.conn)
        let events = Self.readable | (writable ? Self.writable : 0)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Readiness, Never>) in
                let outcome = lock.withLock { () -> Readiness? in
                    guard case .pending = readiness[generation] else {
                        readiness[generation] = nil
                        return .cancelled
                    }
                    guard !stopped else {
                        readiness[generation] = nil
                        return .failed("the database reactor has stopped")
                    }
                    guard socket >= 0 else {
                        readiness[generation] = nil
                        return .failed("the connection has no socket")
                    }
                    // Added under the lock: a canceller that takes the entry also removes the
                    // socket, so no stale entry can stay in epoll (level-triggered, it would spin).
                    var event = epoll_event()
                    event.events = events
                    event.data.u64 = generation
                    if epoll_ctl(epollFD, EPOLL_CTL_ADD, socket, &event) != 0 {
                        readiness[generation] = nil
                        return .failed("cannot watch the connection's socket (errno \(errno))")
                    }
                    readiness[generation] = .waiting(socket: socket, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
        } onCancel: {
            let taken = lock.withLock { () -> CheckedContinuation<Readiness, Never>? in
                switch readiness[generation] {
                case .pending:
                    readiness[generation] = .cancelledEarly
                    return nil
                case .waiting:
                    return takeReadiness(generation)
                case .cancelledEarly, nil:
                    return nil
                }
            }
            taken?.resume(returning: .cancelled)
        }
    }

    /// Removes a waiting readiness entry and its socket from epoll; the caller resumes the
    /// returned continuation after releasing the lock. Call under `lock`.
    private func takeReadiness(_ generation: UInt64) -> CheckedContinuation<Readiness, Never>? {
        guard case .waiting(let socket, let continuation) = readiness[generation] else { return nil }
        readiness[generation] = nil
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, socket, nil)
        return continuation
    }

    /// Waits until the reactor has collected the batch that `connection` has sent (or the
    /// connection failed). `flushing` says whether output is still queued. Never throws: every
    /// failure is reported in the returned collector.
    func wait(
        for connection: PGConnection, collector: PGResultCollector, flushing: Bool
    ) async -> PGResultCollector {
        // Sending may have read input as well (libpq reads while a send would block): results
        // already in libpq's buffer would never make the socket readable again, so take them
        // here first. `PQisBusy` parses the buffer without a system call.
        if PQisBusy(connection.conn) == 0 {
            var collector = collector
            Self.drain(&collector, connection)
            if collector.finished {
                settle(&collector, connection)
                return collector
            }
            return await suspend(connection, collector, flushing)
        }
        return await suspend(connection, collector, flushing)
    }

    private func suspend(
        _ connection: PGConnection, _ collector: PGResultCollector, _ flushing: Bool
    ) async -> PGResultCollector {
        await withCheckedContinuation { (continuation: CheckedContinuation<PGResultCollector, Never>) in
            register(
                Registration(
                    connection: connection, socket: PQsocket(connection.conn), collector: collector,
                    flushing: flushing, continuation: continuation))
        }
    }

    private func register(_ registration: Registration) {
        let generation: UInt64? = lock.withLock {
            guard !stopped else { return nil }
            let generation = nextGeneration
            nextGeneration += 1
            registrations[generation] = registration
            if registration.flushing { flushingRegistrations += 1 }
            return generation
        }
        guard let generation else {
            fail(registration, "the database reactor has stopped")
            return
        }
        guard registration.socket >= 0 else {
            if lock.withLock({ registrations.removeValue(forKey: generation) }) != nil {
                fail(registration, "the connection has no socket")
            }
            return
        }
        var event = epoll_event()
        event.events = Self.readable | (registration.flushing ? Self.writable : 0)
        event.data.u64 = generation
        if epoll_ctl(epollFD, EPOLL_CTL_ADD, registration.socket, &event) != 0 {
            let code = errno
            // The reactor cannot have seen it (no events without the socket in epoll); the
            // removal under the lock still decides who resumes, exactly once.
            if lock.withLock({ registrations.removeValue(forKey: generation) }) != nil {
                fail(registration, "cannot watch the connection's socket (errno \(code))")
            }
        }
    }

    /// Completes a registration that never reached epoll (or was stopped) with a lost connection.
    private func fail(_ registration: Registration, _ message: String) {
        registration.collector.connectionLost = message
        registration.connection.markBroken()
        registration.continuation.resume(returning: registration.collector)
    }

    /// Stops the loop; every waiting task is resumed with a lost connection. For test reactors.
    func stop() {
        lock.withLock { stopped = true }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func run() {
        let capacity: Int32 = 64
        var events = [epoll_event](repeating: epoll_event(), count: Int(capacity))
        while true {
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, capacity, -1) }
            if count < 0 {
                if errno != EINTR { usleep(1000) }  // not expected; never spin hot
                continue
            }
            for index in 0..<Int(count) {
                let generation = events[index].data.u64
                let flags = events[index].events
                if generation == 0 {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    if lock.withLock({ stopped }) {
                        shutDown()
                        return
                    }
                    continue
                }
                // A generation no longer registered: a stale event of this same batch (the
                // registration completed earlier in this loop) — its socket may already be
                // registered again under a new generation.
                let found = lock.withLock { () -> Found in
                    if let registration = registrations[generation] { return .batch(registration) }
                    if let continuation = takeReadiness(generation) { return .ready(continuation) }
                    return .stale
                }
                let registration: Registration
                switch found {
                case .batch(let batch): registration = batch
                case .ready(let continuation):
                    continuation.resume(returning: .ready)
                    continue
                case .stale: continue
                }
                if service(registration, generation: generation, events: flags) {
                    complete(registration, generation: generation)
                }
            }
        }
    }

    /// What an event's generation refers to.
    private enum Found {
        case batch(Registration)
        case ready(CheckedContinuation<Readiness, Never>)
        case stale
    }

    /// Removes a finished registration from epoll, then resumes its task outside the lock.
    private func complete(_ registration: Registration, generation: UInt64) {
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, registration.socket, nil)
        guard lock.withLock({ registrations.removeValue(forKey: generation) }) != nil else { return }
        settle(&registration.collector, registration.connection)
        registration.continuation.resume(returning: registration.collector)
    }

    /// Final checks on a finished batch: one that ended early on a connection libpq found dead
    /// is a lost connection, and a lost connection is never reused.
    private func settle(_ collector: inout PGResultCollector, _ connection: PGConnection) {
        if !collector.confirmed && collector.connectionLost == nil && !connection.libpqConnected {
            // libpq noticed the loss while handing out results (the batch ended early).
            collector.connectionLost = lastMessage(connection.conn, "the connection was lost")
        }
        if collector.connectionLost != nil { connection.markBroken() }
    }

    private func shutDown() {
        let (pending, ready) = lock.withLock { () -> ([Registration], [CheckedContinuation<Readiness, Never>]) in
            let all = Array(registrations.values)
            registrations.removeAll()
            // A pending or early-cancelled entry sees `stopped` (or its mark) when it registers.
            let ready = readiness.keys.compactMap { takeReadiness($0) }
            return (all, ready)
        }
        for continuation in ready { continuation.resume(returning: .failed("the database reactor has stopped")) }
        for registration in pending {
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, registration.socket, nil)
            fail(registration, "the database reactor has stopped")
        }
        close(wakeFD)
        close(epollFD)
    }

    /// Handles readiness of one registered socket; true when its batch is over (collected, or
    /// the connection failed).
    private func service(_ registration: Registration, generation: UInt64, events: UInt32) -> Bool {
        let conn = registration.connection.conn
        let hungUp = events & (Self.hangup | Self.error) != 0
        if events & (Self.readable | Self.hangup | Self.error) != 0 {
            // On a hang-up, read until libpq sees the end of the stream (it then reports
            // failure), collecting whatever the server sent before closing: its batch may have
            // completed, or its last message says why it went away.
            var reads = 0
            while true {
                if PQconsumeInput(conn) == 0 {
                    drain(registration)
                    if !registration.collector.confirmed {
                        registration.collector.connectionLost = lastMessage(conn, "the connection was lost")
                    }
                    return true
                }
                reads += 1
                if !hungUp || reads >= 64 { break }
                drain(registration)
                if registration.collector.finished { return true }
            }
        }
        if registration.flushing {
            // Output queued: flush on writability, and also after reading (libpq's rule: when
            // PQflush returns 1, wait for read or write readiness; on read, consume, then flush).
            switch PQflush(conn) {
            case 0:
                registration.flushing = false
                var event = epoll_event()
                event.events = Self.readable
                event.data.u64 = generation
                if epoll_ctl(epollFD, EPOLL_CTL_MOD, registration.socket, &event) != 0 {
                    registration.collector.connectionLost = "cannot watch the connection's socket (errno \(errno))"
                    return true
                }
            case 1:
                break
            default:
                registration.collector.connectionLost = lastMessage(conn, "cannot send to the server")
                return true
            }
        }
        drain(registration)
        if registration.collector.finished { return true }
        if hungUp && !registration.collector.confirmed {
            registration.collector.connectionLost = lastMessage(conn, "the server closed the connection")
            return true
        }
        return false
    }

    /// Takes every result libpq can hand out without blocking.
    private func drain(_ registration: Registration) {
        Self.drain(&registration.collector, registration.connection)
    }

    private static func drain(_ collector: inout PGResultCollector, _ connection: PGConnection) {
        while !collector.finished && PQisBusy(connection.conn) == 0 {
            collector.take(PQgetResult(connection.conn), from: connection)
        }
    }

    private func lastMessage(_ conn: OpaquePointer, _ prefix: String) -> String {
        let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        return message.isEmpty ? prefix : "\(prefix): \(message)"
    }
}

/// The results of one batch as they arrive, matched to what was sent. Filled by the reactor
/// thread, read by the task once resumed.
struct PGResultCollector: Sendable {
    /// What each sent pipeline command is, so results can be matched to it.
    enum Sent: Sendable {
        case prepare(sql: String, name: String)
        case query(Int)
    }
    enum Mode: Sendable {
        /// A pipeline of `count` statements ending in a sync point.
        case pipeline(sent: [Sent], count: Int)
        /// A simple-protocol script (`PQsendQuery`): results until libpq's final NULL.
        case script
    }

    let mode: Mode
    var results: [PGRows?]
    /// The script's last result (as `PQexec` returns it).
    var lastRows: PGRows?
    var firstError: PGError?
    /// Statements prepared successfully in this batch: the task adds them to its cache.
    var prepared: [(sql: String, name: String)] = []
    /// True once nothing more will come for this batch (sync point or final NULL seen, or the
    /// results stopped making sense).
    var finished = false
    /// True when the batch ended as it should: the pipeline's sync point, or a script's final
    /// NULL on a live connection. Anything else that ends it means the connection failed.
    var confirmed = false
    var sawSync = false
    /// Set when the connection failed before the batch ended; the task throws `.connection`.
    var connectionLost: String?
    /// How many NULL separators were seen (a bound: libpq yields one per command).
    private var position = 0

    init(mode: Mode) {
        self.mode = mode
        if case .pipeline(_, let count) = mode {
            results = [PGRows?](repeating: nil, count: count)
        } else {
            results = []
        }
    }

    private mutating func noteError(_ error: any Error) {
        if firstError == nil {
            firstError = (error as? PGError) ?? PGError(code: .connection, message: "\(error)")
        }
    }

    /// Takes one `PQgetResult` outcome (which it frees). Call only while `PQisBusy` is 0.
    mutating func take(_ result: OpaquePointer?, from connection: PGConnection) {
        switch mode {
        case .script:
            guard let result else {
                finished = true
                confirmed = connection.libpqConnected
                return
            }
            do { lastRows = try connection.consume(result) } catch { noteError(error) }
            if !connection.libpqConnected { finished = true }
        case .pipeline(let sent, _):
            // Each command yields its result then one NULL; the sync point ends the pipeline.
            // Success needs the sync point itself: outside an explicit transaction it is where
            // the implicit transaction commits, so results that arrived before it prove nothing.
            guard let result else {
                position += 1
                if !connection.libpqConnected || position > sent.count + 1 { finished = true }
                return
            }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                PQclear(result)
                sawSync = true
                confirmed = true
                finished = true
                return
            }
            guard position < sent.count else {
                // A result after the last command: the commit at the sync point failed, or the
                // connection broke. Either way nothing is confirmed.
                if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK {
                    do { _ = try connection.consume(result) } catch { noteError(error) }
                } else {
                    PQclear(result)
                }
                if !connection.libpqConnected { finished = true }
                return
            }
            switch sent[position] {
            case .prepare(let sql, let name):
                if status == PGRES_COMMAND_OK {
                    prepared.append((sql, name))
                    PQclear(result)
                } else if status == PGRES_PIPELINE_ABORTED {
                    PQclear(result)
                } else {
                    do { _ = try connection.consume(result) } catch { noteError(error) }
                }
            case .query(let index):
                if status == PGRES_PIPELINE_ABORTED {
                    PQclear(result)
                } else {
                    do { results[index] = try connection.consume(result) } catch { noteError(error) }
                }
            }
        }
    }
}
