import Synchronization
import Testing

@testable import JobsDomain

/// The feed must stay as cheap on its millionth emit as on its first: with the handler stored as
/// a bare closure in the generic `Mutex`, every emit wrapped it in more reabstraction thunks and
/// a server under load crashed (stack overflow) after about 25,000 changes.
@Suite struct ChangeFeedTests {
    @Test func manyEmitsReachTheConsumerWithoutGrowingTheCall() {
        let feed = ChangeFeed()
        let count = Mutex(0)
        feed.emit(.resync(.started))  // nobody connected: nothing happens
        feed.connect { _ in count.withLock { $0 += 1 } }
        let emits = 200_000
        for _ in 0..<emits { feed.emit(.resync(.overflowed)) }
        #expect(count.withLock { $0 } == emits)
    }

    @Test func reconnectingReplacesTheConsumer() {
        let feed = ChangeFeed()
        let first = Mutex(0)
        let second = Mutex(0)
        feed.connect { _ in first.withLock { $0 += 1 } }
        feed.emit(.resync(.started))
        feed.connect { _ in second.withLock { $0 += 1 } }
        feed.emit(.resync(.reconnected))
        #expect(first.withLock { $0 } == 1 && second.withLock { $0 } == 1)
    }
}
