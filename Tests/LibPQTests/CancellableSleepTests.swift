import Testing

@testable import LibPQ

/// The pool's timeout timer: it elapses, and a cancelled one ends at once. "At once" is checked
/// as "long before its duration": on 2 busy cores (the suites run in parallel, a build beside
/// them) a task may wait seconds for a thread, as CI saw once (7 s).
@Suite struct CancellableSleepTests {
    @Test func elapses() async {
        let started = ContinuousClock.now
        await CancellableSleep.sleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func aCancelledSleepEndsAtOnce() async {
        let started = ContinuousClock.now
        let task = Task { await CancellableSleep.sleep(for: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await task.value
        #expect(ContinuousClock.now - started < .seconds(20), "ended long before its 60 s")
    }

    @Test func cancelledBeforeItStartsEndsAtOnce() async {
        let started = ContinuousClock.now
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await CancellableSleep.sleep(for: .seconds(60))
        }
        await task.value
        #expect(ContinuousClock.now - started < .seconds(20), "ended long before its 60 s")
    }
}
