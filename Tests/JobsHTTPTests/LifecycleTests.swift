import Hummingbird
import HummingbirdTesting
import LibPQ
import Logging
import ServiceLifecycle
import Testing

@testable import JobsHTTP

@Suite struct LifecycleTests {
    @Test func drainMonitorFlipsOnGracefulShutdown() async throws {
        let drain = DrainState()
        let group = ServiceGroup(
            configuration: .init(services: [DrainMonitor(state: drain)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(50))
            #expect(!drain.isDraining)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(drain.isDraining)
    }

    @Test func readyzIs503AndResponsesCloseWhileDraining() async throws {
        let drain = DrainState()
        drain.begin()
        var config = AppConfiguration()
        config.port = 0
        config.databaseURL = "host=127.0.0.1 port=1 dbname=none connect_timeout=2"
        let client = PGClient(configuration: config.postgres)
        let app = buildApplication(
            configuration: config, client: client, expectedMigration: 1, logger: Logger(label: "test"), drain: drain)
        try await app.test(.router) { http in
            try await http.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("shutting down"))
                #expect(response.headers[.connection] == "close")
            }
            try await http.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok, "alive while draining")
            }
        }
        await client.shutdown()
    }
}
