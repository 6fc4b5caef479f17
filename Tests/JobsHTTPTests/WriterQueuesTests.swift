import JobsTestSupport
import Testing

@testable import JobsStore

/// The coalescing writer's queues, driven as a state machine with plain values: no tasks, no
/// database, no sleeps.
@Suite struct WriterQueuesTests {
    @Test func theFirstRequestLeadsAndTheOthersWait() {
        var queues = WriterQueues<String, Int>()
        let r1 = queues.arrive("job_a")
        #expect(r1)
        let r2 = queues.arrive("job_a")
        #expect(!r2)
        let r3 = queues.enqueue(1, for: "job_a")
        #expect(r3 == .queued)
        let r4 = queues.enqueue(2, for: "job_a")
        #expect(r4 == .queued)
        // Another job is independent.
        let r5 = queues.arrive("job_b")
        #expect(r5)
        #expect(queues.waiting(for: "job_a") == 2)
        let r6 = queues.takeBatch(for: "job_a", max: 128)
        #expect(r6 == [1, 2])
        let r7 = queues.finish("job_a")
        #expect(r7 == nil)
        #expect(!queues.isBusy("job_a"))
        let r8 = queues.finish("job_b")
        #expect(r8 == nil)
        #expect(queues.isIdle)
    }

    @Test func aBatchTakesAtMostMaxMinusOneAndTheRestWaitForTheNextLeader() {
        var queues = WriterQueues<String, Int>()
        let r9 = queues.arrive("j")
        #expect(r9)
        for waiter in 1...5 {
            let r10 = queues.arrive("j")
            #expect(!r10)
            let r11 = queues.enqueue(waiter, for: "j")
            #expect(r11 == .queued)
        }
        let r12 = queues.takeBatch(for: "j", max: 3)
        #expect(r12 == [1, 2])
        // The leader is done: the oldest still queued leads the next batch with the others.
        let r13 = queues.finish("j")
        #expect(r13 == 3)
        #expect(queues.isBusy("j"))
        let r14 = queues.takeBatch(for: "j", max: 3)
        #expect(r14 == [4, 5])
        let r15 = queues.finish("j")
        #expect(r15 == nil)
        #expect(queues.isIdle)
    }

    /// The leader finished between a request's `arrive` (busy) and its `enqueue`: the request
    /// must lead instead of waiting for a hand-over that would never come.
    @Test func aRequestWhoseBatchEndedBeforeItQueuedLeads() {
        var queues = WriterQueues<String, Int>()
        let r16 = queues.arrive("j")
        #expect(r16)
        let r17 = queues.arrive("j")
        #expect(!r17)
        let r18 = queues.takeBatch(for: "j", max: 8)
        #expect(r18 == [])
        let r19 = queues.finish("j")
        #expect(r19 == nil)
        let r20 = queues.enqueue(7, for: "j")
        #expect(r20 == .leadNow)
        #expect(queues.isBusy("j"))
        #expect(queues.waiting(for: "j") == 0)
        // A later arrival waits behind this new leader.
        let r21 = queues.arrive("j")
        #expect(!r21)
        let r22 = queues.enqueue(8, for: "j")
        #expect(r22 == .queued)
        let r23 = queues.takeBatch(for: "j", max: 8)
        #expect(r23 == [8])
        let r24 = queues.finish("j")
        #expect(r24 == nil)
        #expect(queues.isIdle)
    }

    /// Random interleavings of many requests on a few jobs: every request is either a leader or
    /// served exactly once (in a batch or as a next leader), in arrival order per job, and the
    /// queues end empty.
    @Test func everyRequestIsServedOnceInOrder() {
        var rng = SplitMix64(seed: 0x5EED)
        var queues = WriterQueues<Int, Int>()
        var leaders: [Int: Int] = [:]  // job -> request leading its batch
        var served: [Int: [Int]] = [:]  // job -> requests in the order they were served
        var pending: [Int] = []  // requests that arrived busy and are not queued yet
        var nextRequest = 0
        func job(of request: Int) -> Int { request % 3 }
        for _ in 0..<20_000 {
            switch rng.next() % 4 {
            case 0, 1:  // a request arrives
                let request = nextRequest
                nextRequest += 1
                if queues.arrive(job(of: request)) {
                    #expect(leaders[job(of: request)] == nil)
                    leaders[job(of: request)] = request
                    served[job(of: request), default: []].append(request)
                } else {
                    pending.append(request)
                }
            case 2:  // a pending request registers
                guard !pending.isEmpty else { continue }
                let request = pending.removeFirst()
                if queues.enqueue(request, for: job(of: request)) == .leadNow {
                    #expect(leaders[job(of: request)] == nil)
                    leaders[job(of: request)] = request
                    served[job(of: request), default: []].append(request)
                }
            default:  // a leader runs its batch and finishes
                guard let (job, _) = leaders.randomElement(using: &rng) else { continue }
                let batch = queues.takeBatch(for: job, max: Int(rng.next() % 4) + 1)
                served[job, default: []] += batch
                leaders[job] = nil
                if let next = queues.finish(job) {
                    leaders[job] = next
                    served[job, default: []].append(next)
                }
            }
        }
        // Drain: register the rest, then let leaders finish until nothing is left.
        for request in pending where queues.enqueue(request, for: job(of: request)) == .leadNow {
            #expect(leaders[job(of: request)] == nil)
            leaders[job(of: request)] = request
            served[job(of: request), default: []].append(request)
        }
        while let (job, _) = leaders.first {
            served[job, default: []] += queues.takeBatch(for: job, max: 4)
            leaders[job] = nil
            if let next = queues.finish(job) {
                leaders[job] = next
                served[job, default: []].append(next)
            }
        }
        #expect(queues.isIdle)
        let all = served.values.flatMap { $0 }
        #expect(all.count == nextRequest, "every request served")
        #expect(Set(all).count == nextRequest, "none served twice")
    }
}
