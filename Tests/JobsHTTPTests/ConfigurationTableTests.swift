import Foundation
import Testing

@testable import JobsHTTP

/// The configuration table (`AppConfiguration.settings`) is the one source of the settings: the
/// README's table, the defaults, the messages and the command line's layer all follow it.
@Suite struct ConfigurationTableTests {
    static let begin = "<!-- configuration-table:begin -->"
    static let end = "<!-- configuration-table:end -->"

    /// The README's text between the markers.
    static func readmeTable() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: begin), "README lacks \(begin)")
        let stop = try #require(readme.range(of: end, range: start.upperBound..<readme.endIndex), "README lacks \(end)")
        return readme[start.upperBound..<stop.lowerBound].trimmingCharacters(in: .newlines)
    }

    @Test func readmeShowsTheRenderedTable() throws {
        let rendered = AppConfiguration.markdownTable()
        #expect(try Self.readmeTable() == rendered, "paste this between the README's markers:\n\(rendered)")
    }

    @Test func namesAreUniqueAndLookLikeEnvironmentVariables() {
        let names = AppConfiguration.settings.map(\.name)
        #expect(Set(names).count == names.count)
        for name in names {
            #expect(name.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }, "\(name)")
        }
    }

    @Test func everyDefaultParsesToTheBuiltInValue() throws {
        let builtIn = String(describing: AppConfiguration())
        for setting in AppConfiguration.settings {
            guard case .value(let text) = setting.defaultValue else { continue }
            var config = AppConfiguration()
            try setting.apply(&config, text)
            #expect(String(describing: config) == builtIn, "\(setting.name)=\(text)")
        }
        // Reading nothing gives the built-in values too.
        let read = try AppConfiguration.fromEnvironment([:])
        #expect(String(describing: read) == builtIn)
    }

    @Test func summaryFollowsTheTableAndLeavesOutThePassword() {
        var config = AppConfiguration()
        config.appDatabasePassword = "s3cret-pw"
        config.appDatabaseURL = "postgres://jobs_api_server:s3cret-pw@db/jobs"
        let summary = config.summary
        let names = AppConfiguration.settings.map(\.name).filter { $0 != "APP_DB_PASSWORD" }
        #expect(summary.map(\.0) == names)
        #expect(!summary.contains { $0.1.contains("s3cret-pw") })
        let values = Dictionary(uniqueKeysWithValues: summary)
        #expect(values["DB_POOL_TIMEOUT_MS"] == "5000")
        #expect(values["AUTH_CACHE_TTL_SECONDS"] == "10s")
        #expect(values["PRUNE_AFTER"] == "off")
        #expect(values["PRUNE_INTERVAL"] == "3600s")
        #expect(values["LOG_FORMAT"] == "auto")
    }

    @Test(arguments: [
        ("PORT", "http", "PORT must be an integer in 0...65535, got \"http\""),
        ("DB_POOL_SIZE", "0", "DB_POOL_SIZE must be an integer in 1...1000, got \"0\""),
        ("DB_POOL_TIMEOUT_MS", "0", "DB_POOL_TIMEOUT_MS must be an integer in 1...600000, got \"0\""),
        ("AUTH_CACHE_TTL_SECONDS", "31", "AUTH_CACHE_TTL_SECONDS must be an integer in 0...30, got \"31\""),
        (
            "LOG_LEVEL", "loud",
            "LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical; got \"loud\""
        ),
        ("DB_UNNAMED_STATEMENTS", "perhaps", "DB_UNNAMED_STATEMENTS must be true or false, got \"perhaps\""),
        (
            "TRUSTED_ORIGINS", "https://ok.example, dash.example.com",
            "TRUSTED_ORIGINS must list origins like https://dash.example.com, got \"dash.example.com\""
        ),
        ("PRUNE_AFTER", "soon", "PRUNE_AFTER must look like 90d, 12h or 30m, got \"soon\""),
        ("PRUNE_INTERVAL", "0s", "PRUNE_INTERVAL must look like 1h, 30m or 600s, got \"0s\""),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be json or text, got \"xml\""),
    ])
    func badValuesGiveTheSameMessages(name: String, value: String, message: String) {
        let fromEnvironment = #expect(throws: ConfigurationError.self) {
            try AppConfiguration.fromEnvironment([name: value])
        }
        #expect(fromEnvironment?.message == message)
        let fromOverride = #expect(throws: ConfigurationError.self) {
            try AppConfiguration.read(environment: [:], overrides: [name: value])
        }
        #expect(fromOverride?.message == message)
    }

    @Test func readsEveryKindOfValue() throws {
        let config = try AppConfiguration.fromEnvironment([
            "DB_POOL_TIMEOUT_MS": "250", "AUTH_CACHE_TTL_SECONDS": "0", "TRUSTED_ORIGINS": " https://a.example ,,",
            "PRUNE_AFTER": "90d", "LOG_FORMAT": "JSON", "MAX_EVENTS_PER_JOB": "7", "APP_DB_PASSWORD": "pw",
            "HOST": "", "MIGRATIONS_DIR": "/m",
        ])
        #expect(config.poolAcquireTimeout == .milliseconds(250))
        #expect(config.authCacheTTL == .zero)
        #expect(config.trustedOrigins == ["https://a.example"])
        #expect(config.pruneAfter == .seconds(90 * 86400))
        #expect(config.logFormat == .json)
        #expect(config.limits.maxEventsPerJob == 7)
        #expect(config.appDatabasePassword == "pw")
        #expect(config.host == "127.0.0.1", "empty = unset")
        #expect(config.migrationsDirectory == "/m")
    }

    @Test func anOverrideBeatsTheEnvironment() throws {
        let environment = ["DB_POOL_SIZE": "3", "DB_ROLE": "custom", "HOST": "0.0.0.0", "LOG_FORMAT": "text"]
        let config = try AppConfiguration.read(
            environment: environment, overrides: ["DB_POOL_SIZE": "7", "DB_ROLE": "", "LOG_FORMAT": "json"])
        #expect(config.poolSize == 7)
        #expect(config.databaseRole == "", "an empty DB_ROLE is a value: no SET ROLE")
        #expect(config.logFormat == .json)
        #expect(config.host == "0.0.0.0", "what is not overridden comes from the environment")
        // A bad environment value that is overridden does not matter.
        #expect(try AppConfiguration.read(environment: ["PORT": "x"], overrides: ["PORT": "9"]).port == 9)
    }

    @Test func setTakesOnlyNamesOfTheTable() throws {
        #expect(
            try AppConfiguration.overrides(fromAssignments: ["DB_POOL_SIZE=32", "DB_ROLE="])
                == ["DB_POOL_SIZE": "32", "DB_ROLE": ""])
        #expect(
            try AppConfiguration.overrides(fromAssignments: ["DATABASE_URL=host=db dbname=x"])
                == ["DATABASE_URL": "host=db dbname=x"])
        let unknown = #expect(throws: ConfigurationError.self) {
            try AppConfiguration.overrides(fromAssignments: ["DB_POOL_SIZE=32", "PGHOST=db"])
        }
        #expect(unknown?.message.hasPrefix("--set PGHOST: unknown setting \"PGHOST\"; the settings are ") == true)
        #expect(unknown?.message.contains("DB_POOL_SIZE") == true)
        let malformed = #expect(throws: ConfigurationError.self) {
            try AppConfiguration.overrides(fromAssignments: ["novalue"])
        }
        #expect(malformed?.message == "--set takes NAME=VALUE, got \"novalue\"")
        let direct = #expect(throws: ConfigurationError.self) {
            try AppConfiguration.read(environment: [:], overrides: ["NOPE": "1"])
        }
        #expect(direct?.message.contains("\"NOPE\"") == true)
    }
}
