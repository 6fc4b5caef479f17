internal import CLibPQ
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// A notification received on a channel a `PGListener` listens to.
public struct PGNotification: Sendable, Hashable {
    /// The channel, as the sender named it (`pg_notify`'s first argument).
    public var channel: String
    /// The payload; empty when the sender gave none.
    public var payload: String
    /// The server process id of the session that sent it.
    public var backendPID: Int32

    public init(channel: String, payload: String, backendPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.backendPID = backendPID
    }
}

/// One `LISTEN` connection, fanned out in memory to any number of subscribers (one listener per
/// server instance: live events).
///
/// - The connection is its own, never one of a `PGClient` pool's, and is opened the way the
///   pool opens its connections (same connection string, role and session settings). It runs
///   `LISTEN "<channel>"` for each channel, then waits for notifications.
/// - Waiting takes no thread: the listener's task registers the idle socket with the process's
///   `PGReactor` ("wake me when readable") and suspends; once woken, it reads with
///   `PQconsumeInput` and takes the notifications with `PQnotifies` on its own thread. Only
///   connecting blocks (`PQconnectdbParams`, up to `connectTimeoutSeconds`); it runs on NIO's
///   shared blocking thread pool, never on the cooperative pool.
/// - Every subscriber (`notifications()`) gets every event in order, in a queue of its own of at
///   most `bufferSize` events: a subscriber that stops reading never holds up the others or the
///   listener, and never grows memory past its bound. What does not fit is dropped and the
///   subscriber then gets `.overflowed` where the gap is (see `Event`).
/// - A lost connection (backend terminated, server restart, failed health check) is logged as a
///   warning and replaced, with exponential backoff between attempts (`initialBackoff`, doubling
///   up to `maximumBackoff`, back to `initialBackoff` once a connection has lasted
///   `maximumBackoff`); `LISTEN` is issued again, then every subscriber gets `.reconnected`.
/// - While no notification arrives for `healthCheckInterval`, it sends `SELECT 1`; no answer
///   within another interval counts as a lost connection, so a link that died silently (no FIN
///   from a vanished host) is noticed too.
/// - As a `Service`, `run()` listens until graceful shutdown or cancellation, then closes the
///   connection and ends every subscriber's stream (after the events already queued for it).
///
/// Channel names are simple identifiers (`[A-Za-z_][A-Za-z0-9_]*`, at most 63 bytes), quoted in
/// `LISTEN`, so they are case-sensitive: they match `pg_notify('Name', ...)` exactly, while an
/// unquoted `NOTIFY Name` would fold to `name`. Lowercase names avoid the question.
public final class PGListener: Service, Sendable {
    /// What a subscriber receives.
    public enum Event: Sendable, Hashable {
        /// A notification, in the order the server delivered them.
        case notification(PGNotification)
        /// Listening (re)started after a time in which this subscriber was subscribed but nothing
        /// was listened to: notifications may have been missed, so resynchronise (take a fresh
        /// snapshot). Sent after each lost connection is replaced and `LISTEN` re-issued, and to
        /// a subscriber that subscribed before the listener first connected.
        case reconnected
        /// This subscriber's queue was full and events were dropped just before this point:
        /// resynchronise, as for `.reconnected`. It comes after the events that were kept, as
        /// soon as the subscriber has read them.
        case overflowed
    }

    /// The channels listened to, in the order given, without duplicates.
    public let channels: [String]
    /// How the connection is made (as for a `PGClient`; `maxConnections` and the pool's other
    /// settings do not apply).
    public let configuration: PGConfiguration
    /// The most events queued per subscriber, unless `notifications(bufferSize:)` says otherwise.
    public let bufferSize: Int
    /// The delay before the first attempt to reconnect; it doubles after each failed attempt.
    public let initialBackoff: Duration
    /// The longest delay between attempts to reconnect.
    public let maximumBackoff: Duration
    /// How long the connection may stay silent before a `SELECT 1` checks it; nil: never.
    public let healthCheckInterval: Duration?

    private let logger: Logger
    private let reactor: PGReactor
    /// Connecting blocks (`PQconnectdbParams`), so it runs on NIO's shared blocking pool.
    private let threads: NIOThreadPool
    private let state = NIOLockedValueBox(State())

    private struct Subscription {
        let subscriber: PGListenerSubscriber
        /// Subscribed while nothing was listened to: gets `.reconnected` when listening starts.
        var needsResync: Bool
    }

    private struct State {
        var subscriptions: [Int: Subscription] = [:]
        var nextID = 0
        var listening = false
        var started = false
        var finished = false
        var reconnects = 0
        /// Connection attempts so far, successful or not (for tests: the backoff never spins).
        var attempts = 0
        var backendPID: Int32?
    }

    /// Creates a listener; nothing connects before `run()`.
    ///
    /// - Parameters:
    ///   - configuration: how to connect, as for the pool (connection string, role, settings).
    ///   - channels: the channels to `LISTEN` to (at least one; see the type's note on names).
    ///   - bufferSize: the most events queued per subscriber (default 1,024; at least 1).
    ///   - initialBackoff, maximumBackoff: the delays between attempts to reconnect.
    ///   - healthCheckInterval: silence after which the connection is checked; nil: never.
    /// - Throws: `PGError.usage` for an empty list or a channel name that is not a simple
    ///   identifier.
    public init(
        configuration: PGConfiguration, channels: [String], bufferSize: Int = 1024,
        initialBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .seconds(5),
        healthCheckInterval: Duration? = .seconds(30), logger: Logger = Logger(label: "libpq.listener")
    ) throws {
        guard !channels.isEmpty else {
            throw PGError(code: .usage, message: "a PGListener needs at least one channel")
        }
        for channel in channels where !Self.isValidChannel(channel) {
            throw PGError(
                code: .usage,
                message:
                    "invalid channel name \"\(channel)\": use letters, digits and underscores, not starting with a digit, at most 63 bytes"
            )
        }
        if let url = configuration.connectionString {
            // As `PGClient`: say so at once (without the password); connecting then keeps failing.
            do { try PGConnection.validate(connectionString: url) } catch { logger.error("\(error)") }
        }
        var seen = Set<String>()
        self.channels = channels.filter { seen.insert($0).inserted }
        self.configuration = configuration
        self.bufferSize = max(1, bufferSize)
        self.initialBackoff = max(initialBackoff, .milliseconds(1))
        self.maximumBackoff = max(maximumBackoff, self.initialBackoff)
        self.healthCheckInterval = healthCheckInterval.map { max($0, .milliseconds(10)) }
        self.logger = logger
        self.reactor = PGReactor.shared
        self.threads = NIOThreadPool.singleton
    }

    /// True for a name `LISTEN` accepts here: `[A-Za-z_][A-Za-z0-9_]*`, 1 to 63 bytes (longer
    /// names would be truncated by the server and then match other channels).
    public static func isValidChannel(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A || byte == 0x5F }
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        return isLetter(first) && bytes.allSatisfy { isLetter($0) || isDigit($0) }
    }

    // MARK: Subscribing

    /// A new subscription: every event from now on, in order, until the listener stops (the
    /// stream then finishes) or the reading task is cancelled. Subscribing before the listener
    /// is listening (before `run()`, or while reconnecting) first yields `.reconnected` once it
    /// is. After the listener stopped, the stream is already finished. Read each stream from one
    /// task at a time; dropping the stream ends the subscription.
    ///
    /// - Parameter bufferSize: the most events queued for this subscriber (at least 1); nil:
    ///   the listener's `bufferSize`. A burst (one transaction's notifications arrive together)
    ///   larger than this overflows even a subscriber that reads promptly.
    public func notifications(bufferSize: Int? = nil) -> AsyncStream<Event> {
        let subscriber = PGListenerSubscriber(capacity: bufferSize ?? self.bufferSize)
        let id = state.withLockedValue { state -> Int? in
            guard !state.finished else { return nil }
            state.nextID += 1
            state.subscriptions[state.nextID] = Subscription(subscriber: subscriber, needsResync: !state.listening)
            return state.nextID
        }
        guard let id else { return AsyncStream(unfolding: { nil }) }
        let reader = Reader(subscriber: subscriber) { [weak self] in self?.unsubscribe(id) }
        return AsyncStream(unfolding: { await reader.next() }, onCancel: { reader.end() })
    }

    /// Ends a subscription when its stream is cancelled, finished or dropped (the unfolding
    /// stream releases its closures, and so this reader, once nobody holds the stream).
    private final class Reader: Sendable {
        let subscriber: PGListenerSubscriber
        let onEnd: @Sendable () -> Void

        init(subscriber: PGListenerSubscriber, onEnd: @escaping @Sendable () -> Void) {
            self.subscriber = subscriber
            self.onEnd = onEnd
        }

        func next() async -> Event? {
            let event = await subscriber.next()
            if event == nil { end() }
            return event
        }

        func end() {
            subscriber.cancel()
            onEnd()
        }

        deinit { end() }
    }

    private func unsubscribe(_ id: Int) {
        _ = state.withLockedValue { $0.subscriptions.removeValue(forKey: id) }
    }

    /// Queues `events` for every subscriber, in order, and forgets subscribers that ended.
    private func broadcast(_ events: [Event]) {
        guard !events.isEmpty else { return }
        let subscribers = state.withLockedValue { state in
            state.subscriptions.map { id, subscription in (id, subscription.subscriber) }
        }
        var ended: [Int] = []
        for (id, subscriber) in subscribers where !subscriber.deliver(events) { ended.append(id) }
        if !ended.isEmpty {
            state.withLockedValue { state in for id in ended { state.subscriptions[id] = nil } }
        }
    }

    // MARK: Metrics

    /// True while the connection is up and listening.
    public var isConnected: Bool { state.withLockedValue { $0.listening } }

    /// How many times a lost connection was replaced.
    public var reconnects: Int { state.withLockedValue { $0.reconnects } }

    /// The current subscriptions.
    public var subscriberCount: Int { state.withLockedValue { $0.subscriptions.count } }

    /// The server process id of the listening session, while connected (for diagnostics: it is
    /// the row of `pg_stat_activity` whose `query` is the `LISTEN`, or the health check).
    public var backendPID: Int32? { state.withLockedValue { $0.listening ? $0.backendPID : nil } }

    /// Connection attempts so far (for tests).
    var connectionAttempts: Int { state.withLockedValue { $0.attempts } }

    /// Each subscriber's queued entries and dropped events (for tests and diagnostics).
    var subscriberBacklogs: [(buffered: Int, dropped: Int)] {
        state.withLockedValue { $0.subscriptions.values.map(\.subscriber) }.map { ($0.bufferedCount, $0.droppedCount) }
    }

    // MARK: Running

    /// Listens until graceful shutdown or cancellation, reconnecting as needed; then closes the
    /// connection and finishes every subscriber's stream. Never throws. A second call returns
    /// at once.
    public func run() async throws {
        let first = state.withLockedValue { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        guard first else {
            logger.error("PGListener.run() was called again; a listener runs once")
            return
        }
        await cancelWhenGracefulShutdown { await self.listen() }
        let subscribers = state.withLockedValue { state -> [PGListenerSubscriber] in
            state.finished = true
            state.listening = false
            state.backendPID = nil
            defer { state.subscriptions.removeAll() }
            return state.subscriptions.values.map(\.subscriber)
        }
        for subscriber in subscribers { subscriber.finish() }
        logger.debug("listener stopped", metadata: ["channels": "\(channels.joined(separator: ","))"])
    }

    /// Connects, listens, and reconnects after each loss, until the task is cancelled.
    private func listen() async {
        var delay = initialBackoff
        var lost = false
        var failures = 0
        while !Task.isCancelled {
            let connection: PGConnection
            do {
                connection = try await open()
            } catch {
                if Task.isCancelled { break }
                failures += 1
                logger.warning(
                    "cannot open the LISTEN connection; retrying",
                    metadata: ["error": "\(error)", "attempt": "\(failures)", "retry_in": "\(delay)"])
                await CancellableSleep.sleep(for: delay)
                delay = min(delay * 2, maximumBackoff)
                continue
            }
            if Task.isCancelled { break }
            let connectedAt = ContinuousClock.now
            let pid = PQbackendPID(connection.conn)
            let resync = state.withLockedValue { state -> [PGListenerSubscriber] in
                state.listening = true
                state.backendPID = pid
                if lost { state.reconnects += 1 }
                var resync: [PGListenerSubscriber] = []
                for (id, subscription) in state.subscriptions where subscription.needsResync {
                    state.subscriptions[id]?.needsResync = false
                    resync.append(subscription.subscriber)
                }
                return resync
            }
            // Before any notification of the new session: subscribers resynchronise first.
            for subscriber in resync { subscriber.deliver([.reconnected]) }
            if lost || failures > 0 {
                logger.info(
                    "the LISTEN connection is back", metadata: ["backend_pid": "\(pid)", "attempts": "\(failures + 1)"])
            }
            failures = 0
            let reason = await receive(on: connection)
            state.withLockedValue { state in
                state.listening = false
                state.backendPID = nil
                for id in state.subscriptions.keys { state.subscriptions[id]?.needsResync = true }
            }
            guard let reason else { break }  // cancelled; the connection closes as it goes
            lost = true
            if ContinuousClock.now - connectedAt >= maximumBackoff { delay = initialBackoff }
            logger.warning(
                "lost the LISTEN connection; reconnecting",
                metadata: ["reason": "\(reason)", "backend_pid": "\(pid)", "retry_in": "\(delay)"])
            await CancellableSleep.sleep(for: delay)
            delay = min(delay * 2, maximumBackoff)
        }
    }

    /// Opens the connection and listens to every channel, in one round trip.
    private func open() async throws -> PGConnection {
        state.withLockedValue { $0.attempts += 1 }
        let connection = try await PGConnection.open(configuration: configuration, on: threads)
        // Validated names (no quote can occur), quoted so the case is kept.
        let sql = channels.map { "LISTEN \"\($0)\";" }.joined(separator: " ")
        _ = try await connection.script(sql, reactor: reactor)
        return connection
    }

    // MARK: Receiving

    /// What ended one wait on the socket.
    private enum Wake: Sendable {
        case ready, timedOut, cancelled
        case failed(String)
    }

    /// Delivers notifications from `connection` until it is lost (returns why) or the task is
    /// cancelled (returns nil). Runs on this task alone, so libpq sees one thread at a time.
    private func receive(on connection: PGConnection) async -> String? {
        let conn = connection.conn
        var lastHeard = ContinuousClock.now
        var healthCheckSent: ContinuousClock.Instant?
        var flushing = false
        while true {
            // LISTEN's round trip (or the last read) may have brought notifications already.
            broadcast(takeNotifications(conn))
            if Task.isCancelled { return nil }
            let deadline = healthCheckInterval.map { (healthCheckSent ?? lastHeard) + $0 }
            switch await wait(for: connection, writable: flushing, until: deadline) {
            case .cancelled:
                if Task.isCancelled { return nil }
                continue
            case .failed(let message):
                return message
            case .timedOut:
                if let sent = healthCheckSent {
                    return "no answer to the health check within \(ContinuousClock.now - sent)"
                }
                guard PQsendQuery(conn, "SELECT 1") == 1 else {
                    return Self.message(conn, "cannot send the health check")
                }
                healthCheckSent = .now
                switch PQflush(conn) {
                case 0: flushing = false
                case 1: flushing = true
                default: return Self.message(conn, "cannot send the health check")
                }
                continue
            case .ready:
                break
            }
            if flushing {
                switch PQflush(conn) {
                case 0: flushing = false
                case 1: break
                default: return Self.message(conn, "cannot send the health check")
                }
            }
            // Reads what arrived; fails at the end of the stream (the server went away).
            guard PQconsumeInput(conn) == 1 else {
                broadcast(takeNotifications(conn))
                return Self.message(conn, "the connection was lost")
            }
            lastHeard = .now
            if healthCheckSent != nil {
                while PQisBusy(conn) == 0 {
                    guard let result = PQgetResult(conn) else {
                        healthCheckSent = nil  // answered
                        break
                    }
                    let status = PQresultStatus(result)
                    let text = String(cString: PQresultErrorMessage(result))
                    PQclear(result)
                    guard status == PGRES_TUPLES_OK else {
                        return "the health check failed: \(text.trimmingCharacters(in: .whitespacesAndNewlines))"
                    }
                }
            }
            guard PQstatus(conn) == CONNECTION_OK else {
                broadcast(takeNotifications(conn))
                return Self.message(conn, "the connection was lost")
            }
        }
    }

    /// Waits on the reactor until the socket is ready, the deadline passes or the task is
    /// cancelled.
    private func wait(
        for connection: PGConnection, writable: Bool, until deadline: ContinuousClock.Instant?
    ) async -> Wake {
        let reactor = self.reactor
        @Sendable func ready() async -> Wake {
            switch await reactor.waitUntilReady(connection, writable: writable) {
            case .ready: return .ready
            case .cancelled: return .cancelled
            case .failed(let message): return .failed(message)
            }
        }
        guard let deadline else { return await ready() }
        return await withTaskGroup(of: Wake.self) { group in
            group.addTask { await ready() }
            group.addTask {
                await CancellableSleep.sleep(for: deadline - .now)
                return Task.isCancelled ? .cancelled : .timedOut
            }
            let first = await group.next() ?? .cancelled
            group.cancelAll()
            // The reactor's wait is over once the group is (cancelled: its socket left epoll).
            await group.waitForAll()
            return first
        }
    }

    /// Every notification libpq has read so far, in order.
    private func takeNotifications(_ conn: OpaquePointer) -> [Event] {
        var events: [Event] = []
        while let notify = PQnotifies(conn) {
            events.append(
                .notification(
                    PGNotification(
                        channel: String(cString: notify.pointee.relname),
                        payload: String(cString: notify.pointee.extra),
                        backendPID: notify.pointee.be_pid)))
            PQfreemem(notify)
        }
        return events
    }

    private static func message(_ conn: OpaquePointer, _ prefix: String) -> String {
        let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        return message.isEmpty ? prefix : "\(prefix): \(message)"
    }
}
