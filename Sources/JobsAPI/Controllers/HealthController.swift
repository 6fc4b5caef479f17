import Hummingbird
import LibPQ
import NIOCore

/// `GET /healthz` (the process is alive) and `GET /readyz` (the database answers and its
/// migrations are current).
public struct HealthController: Sendable {
    let database: Database
    /// The newest migration version this build's files contain.
    let expectedMigration: Int
    let drain: DrainState

    public init(database: Database, expectedMigration: Int, drain: DrainState = DrainState()) {
        self.database = database
        self.expectedMigration = expectedMigration
        self.drain = drain
    }

    static let routes: [(method: HTTPRequest.Method, path: String)] = [(.get, "/healthz"), (.get, "/readyz")]

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("healthz") { _, _ in Self.json(.ok, #"{"status":"ok"}"#) }
        router.get("readyz") { _, _ in await self.readiness() }
    }

    func readiness() async -> Response {
        if drain.isDraining {
            return Self.json(.serviceUnavailable, #"{"status":"unavailable","detail":"the server is shutting down"}"#)
        }
        do {
            let row = try await database.client.query(
                "SELECT COALESCE(max(version), 0) AS version FROM schema_migrations"
            ).first
            let version = try row?.decode("version", as: Int.self) ?? 0
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
        headers[.contentType] = "application/json"
        if status == .serviceUnavailable { headers[.retryAfter] = "5" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
