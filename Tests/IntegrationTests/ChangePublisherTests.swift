import Foundation
import LibPQ
import Logging
import Testing

@testable import JobsStore

/// Committed changes reach other instances through one batched `pg_notify`, not one per write.
@Suite("ChangePublisher")
struct ChangePublisherTests {
    @Test func payloadsPackLinesUnderTheLimit() {
        let notices = (0..<500).map {
            ChangeNotice(organizationID: "org_a", jobID: "job_\($0)", version: "\(1000 + $0)")
        }
        let payloads = ChangePublisher.payloads(notices, maxBytes: 1_000)
        #expect(payloads.allSatisfy { $0.utf8.count <= 1_000 })
        #expect(payloads.flatMap(ChangeNotice.parse) == notices)
        #expect(payloads.count < 20)
        #expect(ChangePublisher.payloads([], maxBytes: 1_000).isEmpty)
        #expect(
            ChangeNotice.parse("a b\nx y z\n\nbad") == [ChangeNotice(organizationID: "x", jobID: "y", version: "z")])
    }

    @Test func aThousandChangesArriveInOrderInAFewNotifications() async throws {
        try await TestDatabase.migrated()
        let channel = "changes_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        var pg = PGConfiguration(connectionString: TestDatabase.environment["DATABASE_URL"], maxConnections: 1)
        pg.role = nil
        let listener = try PGListener(configuration: pg, channels: [channel])
        let sender = try TestDatabase.ownerClient(maxConnections: 1)
        let publisher = ChangePublisher(
            client: sender, channel: channel, interval: .milliseconds(10), logger: Logger(label: "test"))
        let stream = listener.notifications(bufferSize: 10_000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            group.addTask { try await publisher.run() }
            // Wait until the listener listens (a first, possibly missed, notice is fine to lose).
            let deadline = ContinuousClock.now + .seconds(10)
            while !listener.isConnected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(listener.isConnected)
            let sent = (0..<1_000).map { ChangeNotice(organizationID: "org_p", jobID: "job_\($0)", version: "\($0)") }
            for notice in sent { publisher.publish(notice) }
            var received: [ChangeNotice] = []
            var notifications = 0
            for await event in stream {
                guard case .notification(let n) = event else { continue }
                notifications += 1
                received += ChangeNotice.parse(n.payload)
                if received.count >= sent.count { break }
            }
            #expect(received == sent)
            #expect(notifications < 50, "batched: \(notifications) notifications for 1,000 changes")
            #expect(publisher.dropped == 0)
            group.cancelAll()
        }
        await sender.shutdown()
    }
}
