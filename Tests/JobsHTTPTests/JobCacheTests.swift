import Foundation
import JobsDomain
import StrictJSON
import Testing

@testable import JobsStore

/// The writer's cache of committed rows: a bounded guess, never trusted past its budget.
@Suite struct JobCacheTests {
    private func job(_ id: String, metadataBytes: Int = 0) -> Job {
        var metadata = JSONObject()
        if metadataBytes > 0 { metadata["blob"] = .string(String(repeating: "x", count: metadataBytes)) }
        return Job(
            organizationID: "org", jobID: id, jobType: "import", totalItems: 10, metadata: metadata, triggeredBy: nil,
            now: Date(timeIntervalSince1970: 1_000))
    }

    private func key(_ id: String) -> JobWriter.Key { .init(organization: "org", jobID: id) }

    @Test func storesReplacesAndRemoves() {
        let cache = JobCache(budget: 1 << 20)
        cache.store(key("a"), job: job("a"), version: "10", recent: [])
        #expect(cache.entry(key("a"))?.version == "10")
        #expect(cache.entry(.init(organization: "other", jobID: "a")) == nil, "keyed by organization too")
        var changed = job("a")
        changed.processedItems = 5
        cache.store(key("a"), job: changed, version: "11", recent: [])
        #expect(cache.entry(key("a"))?.job.processedItems == 5)
        #expect(cache.usage.entries == 1)
        let bytes = cache.usage.bytes
        #expect(bytes > 0)
        cache.remove(key("a"))
        #expect(cache.entry(key("a")) == nil)
        #expect(cache.usage.bytes == 0)
    }

    @Test func staysWithinItsBudget() {
        let budget = 64 * 1024
        let cache = JobCache(budget: budget)
        for n in 0..<2_000 {
            cache.store(key("job-\(n)"), job: job("job-\(n)", metadataBytes: 100), version: "\(n)", recent: [])
            #expect(cache.usage.bytes <= budget)
        }
        #expect(cache.usage.entries > 10)
        #expect(cache.usage.entries < 2_000)
        // The most recent store is always kept.
        #expect(cache.entry(key("job-1999")) != nil)
    }

    @Test func aJobTooBigForTheBudgetIsNotKept() {
        let cache = JobCache(budget: 64 * 1024)
        cache.store(key("big"), job: job("big"), version: "1", recent: [])
        cache.store(key("big"), job: job("big", metadataBytes: 8 * 1024), version: "2", recent: [])
        #expect(cache.entry(key("big")) == nil, "an old copy must not survive a refused store")
    }

    /// Event details count in full: a window of big events cannot slip past the budget.
    @Test func eventsCountTowardsTheBudget() {
        let cache = JobCache(budget: 256 * 1024)
        var details = JSONObject()
        details["blob"] = .string(String(repeating: "d", count: 2_000))
        let events = (1...3).map {
            JobEvent(
                kind: .error, seq: Int64($0), entityKey: "row-\($0)", entityType: "row", errorType: "x", message: "m",
                details: details, step: nil, timestamp: Date(timeIntervalSince1970: 1_000))
        }
        cache.store(key("a"), job: job("a"), version: "1", recent: events)
        #expect(cache.entry(key("a"))?.recent.count == 3)
        #expect(cache.usage.bytes > 6_000)
        cache.store(key("a"), job: job("a"), version: "2", recent: events + events + events)
        #expect(cache.entry(key("a")) == nil, "over a sixteenth of the budget: not kept")
    }

    @Test func aZeroBudgetTurnsItOff() {
        let cache = JobCache(budget: 0)
        cache.store(key("a"), job: job("a"), version: "1", recent: [])
        #expect(cache.entry(key("a")) == nil)
    }
}
