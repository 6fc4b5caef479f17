import Hummingbird
import HummingbirdTesting
import LibPQ
import Logging
import Testing

@testable import JobsHTTP

@Suite struct HealthWithoutDatabaseTests {
    @Test func readyzIs503WhenTheDatabaseIsUnreachable() async throws {
        var config = AppConfiguration()
        config.port = 0
        // Nothing listens on port 1: every connection attempt fails at once.
        config.databaseURL = "host=127.0.0.1 port=1 dbname=none connect_timeout=2"
        let client = PGClient(configuration: config.postgres)
        let app = buildApplication(
            configuration: config, client: client, expectedMigration: 1, logger: Logger(label: "test"))
        try await app.test(.router) { http in
            try await http.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await http.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
                let body = String(buffer: response.body)
                #expect(body.contains("unreachable"))
                #expect(!body.contains("127.0.0.1"))
            }
        }
        await client.shutdown()
    }
}
