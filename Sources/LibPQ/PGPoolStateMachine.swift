/// What a task gets from the pool: a connection to use, or a counted slot in which to open a new
/// one. A slot is a grant of its own so the pool never goes above its size while connections are
/// being opened outside the lock.
enum PGPoolGrant<Connection> {
    case connection(Connection)
    case create
}

extension PGPoolGrant: Sendable where Connection: Sendable {}
extension PGPoolGrant: Equatable where Connection: Equatable {}

/// The bookkeeping of `PGClient`'s pool as a value: which connections are idle, how many are open
/// and leased, who waits in which order, and whether the pool is shut down.
///
/// It does no I/O and knows nothing of continuations, locks or clocks: each mutating method
/// changes the counts and returns what the caller must do next (resume a waiter with a grant,
/// open a connection, close connections). The caller runs it under a lock and performs the
/// actions after unlocking. Keeping it free of effects lets the tests drive every interleaving
/// with plain values instead of a database and sleeps.
///
/// A leased grant (a connection or a `.create` slot) must come back exactly once, through
/// `handBack(_:usable:)`, `giveBack(_:)` or `freeSlot()`; the counts rely on it.
struct PGPoolStateMachine<Connection, Waiter> {
    typealias Grant = PGPoolGrant<Connection>

    /// The outcome of `acquire()`.
    enum AcquireAction {
        /// Use this connection or open one in this slot; the lease is already counted.
        case grant(Grant)
        /// Nothing is free: register a waiter under this id with `register(id:waiter:)`.
        case wait(Int)
        /// The pool is shut down.
        case closed
    }

    /// The outcome of `register(id:waiter:)`.
    enum RegisterAction {
        /// Resume the waiter at once: with a grant, or with nil when the pool is closed or the
        /// wait was cancelled before it was registered.
        case resume(Grant?)
        /// The waiter is queued; a later `handBack`, `cancel` or `shutdown` returns it.
        case wait
    }

    let maxConnections: Int
    /// Idle connections, most recently returned last: the warmest one is reused first.
    private var idle: [Connection] = []
    /// Connections open or being opened (leased `.create` slots count).
    private var open = 0
    /// Grants out with callers: connections in use and slots being opened.
    private var leased = 0
    /// Registered waiters in arrival order (served FIFO).
    private var waiters: [(id: Int, waiter: Waiter)] = []
    /// Ids cancelled before their waiter was registered, so the registration resumes at once.
    private var cancelledWaiters: Set<Int> = []
    private var nextWaiterID = 0
    private(set) var isClosed = false

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// Pool figures at this instant.
    var statistics: PGPoolStatistics {
        PGPoolStatistics(
            maxConnections: maxConnections, open: open, idle: idle.count, leased: leased, waiting: waiters.count)
    }

    /// Asks for a connection. A task that must wait gets a fresh id to register its waiter with;
    /// the two steps are separate because the caller can only create its continuation after
    /// leaving the lock.
    mutating func acquire() -> AcquireAction {
        if isClosed { return .closed }
        if let grant = grantIfFree() { return .grant(grant) }
        nextWaiterID += 1
        return .wait(nextWaiterID)
    }

    /// Queues the waiter for an id that `acquire()` returned.
    mutating func register(id: Int, waiter: Waiter) -> RegisterAction {
        if isClosed || cancelledWaiters.remove(id) != nil { return .resume(nil) }
        // A connection may have come back (or a slot freed) between `acquire` deciding to wait and
        // this registration, with no waiter to hand it to: take it now, or this task would wait
        // for a hand-back that never comes.
        if let grant = grantIfFree() { return .resume(grant) }
        waiters.append((id, waiter))
        return .wait
    }

    /// Withdraws a waiting task. Returns its waiter, to be resumed with nil, when it was
    /// registered; otherwise remembers the id so that a registration still to come resumes at
    /// once instead of queueing a task that no longer waits.
    mutating func cancel(id: Int) -> Waiter? {
        if let index = waiters.firstIndex(where: { $0.id == id }) {
            return waiters.remove(at: index).waiter
        }
        cancelledWaiters.insert(id)
        return nil
    }

    /// Ends a lease. A usable connection goes to the first waiter, or becomes idle; otherwise (an
    /// unusable connection, or nil for a slot whose connection was never made) the slot is freed,
    /// or passed to the first waiter as `.create` so it opens a replacement. After shutdown the
    /// slot is simply closed. Returns the waiter to resume and its grant; the caller closes an
    /// unusable connection by dropping it.
    mutating func handBack(_ connection: Connection?, usable: Bool) -> (waiter: Waiter, grant: Grant)? {
        leased -= 1
        if isClosed {
            open -= 1
            return nil
        }
        if usable, let connection {
            if !waiters.isEmpty {
                leased += 1
                return (waiters.removeFirst().waiter, .connection(connection))
            }
            idle.append(connection)
            return nil
        }
        open -= 1
        if !waiters.isEmpty {
            open += 1
            leased += 1
            return (waiters.removeFirst().waiter, .create)
        }
        return nil
    }

    /// Returns a grant that was never used (a waiter granted as its timeout fired, or cancelled),
    /// so no connection or slot leaks.
    mutating func giveBack(_ grant: Grant) -> (waiter: Waiter, grant: Grant)? {
        switch grant {
        case .connection(let connection): handBack(connection, usable: true)
        case .create: freeSlot()
        }
    }

    /// Gives up a slot whose connection failed or was never made; a waiter may then open one.
    mutating func freeSlot() -> (waiter: Waiter, grant: Grant)? {
        handBack(nil, usable: false)
    }

    /// Closes the pool. Returns the idle connections to close and the waiters to resume with nil,
    /// or nil when it was already closed. Leased connections are closed as they come back.
    mutating func shutdown() -> (idle: [Connection], waiters: [Waiter])? {
        if isClosed { return nil }
        isClosed = true
        let closing = idle
        open -= closing.count
        idle = []
        let waiting = waiters.map(\.waiter)
        waiters = []
        return (closing, waiting)
    }

    /// A connection or a free slot for a new one, when nobody waits ahead (FIFO); nil otherwise.
    /// Counts the lease.
    private mutating func grantIfFree() -> Grant? {
        guard waiters.isEmpty else { return nil }
        if let connection = idle.popLast() {
            leased += 1
            return .connection(connection)
        }
        guard open < maxConnections else { return nil }
        open += 1
        leased += 1
        return .create
    }
}

extension PGPoolStateMachine: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PGPoolStateMachine.AcquireAction: Equatable where Connection: Equatable {}
extension PGPoolStateMachine.RegisterAction: Equatable where Connection: Equatable {}
