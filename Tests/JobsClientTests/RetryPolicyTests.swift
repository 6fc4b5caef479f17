import JobsTestSupport
import Testing

@testable import JobsClient

@Suite struct RetryPolicyTests {
    @Test func defaultsAreThoseDocumented() {
        let policy = RetryPolicy.default
        #expect(policy.maxAttempts == 6)
        #expect(policy.baseDelay == .milliseconds(200))
        #expect(policy.maxDelay == .seconds(5))
        #expect(policy.requestTimeout == .seconds(10))
        #expect(policy.jitter > 0 && policy.jitter <= 1)
    }

    @Test func backoffDoublesThenStaysAtTheCap() {
        let policy = RetryPolicy()
        let schedule = (1...10).map { policy.nominalDelay(forAttempt: $0) }
        #expect(
            schedule == [
                .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200),
                .seconds(5), .seconds(5), .seconds(5), .seconds(5), .seconds(5),
            ])
        #expect(zip(schedule, schedule.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func hugeAttemptNumbersDoNotOverflow() {
        let policy = RetryPolicy()
        #expect(policy.nominalDelay(forAttempt: .max) == .seconds(5))
        #expect(policy.nominalDelay(forAttempt: 0) == .milliseconds(200))
        #expect(policy.nominalDelay(forAttempt: -3) == .milliseconds(200))
    }

    @Test func jitterOnlyShortensAndStaysBounded() {
        let policy = RetryPolicy(jitter: 0.5)
        var generator = SplitMix64(seed: 42)
        for attempt in 1...12 {
            let nominal = policy.nominalDelay(forAttempt: attempt)
            for _ in 0..<50 {
                let delay = policy.delay(forAttempt: attempt, using: &generator)
                #expect(delay <= nominal)
                #expect(delay >= nominal * 0.5)
                #expect(delay <= policy.maxDelay)
            }
        }
    }

    @Test func withoutJitterTheDelayIsTheNominalOne() {
        let policy = RetryPolicy(jitter: 0)
        #expect((1...8).map { policy.delay(forAttempt: $0) } == (1...8).map { policy.nominalDelay(forAttempt: $0) })
    }

    @Test func retryAfterReplacesTheBackoffAndIsCapped() {
        let policy = RetryPolicy(jitter: 0, maxRetryAfter: .seconds(30))
        #expect(policy.delay(forAttempt: 1, retryAfter: .seconds(3)) == .seconds(3))
        #expect(policy.delay(forAttempt: 1, retryAfter: .seconds(3600)) == .seconds(30))
        #expect(policy.delay(forAttempt: 2, retryAfter: nil) == .milliseconds(400))
    }

    @Test func parametersAreClamped() {
        let policy = RetryPolicy(maxAttempts: 0, jitter: 7)
        #expect(policy.maxAttempts == 1)
        #expect(policy.jitter == 1)
        #expect(RetryPolicy.none.maxAttempts == 1)
    }
}
