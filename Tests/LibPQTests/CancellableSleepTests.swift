import Testing

@testable import LibPQ

/// The pool's timeout timer: it elapses, and a cancelled one ends at once.
@Suite struct CancellableSleepTests {
    @Test func elapses() async {
        let started = ContinuousClock.now
        await CancellableSleep.sleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func aCancelledSleepEndsAtOnce() async {
        let started = ContinuousClock.now
        let task = Task { await CancellableSleep.sleep(for: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await task.value
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func cancelledBeforeItStartsEndsAtOnce() async {
        let started = ContinuousClock.now
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await CancellableSleep.sleep(for: .seconds(30))
        }
        await task.value
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
