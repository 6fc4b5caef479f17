import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import LibPQ

/// `PGListener` against the throwaway PostgreSQL: delivery, order, bounds, reconnection and
/// shutdown. Every test listens on channels of its own (the tests run in parallel), and every
/// wait has a time limit.
@Suite("PGListener")
struct PGListenerTests {
    typealias Event = PGListener.Event

    struct TimedOut: Error, CustomStringConvertible {
        var description: String
    }

    static func channel(_ name: String) -> String { TestDatabase.uniqueID("listen_" + name) }

    static func listener(
        _ channels: [String], bufferSize: Int = 1024, initialBackoff: Duration = .milliseconds(100),
        healthCheckInterval: Duration? = .seconds(30)
    ) throws -> PGListener {
        try TestDatabase.requireConfigured()
        return try PGListener(
            configuration: PGConfiguration(connectionString: TestDatabase.environment["DATABASE_URL"]),
            channels: channels, bufferSize: bufferSize, initialBackoff: initialBackoff,
            healthCheckInterval: healthCheckInterval, logger: Logger(label: "test.listener"))
    }

    /// Runs `listener` while `body` runs (once it is listening), then cancels it and waits for
    /// `run()` to return.
    static func whileRunning<T>(_ listener: PGListener, _ body: () async throws -> T) async throws -> T {
        let running = Task { try await listener.run() }
        do {
            try await waitUntil("the listener is listening") { listener.isConnected }
            let value = try await body()
            running.cancel()
            _ = await running.result
            return value
        } catch {
            running.cancel()
            _ = await running.result
            throw error
        }
    }

    /// Polls `condition` every 10 ms for at most `limit`.
    static func waitUntil(
        _ what: String, within limit: Duration = .seconds(10), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + limit
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The next `count` events of `stream` (fewer if it ends), failing after `limit`. A timeout
    /// cancels the read, which ends that subscription.
    static func next(
        _ count: Int, from stream: AsyncStream<Event>, within limit: Duration = .seconds(15)
    ) async throws -> [Event] {
        let events = await withTaskGroup(of: [Event]?.self) { group in
            group.addTask {
                var events: [Event] = []
                var iterator = stream.makeAsyncIterator()
                while events.count < count, let event = await iterator.next() { events.append(event) }
                return events
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let events else { throw TimedOut(description: "timed out waiting for \(count) events") }
        return events
    }

    /// Sends one notification per payload, each a statement with bound parameters, all in one
    /// pipeline (one transaction: they arrive together, in order, when it commits).
    static func notify(_ client: PGClient, _ channel: String, _ payloads: [String]) async throws {
        let queries: [PGQuery] = payloads.map { "SELECT pg_notify(\(channel), \($0))" }
        _ = try await client.withConnection { try await $0.pipeline(queries) }
    }

    static func notification(_ channel: String, _ payload: String, from pid: Int32) -> Event {
        .notification(PGNotification(channel: channel, payload: payload, backendPID: pid))
    }

    // MARK: Delivery

    @Test func notificationsReachTwoSubscribersInOrder() async throws {
        let jobs = Self.channel("jobs")
        let orgs = Self.channel("orgs")
        let unheard = Self.channel("unheard")
        let listener = try Self.listener([jobs, orgs, jobs])
        #expect(listener.channels == [jobs, orgs], "duplicates are listened to once")
        let sender = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await sender.shutdown() } }
        try await Self.whileRunning(listener) {
            let first = listener.notifications()
            let second = listener.notifications()
            #expect(listener.subscriberCount == 2)
            let pid = try await sender.withConnection { lease in
                for (channel, payload) in [(jobs, "1"), (unheard, "x"), (orgs, "2"), (jobs, "3")] {
                    try await lease.query("SELECT pg_notify(\(channel), \(payload))")
                }
                return Int32(try await lease.backendPID())
            }
            let expected = [
                Self.notification(jobs, "1", from: pid), Self.notification(orgs, "2", from: pid),
                Self.notification(jobs, "3", from: pid),
            ]
            #expect(try await Self.next(3, from: first) == expected)
            #expect(try await Self.next(3, from: second) == expected)
            #expect(listener.reconnects == 0)
        }
    }

    @Test func payloadsKeepEveryCharacter() async throws {
        let channel = Self.channel("unicode")
        let listener = try Self.listener([channel])
        let sender = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await sender.shutdown() } }
        let payloads = [
            "héllo ✓ 🚀 日本語 Ελληνικά עברית", "", "quote ' double \" backslash \\ dollar $1 newline\nend",
            #"{"job":"01J","v":3}"#, String(repeating: "é", count: 3_000),
        ]
        try await Self.whileRunning(listener) {
            let events = listener.notifications()
            try await Self.notify(sender, channel, payloads)
            let received = try await Self.next(payloads.count, from: events).map { event -> String? in
                guard case .notification(let notification) = event else { return nil }
                return notification.payload
            }
            #expect(received == payloads)
        }
    }

    @Test func aBurstOfAThousandArrivesInOrder() async throws {
        let channel = Self.channel("burst")
        let listener = try Self.listener([channel])
        let sender = try TestDatabase.ownerClient(maxConnections: 2)
        defer { Task { await sender.shutdown() } }
        try await Self.whileRunning(listener) {
            let first = listener.notifications()
            let second = listener.notifications()
            // Four transactions of 250, sent back to back.
            for batch in 0..<4 {
                try await Self.notify(sender, channel, (batch * 250..<(batch + 1) * 250).map { "n\($0)" })
            }
            for stream in [first, second] {
                let payloads = try await Self.next(1000, from: stream).map { event -> String in
                    guard case .notification(let notification) = event else { return "\(event)" }
                    return notification.payload
                }
                #expect(payloads == (0..<1000).map { "n\($0)" })
            }
            #expect(listener.subscriberBacklogs.allSatisfy { $0.dropped == 0 })
        }
    }

    // MARK: Loss and bounds

    @Test func aTerminatedBackendIsReplacedAndSubscribersResynchronise() async throws {
        let channel = Self.channel("reconnect")
        let listener = try Self.listener([channel], initialBackoff: .milliseconds(50))
        let admin = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await admin.shutdown() } }
        try await Self.whileRunning(listener) {
            let events = listener.notifications()
            let pid = try #require(listener.backendPID)
            let query = try await admin.query("SELECT query FROM pg_stat_activity WHERE pid = \(Int(pid))").first?
                .decode("query", as: String.self)
            #expect(query?.contains("LISTEN \"\(channel)\"") == true, "that backend is the listener's: \(query ?? "-")")
            try await Self.notify(admin, channel, ["before"])
            #expect(try await Self.next(1, from: events).count == 1)

            let killed = try await admin.query("SELECT pg_terminate_backend(\(Int(pid))::int) AS ok").first!
                .decode("ok", as: Bool.self)
            #expect(killed)
            #expect(try await Self.next(1, from: events) == [.reconnected])
            #expect(listener.reconnects == 1)
            #expect(listener.isConnected)
            let newPID = try #require(listener.backendPID)
            #expect(newPID != pid)

            try await Self.notify(admin, channel, ["after-1", "after-2"])
            let after = try await Self.next(2, from: events).map { event -> String in
                guard case .notification(let notification) = event else { return "\(event)" }
                return notification.payload
            }
            #expect(after == ["after-1", "after-2"])
            // A subscriber that joins now has nothing to resynchronise.
            let late = listener.notifications()
            try await Self.notify(admin, channel, ["late"])
            let lateEvents = try await Self.next(1, from: late)
            guard case .notification(let notification) = lateEvents.first else {
                Issue.record("expected a notification, got \(lateEvents)")
                return
            }
            #expect(notification.payload == "late")
        }
    }

    @Test func aSubscriberThatNeverReadsHoldsUpNobodyAndStaysBounded() async throws {
        let channel = Self.channel("stalled")
        let listener = try Self.listener([channel], bufferSize: 16)
        let sender = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await sender.shutdown() } }
        try await Self.whileRunning(listener) {
            let stalled = listener.notifications()
            let reader = listener.notifications(bufferSize: 1024)
            try await Self.notify(sender, channel, (0..<300).map { "p\($0)" })
            let read = try await Self.next(300, from: reader).map { event -> String in
                guard case .notification(let notification) = event else { return "\(event)" }
                return notification.payload
            }
            #expect(read == (0..<300).map { "p\($0)" }, "the reader got everything, in order")
            let backlogs = listener.subscriberBacklogs.sorted { $0.buffered > $1.buffered }
            #expect(backlogs.count == 2)
            #expect(backlogs.first?.buffered == 16, "the stalled queue is bounded")
            #expect(backlogs.first?.dropped == 284)
            #expect(backlogs.last?.dropped == 0)

            // The stalled subscriber gets the oldest events kept, then the gap, then new events.
            let kept = try await Self.next(17, from: stalled)
            let keptPayloads = kept.compactMap { event -> String? in
                guard case .notification(let notification) = event else { return nil }
                return notification.payload
            }
            #expect(keptPayloads == (0..<16).map { "p\($0)" })
            #expect(kept.last == .overflowed)
            try await Self.notify(sender, channel, ["fresh"])
            let fresh = try await Self.next(1, from: stalled)
            guard case .notification(let notification) = fresh.first else {
                Issue.record("expected a notification, got \(fresh)")
                return
            }
            #expect(notification.payload == "fresh")
        }
    }

    @Test func subscribingBeforeListeningStartsWithReconnected() async throws {
        let channel = Self.channel("early")
        let listener = try Self.listener([channel])
        let sender = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await sender.shutdown() } }
        let early = listener.notifications()
        try await Self.whileRunning(listener) {
            #expect(try await Self.next(1, from: early) == [.reconnected])
            try await Self.notify(sender, channel, ["first"])
            let events = try await Self.next(1, from: early)
            guard case .notification(let notification) = events.first else {
                Issue.record("expected a notification, got \(events)")
                return
            }
            #expect(notification.payload == "first")
            #expect(listener.reconnects == 0, "a first connection is not a reconnection")
        }
    }

    @Test func anIdleConnectionIsHealthChecked() async throws {
        let channel = Self.channel("health")
        let listener = try Self.listener([channel], healthCheckInterval: .milliseconds(100))
        let admin = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await admin.shutdown() } }
        try await Self.whileRunning(listener) {
            let events = listener.notifications()
            let pid = try #require(listener.backendPID)
            try await Self.waitUntil("the health check ran") {
                let query = try await admin.query("SELECT query FROM pg_stat_activity WHERE pid = \(Int(pid))").first?
                    .decode("query", as: String.self)
                return query == "SELECT 1"
            }
            try await Self.notify(admin, channel, ["still here"])
            #expect(try await Self.next(1, from: events).count == 1)
            #expect(listener.reconnects == 0)
            #expect(listener.backendPID == pid)
        }
    }

    @Test func anUnreachableServerIsRetriedWithBackoffWithoutSpinning() async throws {
        let listener = try PGListener(
            configuration: PGConfiguration(connectionString: "host=127.0.0.1 port=1 dbname=none connect_timeout=2"),
            channels: [Self.channel("unreachable")], initialBackoff: .milliseconds(10),
            maximumBackoff: .milliseconds(80), logger: Logger(label: "test.listener"))
        let early = listener.notifications()
        let running = Task { try await listener.run() }
        try await Self.waitUntil("a few attempts") { listener.connectionAttempts >= 4 }
        let started = ContinuousClock.now
        let attemptsBefore = listener.connectionAttempts
        try await Task.sleep(for: .milliseconds(800))
        let attempts = listener.connectionAttempts - attemptsBefore
        let elapsed = ContinuousClock.now - started
        // Past the first delays, one attempt per 80 ms at most (plus the connect itself).
        #expect(attempts >= 1 && Double(attempts) <= elapsed / .milliseconds(80) + 2, "\(attempts) in \(elapsed)")
        #expect(!listener.isConnected)
        #expect(listener.backendPID == nil)
        running.cancel()
        try await Self.waitUntil("run() returns") { listener.subscriberCount == 0 }
        _ = await running.result
        #expect(try await Self.next(5, from: early).isEmpty, "no events, and the stream ends")
        #expect(listener.reconnects == 0)
    }

    // MARK: Ending

    @Test func gracefulShutdownFinishesEveryStream() async throws {
        let channel = Self.channel("shutdown")
        let listener = try Self.listener([channel])
        let admin = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await admin.shutdown() } }
        let group = ServiceGroup(
            configuration: .init(services: [listener], gracefulShutdownSignals: [], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Self.waitUntil("the listener is listening") { listener.isConnected }
            let pid = try #require(listener.backendPID)
            let reading = listener.notifications()
            let queued = listener.notifications()
            try await Self.notify(admin, channel, ["a", "b", "c"])
            #expect(try await Self.next(3, from: reading).count == 3)

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(!listener.isConnected)
            #expect(listener.backendPID == nil)
            #expect(listener.subscriberCount == 0)
            // Streams end; what was queued before the shutdown is still read first.
            #expect(try await Self.next(10, from: reading).isEmpty)
            #expect(try await Self.next(10, from: queued).count == 3)
            #expect(try await Self.next(10, from: listener.notifications()).isEmpty, "subscribing after the end")
            try await Self.waitUntil("the backend is gone") {
                try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = \(Int(pid))").first!
                    .decode("n", as: Int.self) == 0
            }
        }
    }

    @Test func aDroppedOrCancelledSubscriptionIsForgotten() async throws {
        let channel = Self.channel("dropped")
        let listener = try Self.listener([channel])
        let sender = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await sender.shutdown() } }
        try await Self.whileRunning(listener) {
            do {
                let stream = listener.notifications()
                #expect(listener.subscriberCount == 1)
                withExtendedLifetime(stream) {}
            }
            #expect(listener.subscriberCount == 0, "dropping the stream ends the subscription")

            let stream = listener.notifications()
            let reading = Task {
                var count = 0
                for await _ in stream { count += 1 }
                return count
            }
            try await Self.notify(sender, channel, ["one"])
            // Cancelled while waiting or while the notification is queued: either way the loop
            // ends and the subscription is forgotten.
            reading.cancel()
            try await Self.waitUntil("the cancelled subscription is forgotten") { listener.subscriberCount == 0 }
            #expect(await reading.value <= 1)
            try await Self.notify(sender, channel, ["two"])
            #expect(listener.isConnected)
        }
    }

    // MARK: Channel names

    @Test(arguments: ["", "1abc", "a-b", "a b", "a\"b", "é", "drop;table", String(repeating: "x", count: 64)])
    func invalidChannelNamesAreRefused(name: String) throws {
        let error = #expect(throws: PGError.self) {
            try PGListener(configuration: PGConfiguration(), channels: ["ok", name])
        }
        #expect(error?.code == .usage)
    }

    @Test func simpleIdentifiersAreAccepted() throws {
        for name in ["jobs", "Jobs_Events", "_x9", String(repeating: "x", count: 63)] {
            #expect(PGListener.isValidChannel(name), "\(name)")
        }
        #expect(throws: PGError.self) { try PGListener(configuration: PGConfiguration(), channels: []) }
    }
}
