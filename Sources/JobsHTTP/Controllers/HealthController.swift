import Hummingbird
import JobsDomain
import NIOCore

/// `GET /healthz` (the process is alive) and `GET /readyz` (the database answers and its
/// migrations are current).
struct HealthController: Sendable {
    let probe: any ReadinessProbe
    /// The newest migration version this build's files contain.
    let expectedMigration: Int
    let drain: DrainState

    init(probe: any ReadinessProbe, expectedMigration: Int, drain: DrainState = DrainState()) {
        self.probe = probe
        self.expectedMigration = expectedMigration
        self.drain = drain
    }

    var routes: [Route] {
        [
            Route(method: .get, path: "/healthz") { _, _ in Self.json(.ok, #"{"status":"ok"}"#) },
            Route(method: .get, path: "/readyz") { _, _ in await readiness() },
        ]
    }

    func readiness() async -> Response {
        if drain.isDraining {
            return Self.json(.serviceUnavailable, #"{"status":"unavailable","detail":"the server is shutting down"}"#)
        }
        do {
            let version = try await probe.migrationVersion()
            guard version >= expectedMigration else {
                return Self.json(
                    .serviceUnavailable, #"{"status":"unavailable","detail":"database migrations are pending"}"#)
            }
            return Self.json(.ok, #"{"status":"ready"}"#)
        } catch {
            return Self.json(.serviceUnavailable, #"{"status":"unavailable","detail":"the database is unreachable"}"#)
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        if status == .serviceUnavailable { headers[.retryAfter] = "5" }
        return JSONResponse.text(status, ByteBuffer(string: body), headers: headers)
    }
}
