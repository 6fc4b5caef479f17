import Testing

@testable import LibPQ

/// The subscriber queue's rules, without a database: bounded, in order, and a loss is always
/// reported where it happened.
@Suite struct PGListenerSubscriberTests {
    typealias Event = PGListener.Event

    static func event(_ n: Int) -> Event {
        .notification(PGNotification(channel: "c", payload: "\(n)", backendPID: 1))
    }

    /// Everything queued now, without waiting (the subscriber is finished first).
    static func drain(_ subscriber: PGListenerSubscriber) async -> [Event] {
        subscriber.finish()
        var events: [Event] = []
        while let event = await subscriber.next() { events.append(event) }
        return events
    }

    @Test func eventsArriveInOrder() async {
        let subscriber = PGListenerSubscriber(capacity: 8)
        #expect(subscriber.deliver((0..<3).map(Self.event)))
        #expect(subscriber.deliver([Self.event(3), .reconnected]))
        #expect(await Self.drain(subscriber) == (0..<4).map(Self.event) + [.reconnected])
    }

    @Test func aFullQueueKeepsTheOldestAndMarksTheGapOnce() async {
        let subscriber = PGListenerSubscriber(capacity: 4)
        subscriber.deliver((0..<10).map(Self.event))
        #expect(subscriber.bufferedCount == 4)
        #expect(subscriber.droppedCount == 6)
        // Read two: room for the marker of the gap and one more event.
        #expect(await subscriber.next() == Self.event(0))
        #expect(await subscriber.next() == Self.event(1))
        subscriber.deliver((10..<20).map(Self.event))
        #expect(subscriber.bufferedCount == 4)
        #expect(subscriber.droppedCount == 15)
        let rest = await Self.drain(subscriber)
        #expect(rest == [Self.event(2), Self.event(3), .overflowed, Self.event(10), .overflowed])

        // With one free slot, the marker and the next event may take one entry past capacity.
        let tight = PGListenerSubscriber(capacity: 2)
        tight.deliver((0..<3).map(Self.event))
        #expect(await tight.next() == Self.event(0))
        tight.deliver([Self.event(3), Self.event(4)])
        #expect(tight.bufferedCount == 3)
        #expect(await Self.drain(tight) == [Self.event(1), .overflowed, Self.event(3), .overflowed])
    }

    @Test func theGapIsReportedEvenWhenNothingElseArrives() async {
        let subscriber = PGListenerSubscriber(capacity: 2)
        subscriber.deliver((0..<5).map(Self.event))
        #expect(await subscriber.next() == Self.event(0))
        #expect(await subscriber.next() == Self.event(1))
        #expect(await subscriber.next() == .overflowed)
        subscriber.deliver([Self.event(5)])
        #expect(await subscriber.next() == Self.event(5))
    }

    @Test func aWaitingReaderIsResumedByDeliveryAndByFinish() async {
        let subscriber = PGListenerSubscriber(capacity: 2)
        // Whether the reader is already waiting or not, it gets the event.
        async let first = subscriber.next()
        subscriber.deliver([Self.event(7)])
        #expect(await first == Self.event(7))
        async let end = subscriber.next()
        subscriber.finish()
        #expect(await end == nil)
        #expect(!subscriber.deliver([Self.event(8)]), "a finished subscriber takes nothing more")
    }

    @Test func cancellingTheReaderEndsTheStream() async {
        let subscriber = PGListenerSubscriber(capacity: 2)
        let reader = Task { await subscriber.next() }
        reader.cancel()
        #expect(await reader.value == nil)
        #expect(!subscriber.deliver([Self.event(1)]))
        #expect(subscriber.bufferedCount == 0)
    }
}
