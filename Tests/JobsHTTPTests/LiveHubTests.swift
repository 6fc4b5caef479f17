import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobsTestSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import StrictJSON
import Testing

@testable import JobsDomain
@testable import JobsHTTP
@testable import JobsStore

/// The hub's fan-out rules without a database: one read per remote change for all subscribers,
/// no duplicate for a version already sent, slow consumers dropped, drain; and `GET /api/me`.
@Suite struct LiveHubTests {
    /// Storage that counts `snapshot` reads and whose change feed the test drives by hand (as
    /// notices from "another instance").
    final class CountingStorage: JobStorage, Sendable {
        let inner = MemoryStore()
        let changes = ChangeFeed()
        private let reads = NIOLockedValueBox(0)
        var snapshotReads: Int { reads.withLockedValue { $0 } }

        func create(
            organization: String, guarded: IdempotencyGuard?, _ make: @Sendable () -> (Job, RecordedResponse)
        ) async throws -> WriteOutcome { try await inner.create(organization: organization, guarded: guarded, make) }
        func job(_ id: String, in organization: String) async throws -> (Job, [JobEvent])? {
            try await inner.job(id, in: organization)
        }
        func snapshot(_ id: String, in organization: String) async throws -> JobSnapshot? {
            reads.withLockedValue { $0 += 1 }
            return try await inner.snapshot(id, in: organization)
        }
        func jobRow(_ id: String, in organization: String) async throws -> Job? {
            try await inner.jobRow(id, in: organization)
        }
        func list(_ filter: ListFilter, in organization: String) async throws -> ([Job], ListCursor?) {
            try await inner.list(filter, in: organization)
        }
        func events(of id: String, kind: EventKind, in organization: String, limit: Int, afterSeq: Int64)
            async throws -> ([JobEvent], Int64?)?
        {
            try await inner.events(of: id, kind: kind, in: organization, limit: limit, afterSeq: afterSeq)
        }
        func write(organization: String, jobID: String, _ change: JobChange) async throws -> WriteOutcome {
            try await inner.write(organization: organization, jobID: jobID, change)
        }
    }

    static func makeJob(_ storage: CountingStorage, org: String = "org_a") async throws -> String {
        let outcome = try await storage.create(organization: org, guarded: nil) {
            let job = Job(
                organizationID: org, jobID: JobID.generate(now: Date()), jobType: "t", totalItems: 10,
                metadata: JSONObject(),
                triggeredBy: nil, now: Date())
            return (job, RecordedResponse(status: 201, body: job.jobID))
        }
        return outcome.response.body
    }

    static func progress(_ storage: CountingStorage, _ id: String, processed: Int64, org: String = "org_a")
        async throws
    {
        _ = try await storage.write(
            organization: org, jobID: id,
            JobChange(guarded: nil) { job, now throws(APIError) in
                job.processedItems = processed
                job.updatedAt = now
                return []
            } render: { _, _, _ in
                RecordedResponse(status: 200, body: "")
            })
    }

    /// Reads frames until `count` arrived or `timeout` passed.
    static func collect(_ frames: AsyncStream<LiveFrame>, count: Int, timeout: Duration = .seconds(5)) async
        -> [String]
    {
        await withTaskGroup(of: [String].self) { group in
            group.addTask {
                var got: [String] = []
                for await case .frame(let buffer, _) in frames {
                    got.append(String(buffer: buffer))
                    if got.count == count { break }
                }
                return got
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return []
            }
            let first = await group.next() ?? []
            group.cancelAll()
            return first
        }
    }

    @Test func manySubscribersOfOneJobCostOneReadPerRemoteChange() async throws {
        let storage = CountingStorage()
        let hub = LiveHub(storage: storage, settings: LiveSettings(), metrics: nil, logger: Logger(label: "t"))
        let id = try await Self.makeJob(storage)
        let first = try #require(try await storage.inner.snapshot(id, in: "org_a"))
        var streams: [AsyncStream<LiveFrame>] = []
        for _ in 0..<50 {
            let (subscription, frames) = try hub.subscribe(organization: "org_a", .job(id))
            hub.start(subscription, with: first, lastEventID: nil)
            streams.append(frames)
        }
        // Another instance changed the job: its notice reaches the hub.
        try await Self.progress(storage, id, processed: 4)
        let changed = try #require(try await storage.inner.snapshot(id, in: "org_a"))
        let before = storage.snapshotReads
        storage.changes.emit(.notice(organizationID: "org_a", jobID: id, version: changed.version))
        for frames in streams {
            let got = await Self.collect(frames, count: 2)
            #expect(got.count == 2)
            #expect(got.last?.contains(#""processed_items":4"#) == true)
            #expect(got.last?.contains("id: \(changed.version)\n") == true)
        }
        #expect(storage.snapshotReads - before == 1, "one read for 50 subscribers")
        // The same version again (this instance already sent it): no read, nothing sent.
        storage.changes.emit(.notice(organizationID: "org_a", jobID: id, version: changed.version))
        try await Task.sleep(for: .milliseconds(100))
        #expect(storage.snapshotReads - before == 1)
        // A notice for a job nobody here watches costs nothing.
        storage.changes.emit(.notice(organizationID: "org_a", jobID: "job_nobody", version: "9"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(storage.snapshotReads - before == 1)
        #expect(hub.openStreams == 50)
    }

    @Test func aSlowConsumerIsDroppedNotBufferedWithoutBound() async throws {
        let storage = CountingStorage()
        var settings = LiveSettings()
        settings.bufferFrames = 4
        let hub = LiveHub(storage: storage, settings: settings, metrics: nil, logger: Logger(label: "t"))
        storage.inner.changes.connect { hub.handle($0) }
        let (_, frames) = try hub.subscribe(organization: "org_a", .organization(statuses: [], jobType: nil))
        for _ in 0..<10 { _ = try await Self.makeJob(storage) }
        #expect(hub.openStreams == 0, "the stream that read nothing was ended")
        var kept = 0
        for await _ in frames { kept += 1 }
        #expect(kept == 4, "its queue held at most bufferFrames frames, then it ended")
        // A stream that is read keeps going.
        let (_, reader) = try hub.subscribe(organization: "org_a", .organization(statuses: [], jobType: nil))
        async let got = Self.collect(reader, count: 6)
        for _ in 0..<6 {
            _ = try await Self.makeJob(storage)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await got.count == 6)
        #expect(hub.openStreams == 1)
    }

    @Test func drainEndsStreamsAndRefusesNewOnes() async throws {
        let storage = CountingStorage()
        var settings = LiveSettings()
        settings.maxStreamsPerOrganization = 1
        let hub = LiveHub(storage: storage, settings: settings, metrics: nil, logger: Logger(label: "t"))
        let (_, frames) = try hub.subscribe(organization: "org_a", .organization(statuses: [], jobType: nil))
        #expect(throws: APIError.self) {
            try hub.subscribe(organization: "org_a", .organization(statuses: [], jobType: nil))
        }
        let drain = DrainState()
        drain.whenDraining { hub.close() }
        drain.begin()
        var count = 0
        for await _ in frames { count += 1 }
        #expect(count == 0)
        #expect(hub.openStreams == 0)
        do {
            _ = try hub.subscribe(organization: "org_b", .organization(statuses: [], jobType: nil))
            Issue.record("a draining hub admitted a stream")
        } catch {
            #expect(error.status == 503)
        }
    }

    @Test func meListsWhereTheCallerMayAct() async throws {
        let store = MemoryStore()
        store.addAPIKey("jak_viewer", keyID: "k1", organization: "org_a", role: .viewer)
        store.addSession(
            "sess_two", userID: "u2",
            memberships: [.init(organizationID: "org_a", role: .viewer), .init(organizationID: "org_b", role: .editor)])
        let router = buildRouter(
            configuration: AppConfiguration(), backend: .memory(store), expectedMigration: 0, metrics: AppMetrics(),
            logger: Logger(label: "t"))
        try await Application(router: router).test(.router) { http in
            let none = try await http.call(.get, "/api/me")
            #expect(none.status == 401)
            let key = try await http.call(.get, "/api/me", headers: [.authorization: "Bearer jak_viewer"])
            #expect(key.status == 200)
            #expect(key["principal"] as? String == "api_key")
            let keyOrgs = try #require(key["organizations"] as? [[String: Any]])
            #expect(keyOrgs.count == 1)
            #expect(keyOrgs.first?["permissions"] as? [String] == ["job:read"])
            // A member of two organizations needs no X-Organization-ID here.
            let user = try await http.call(.get, "/api/me", headers: [.cookie: "stytch_session=sess_two"])
            #expect(user.status == 200)
            #expect(user["user_id"] as? String == "u2")
            let orgs = try #require(user["organizations"] as? [[String: Any]])
            #expect(orgs.compactMap { $0["organization_id"] as? String } == ["org_a", "org_b"])
            #expect(orgs.last?["permissions"] as? [String] == ["job:read", "job:create", "job:cancel"])
        }
    }
}
