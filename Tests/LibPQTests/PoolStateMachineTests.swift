import JobsTestSupport
import Testing

@testable import LibPQ

/// Connections are plain numbers and waiters plain names: the state machine only stores and
/// returns them, so the tests can check exactly which one went where.
private typealias Machine = PGPoolStateMachine<Int, String>

@Suite struct PoolStateMachineTests {
    @Test func firstAcquiresCreateSlotsUpToMaxThenWait() {
        var pool = Machine(maxConnections: 3)
        for _ in 0..<3 { #expect(pool.acquire() == .grant(.create)) }
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 3, open: 3, idle: 0, leased: 3, waiting: 0))
        // Each task that must wait gets an id of its own to register under.
        #expect(pool.acquire() == .wait(1))
        #expect(pool.acquire() == .wait(2))
        #expect(pool.statistics.open == 3)
        #expect(pool.statistics.waiting == 0)  // not registered yet
    }

    @Test func idleConnectionsAreReusedNewestFirstBeforeOpeningMore() {
        var pool = Machine(maxConnections: 3)
        #expect(pool.acquire() == .grant(.create))
        #expect(pool.acquire() == .grant(.create))
        #expect(pool.handBack(1, usable: true) == nil)
        #expect(pool.handBack(2, usable: true) == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 3, open: 2, idle: 2, leased: 0, waiting: 0))
        #expect(pool.acquire() == .grant(.connection(2)))
        #expect(pool.acquire() == .grant(.connection(1)))
        #expect(pool.acquire() == .grant(.create))
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 3, open: 3, idle: 0, leased: 3, waiting: 0))
    }

    @Test func handBackServesWaitersInArrivalOrder() {
        var pool = Machine(maxConnections: 1)
        #expect(pool.acquire() == .grant(.create))
        for name in ["a", "b", "c"] {
            guard case .wait(let id) = pool.acquire() else {
                Issue.record("a full pool must make \(name) wait")
                return
            }
            #expect(pool.register(id: id, waiter: name) == .wait)
        }
        #expect(pool.statistics.waiting == 3)
        // A new arrival queues behind the registered waiters even though nothing is free anyway.
        #expect(pool.acquire() == .wait(4))
        for name in ["a", "b", "c"] {
            let served = pool.handBack(7, usable: true)
            #expect(served?.waiter == name)
            #expect(served?.grant == .connection(7))
            #expect(pool.statistics.leased == 1)
        }
        #expect(pool.handBack(7, usable: true) == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 1, open: 1, idle: 1, leased: 0, waiting: 0))
    }

    @Test func unusableHandBackGivesTheFirstWaiterASlot() {
        var pool = Machine(maxConnections: 2)
        #expect(pool.acquire() == .grant(.create))
        #expect(pool.acquire() == .grant(.create))
        register(["a", "b"], in: &pool)

        let first = pool.handBack(1, usable: false)
        #expect(first?.waiter == "a")
        #expect(first?.grant == .create)
        // The broken connection's slot went to "a": still two open (one being opened), none idle.
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 2, open: 2, idle: 0, leased: 2, waiting: 1))

        // "a" failed to connect: its slot goes to "b".
        let second = pool.freeSlot()
        #expect(second?.waiter == "b")
        #expect(second?.grant == .create)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 2, open: 2, idle: 0, leased: 2, waiting: 0))

        // With nobody waiting, an unusable connection and a failed slot just close.
        #expect(pool.handBack(2, usable: false) == nil)
        #expect(pool.freeSlot() == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 2, open: 0, idle: 0, leased: 0, waiting: 0))
        #expect(pool.acquire() == .grant(.create))
    }

    @Test func aUsableFlagWithoutAConnectionStillFreesTheSlot() {
        var pool = Machine(maxConnections: 1)
        #expect(pool.acquire() == .grant(.create))
        #expect(pool.handBack(nil, usable: true) == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 1, open: 0, idle: 0, leased: 0, waiting: 0))
    }

    @Test func giveBackReturnsAnUnusedGrant() {
        var pool = Machine(maxConnections: 2)
        #expect(pool.acquire() == .grant(.create))
        #expect(pool.acquire() == .grant(.create))
        // An unused connection becomes idle; an unused slot closes.
        #expect(pool.giveBack(.connection(1)) == nil)
        #expect(pool.giveBack(.create) == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 2, open: 1, idle: 1, leased: 0, waiting: 0))
        // And with a waiter, both go to it.
        #expect(pool.acquire() == .grant(.connection(1)))
        #expect(pool.acquire() == .grant(.create))
        register(["a", "b"], in: &pool)
        #expect(pool.giveBack(.connection(1))?.grant == .connection(1))
        #expect(pool.giveBack(.create)?.grant == .create)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 2, open: 2, idle: 0, leased: 2, waiting: 0))
    }

    @Test func cancellingARegisteredWaiterRemovesOnlyIt() {
        var pool = Machine(maxConnections: 1)
        #expect(pool.acquire() == .grant(.create))
        let ids = register(["a", "b", "c"], in: &pool)
        #expect(pool.cancel(id: ids[1]) == "b")
        #expect(pool.statistics.waiting == 2)
        // A second cancel of the same id finds nothing to resume.
        #expect(pool.cancel(id: ids[1]) == nil)
        #expect(pool.handBack(1, usable: true)?.waiter == "a")
        #expect(pool.handBack(1, usable: true)?.waiter == "c")
        #expect(pool.handBack(1, usable: true) == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 1, open: 1, idle: 1, leased: 0, waiting: 0))
    }

    @Test func cancellingBeforeRegistrationResumesTheRegistrationAtOnce() {
        var pool = Machine(maxConnections: 1)
        #expect(pool.acquire() == .grant(.create))
        guard case .wait(let id) = pool.acquire() else {
            Issue.record("a full pool must make the task wait")
            return
        }
        // The cancellation handler ran before the continuation was registered.
        #expect(pool.cancel(id: id) == nil)
        #expect(pool.register(id: id, waiter: "late") == .resume(nil))
        #expect(pool.statistics.waiting == 0)
        // The cancelled task never receives the connection: it goes idle.
        #expect(pool.handBack(1, usable: true) == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 1, open: 1, idle: 1, leased: 0, waiting: 0))
    }

    @Test func aConnectionHandedBackBeforeRegistrationIsTakenAtRegistration() {
        var pool = Machine(maxConnections: 1)
        #expect(pool.acquire() == .grant(.create))
        guard case .wait(let id) = pool.acquire() else {
            Issue.record("a full pool must make the task wait")
            return
        }
        // The connection comes back while nobody is registered: it can only go idle.
        #expect(pool.handBack(1, usable: true) == nil)
        #expect(pool.statistics.idle == 1)
        // The registration must take it, or the task would wait for a hand-back that never comes.
        #expect(pool.register(id: id, waiter: "a") == .resume(.connection(1)))
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 1, open: 1, idle: 0, leased: 1, waiting: 0))
    }

    @Test func aSlotFreedBeforeRegistrationIsTakenAtRegistration() {
        var pool = Machine(maxConnections: 1)
        #expect(pool.acquire() == .grant(.create))
        guard case .wait(let id) = pool.acquire() else {
            Issue.record("a full pool must make the task wait")
            return
        }
        #expect(pool.freeSlot() == nil)
        #expect(pool.statistics.open == 0)
        #expect(pool.register(id: id, waiter: "a") == .resume(.create))
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 1, open: 1, idle: 0, leased: 1, waiting: 0))
    }

    @Test func shutdownReturnsIdleConnectionsAndClosesThePool() {
        var pool = Machine(maxConnections: 3)
        for _ in 0..<3 { #expect(pool.acquire() == .grant(.create)) }
        #expect(pool.handBack(1, usable: true) == nil)
        #expect(pool.handBack(2, usable: true) == nil)
        let closing = pool.shutdown()
        #expect(closing?.idle == [1, 2])
        #expect(closing?.waiters == [])
        #expect(pool.isClosed)
        // The leased connection is still counted until it comes back.
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 3, open: 1, idle: 0, leased: 1, waiting: 0))
        #expect(pool.acquire() == .closed)
        #expect(pool.shutdown() == nil)
    }

    @Test func shutdownReturnsWaitersAndLaterRegistrationsResumeEmpty() {
        var pool = Machine(maxConnections: 1)
        #expect(pool.acquire() == .grant(.create))
        register(["a", "b"], in: &pool)
        guard case .wait(let unregistered) = pool.acquire() else {
            Issue.record("a full pool must make the task wait")
            return
        }
        let closing = pool.shutdown()
        #expect(closing?.idle == [])
        #expect(closing?.waiters == ["a", "b"])
        #expect(pool.statistics.waiting == 0)
        #expect(pool.register(id: unregistered, waiter: "c") == .resume(nil))
        #expect(pool.statistics.waiting == 0)
        #expect(pool.acquire() == .closed)
    }

    @Test func handBackAfterShutdownClosesTheConnection() {
        var pool = Machine(maxConnections: 3)
        for _ in 0..<3 { #expect(pool.acquire() == .grant(.create)) }
        #expect(pool.shutdown() != nil)
        #expect(pool.handBack(1, usable: true) == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 3, open: 2, idle: 0, leased: 2, waiting: 0))
        #expect(pool.handBack(2, usable: false) == nil)
        #expect(pool.freeSlot() == nil)
        #expect(pool.statistics == PGPoolStatistics(maxConnections: 3, open: 0, idle: 0, leased: 0, waiting: 0))
    }

    /// Drives the machine with random operations, as concurrent tasks would, against a simple
    /// model of who holds what, and checks the counts and the FIFO order after every step.
    @Test(arguments: [1, 2, 3, 42, 2026] as [UInt64])
    func invariantsHoldUnderRandomOperations(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var model = Model(maxConnections: Int.random(in: 1...4, using: &random))
        for step in 0..<4000 {
            try model.step(&random, step: step)
            try model.checkInvariants(step: step)
        }
        try model.drain()
        try model.checkInvariants(step: -1)
        #expect(model.pool.statistics.open == 0)
        #expect(model.pool.statistics.leased == 0)
    }

    /// Registers named waiters on a full pool and returns their ids.
    @discardableResult
    private func register(_ names: [String], in pool: inout Machine, sourceLocation: SourceLocation = #_sourceLocation)
        -> [Int]
    {
        var ids: [Int] = []
        for name in names {
            guard case .wait(let id) = pool.acquire() else {
                Issue.record("a full pool must make \(name) wait", sourceLocation: sourceLocation)
                continue
            }
            #expect(pool.register(id: id, waiter: name) == .wait, sourceLocation: sourceLocation)
            ids.append(id)
        }
        return ids
    }
}

/// What the callers of the pool hold, kept beside the machine so every answer can be checked.
private struct Model {
    var pool: PGPoolStateMachine<Int, Int>
    /// Grants out with callers: connections in use and slots being opened.
    var held: [PGPoolGrant<Int>] = []
    /// Connections the model expects idle in the pool.
    var idle: Set<Int> = []
    /// Ids from `.wait` whose waiter is not registered yet.
    var pending: [Int] = []
    /// Pending ids that were cancelled before registering.
    var cancelledPending: Set<Int> = []
    /// Registered waiters (their own ids), in arrival order.
    var registered: [Int] = []
    var nextConnection = 1
    var closed = false

    init(maxConnections: Int) {
        pool = PGPoolStateMachine(maxConnections: maxConnections)
    }

    mutating func step(_ random: inout SplitMix64, step: Int) throws {
        let choice = Int.random(in: 0..<100, using: &random)
        switch choice {
        case 0..<30: try acquire(step: step)
        case 30..<45: try registerPending(&random, step: step)
        case 45..<55: try cancelSomeone(&random, step: step)
        case 55..<99: try returnHeld(&random, step: step)
        default:
            if closed {
                // Start over with a fresh pool once everything came back, to exercise more runs.
                if held.isEmpty && pending.isEmpty {
                    self = Model(maxConnections: Int.random(in: 1...4, using: &random))
                }
            } else if Int.random(in: 0..<5, using: &random) == 0 {
                try shutdown(step: step)
            }
        }
    }

    mutating func acquire(step: Int) throws {
        let statistics = pool.statistics
        switch pool.acquire() {
        case .closed:
            try #require(closed, "step \(step): closed answer from an open pool")
        case .grant(.connection(let connection)):
            try #require(!closed && registered.isEmpty, "step \(step): granted ahead of waiters or after close")
            try #require(idle.remove(connection) != nil, "step \(step): granted \(connection), which is not idle")
            held.append(.connection(connection))
        case .grant(.create):
            try #require(!closed && registered.isEmpty && idle.isEmpty, "step \(step): opened while one was idle")
            try #require(statistics.open < statistics.maxConnections, "step \(step): slot beyond the maximum")
            held.append(.create)
        case .wait(let id):
            try #require(!closed, "step \(step): wait on a closed pool")
            try #require(
                !registered.isEmpty || (idle.isEmpty && statistics.open == statistics.maxConnections),
                "step \(step): wait although something was free")
            try #require(!pending.contains(id) && !registered.contains(id), "step \(step): reused waiter id \(id)")
            pending.append(id)
        }
    }

    mutating func registerPending(_ random: inout SplitMix64, step: Int) throws {
        guard !pending.isEmpty else { return }
        let id = pending.remove(at: Int.random(in: pending.indices, using: &random))
        let statistics = pool.statistics
        let action = pool.register(id: id, waiter: id)
        if closed || cancelledPending.remove(id) != nil {
            try #require(action == .resume(nil), "step \(step): a closed or cancelled registration got \(action)")
            return
        }
        switch action {
        case .resume(.connection(let connection)?):
            try #require(registered.isEmpty, "step \(step): registration jumped the queue")
            try #require(idle.remove(connection) != nil, "step \(step): registration got non-idle \(connection)")
            held.append(.connection(connection))
        case .resume(.create?):
            try #require(registered.isEmpty && idle.isEmpty, "step \(step): registration opened one needlessly")
            try #require(statistics.open < statistics.maxConnections, "step \(step): slot beyond the maximum")
            held.append(.create)
        case .resume(nil):
            Issue.record("step \(step): a live registration was resumed empty")
        case .wait:
            try #require(
                !registered.isEmpty || (idle.isEmpty && statistics.open == statistics.maxConnections),
                "step \(step): queued although something was free")
            registered.append(id)
        }
    }

    mutating func cancelSomeone(_ random: inout SplitMix64, step: Int) throws {
        if !registered.isEmpty && Bool.random(using: &random) {
            let id = registered.remove(at: Int.random(in: registered.indices, using: &random))
            try #require(pool.cancel(id: id) == id, "step \(step): cancel did not return registered \(id)")
        } else if let id = pending.randomElement(using: &random) {
            try #require(pool.cancel(id: id) == nil, "step \(step): cancel of unregistered \(id) returned a waiter")
            cancelledPending.insert(id)
        }
    }

    mutating func returnHeld(_ random: inout SplitMix64, step: Int) throws {
        guard !held.isEmpty else { return }
        let index = Int.random(in: held.indices, using: &random)
        let served: (waiter: Int, grant: PGPoolGrant<Int>)?
        let expectedGrant: PGPoolGrant<Int>
        switch held[index] {
        case .create where Bool.random(using: &random):
            // The connection opened: the caller now holds it, the pool is not involved.
            held[index] = .connection(nextConnection)
            nextConnection += 1
            return
        case .create:
            held.remove(at: index)
            served = pool.freeSlot()
            expectedGrant = .create
        case .connection(let connection):
            held.remove(at: index)
            let usable = Int.random(in: 0..<4, using: &random) != 0
            if Bool.random(using: &random) && usable {
                served = pool.giveBack(.connection(connection))
            } else {
                served = pool.handBack(connection, usable: usable)
            }
            expectedGrant = usable ? .connection(connection) : .create
            if usable && registered.isEmpty && !closed { idle.insert(connection) }
        }
        if closed || registered.isEmpty {
            try #require(served == nil, "step \(step): served a waiter that does not exist")
            return
        }
        let first = registered.removeFirst()
        try #require(served?.waiter == first, "step \(step): served \(String(describing: served)), not \(first)")
        try #require(served?.grant == expectedGrant, "step \(step): wrong grant \(String(describing: served))")
        held.append(expectedGrant)
    }

    mutating func shutdown(step: Int) throws {
        let result = pool.shutdown()
        let closing = try #require(result, "step \(step): first shutdown returned nil")
        try #require(Set(closing.idle) == idle && closing.idle.count == idle.count, "step \(step): idle mismatch")
        try #require(closing.waiters == registered, "step \(step): waiters \(closing.waiters) not \(registered)")
        idle = []
        registered = []
        closed = true
        try #require(pool.shutdown() == nil, "step \(step): second shutdown returned something")
    }

    /// Shuts down and returns everything, as `PGClient.shutdown` and the last releases would.
    mutating func drain() throws {
        if !closed { try shutdown(step: -1) }
        for id in pending {
            try #require(pool.register(id: id, waiter: id) == .resume(nil), "drain: registration after shutdown")
        }
        pending = []
        for grant in held {
            switch grant {
            case .connection(let connection):
                try #require(pool.handBack(connection, usable: true) == nil, "drain: served after shutdown")
            case .create:
                try #require(pool.freeSlot() == nil, "drain: served after shutdown")
            }
        }
        held = []
    }

    func checkInvariants(step: Int) throws {
        let s = pool.statistics
        try #require(s.open == s.idle + s.leased, "step \(step): open \(s.open) != idle + leased in \(s)")
        try #require(s.open >= 0 && s.open <= s.maxConnections, "step \(step): open out of range in \(s)")
        try #require(s.leased == held.count, "step \(step): leased \(s.leased), callers hold \(held.count)")
        try #require(s.idle == idle.count, "step \(step): idle \(s.idle), expected \(idle.count)")
        try #require(s.waiting == registered.count, "step \(step): waiting \(s.waiting), registered \(registered)")
        try #require(pool.isClosed == closed, "step \(step): isClosed is \(pool.isClosed)")
        if s.waiting > 0 {
            // Nobody waits while a connection or a slot is free.
            try #require(s.idle == 0 && s.open == s.maxConnections, "step \(step): waiters beside free capacity \(s)")
        }
        if closed { try #require(s.idle == 0 && s.waiting == 0, "step \(step): closed pool keeps \(s)") }
    }
}

/// A small seeded generator so a failing random run can be replayed exactly.
