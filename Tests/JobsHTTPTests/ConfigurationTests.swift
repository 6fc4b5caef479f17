import Foundation
import Testing

@testable import JobsHTTP

@Suite struct ConfigurationTests {
    @Test func defaultsWorkOnADeveloperMachine() throws {
        let config = try AppConfiguration.fromEnvironment([:])
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.databaseURL == nil)
        #expect(config.databaseRole == "jobs_api_app")
        #expect(config.postgres.role == "jobs_api_app")
    }

    /// The server's sessions plan each statement once (generic plans); the owner's are untouched.
    @Test func serverSessionsUseGenericPlans() throws {
        let config = try AppConfiguration.fromEnvironment([:])
        let settings = Dictionary(uniqueKeysWithValues: config.postgres.sessionSettings.map { ($0.name, $0.value) })
        #expect(settings["plan_cache_mode"] == "force_generic_plan")
        #expect(settings["statement_timeout"] == "15000")
        #expect(config.ownerPostgres.sessionSettings.isEmpty)
    }

    @Test func readsTheEnvironment() throws {
        let config = try AppConfiguration.fromEnvironment([
            "HOST": "0.0.0.0", "PORT": "9000", "DATABASE_URL": "postgres://db/x", "DB_POOL_SIZE": "3",
            "DB_ROLE": "", "LOG_LEVEL": "debug", "DB_UNNAMED_STATEMENTS": "true",
        ])
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 9000)
        #expect(config.databaseURL == "postgres://db/x")
        #expect(config.poolSize == 3)
        #expect(config.postgres.role == nil)
        #expect(config.logLevel == .debug)
        #expect(config.unnamedStatements)
    }

    /// The `LISTEN` connection is the pool's unless `LISTEN_DATABASE_URL` says otherwise (then
    /// only the connection string differs: same role and session settings).
    @Test func listenConnectionDefaultsToThePool() throws {
        let plain = try AppConfiguration.fromEnvironment(["APP_DATABASE_URL": "host=pgbouncer port=6432"])
        #expect(plain.listenDatabaseURL == nil)
        #expect(plain.listenPostgres(pool: plain.postgres).connectionString == "host=pgbouncer port=6432")
        let split = try AppConfiguration.fromEnvironment([
            "APP_DATABASE_URL": "host=pgbouncer port=6432", "LISTEN_DATABASE_URL": "host=db port=5432",
        ])
        let listen = split.listenPostgres(pool: split.postgres)
        #expect(listen.connectionString == "host=db port=5432")
        #expect(listen.role == "jobs_api_app")
        #expect(listen.sessionSettings.map(\.name) == split.postgres.sessionSettings.map(\.name))
        #expect(split.postgres.connectionString == "host=pgbouncer port=6432")
    }

    @Test func stallAfterUsesTheDurationFormat() throws {
        #expect(try AppConfiguration.fromEnvironment([:]).stallAfter == .seconds(600))
        #expect(try AppConfiguration.fromEnvironment([:]).effectiveStallCheckInterval == .seconds(30))
        let config = try AppConfiguration.fromEnvironment(["STALL_AFTER": "2m"])
        #expect(config.stallAfter == .seconds(120))
        #expect(config.live.stallAfter == .seconds(120), "live frames render stalled with the same threshold")
        #expect(config.effectiveStallCheckInterval == .seconds(30))
        #expect(try AppConfiguration.fromEnvironment(["STALL_AFTER": "20s"]).effectiveStallCheckInterval == .seconds(5))
        #expect(try AppConfiguration.fromEnvironment(["STALL_AFTER": "2"]).effectiveStallCheckInterval == .seconds(1))
        #expect(try AppConfiguration.fromEnvironment(["STALL_AFTER": "1h"]).stallAfter == .seconds(3600))
        for bad in ["soon", "0s", "-1m", "31d", "10 m"] {
            let error = #expect(throws: ConfigurationError.self) {
                try AppConfiguration.fromEnvironment(["STALL_AFTER": bad])
            }
            #expect(error?.message.contains("STALL_AFTER") == true, "\(bad)")
            #expect(error?.message.contains(bad) == true, "the message shows the value: \(error?.message ?? "")")
        }
        let summary = Dictionary(uniqueKeysWithValues: AppConfiguration().summary)
        #expect(summary["STALL_AFTER"] == "600s")
    }

    @Test(arguments: [
        ["PORT": "http"], ["PORT": "70000"], ["DB_POOL_SIZE": "0"], ["LOG_LEVEL": "loud"],
        ["DB_UNNAMED_STATEMENTS": "perhaps"],
    ])
    func badValuesNameTheVariable(environment: [String: String]) {
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(environment) }
        #expect(error?.message.contains(environment.keys.first!) == true)
    }
}
