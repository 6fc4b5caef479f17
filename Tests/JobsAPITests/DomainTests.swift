import Foundation
import Testing

@testable import JobsDomain
@testable import JobsHTTP

@Suite struct RoleTests {
    @Test func permissionsFollowTheContract() {
        #expect(Role.viewer.permissions == [.jobRead])
        #expect(Role.editor.permissions == [.jobRead, .jobCreate, .jobCancel])
        #expect(Role.admin.permissions == Role.editor.permissions)
        #expect(Role.owner.permissions.isSuperset(of: Role.admin.permissions))
        #expect(Role.owner.permissions == Role.admin.permissions)
        #expect(Permission.jobCreate.rawValue == "job:create")
    }
}

@Suite struct TokenTests {
    @Test func tokensAreLongRandomAndPrefixed() {
        let tokens = (0..<100).map { _ in Token.generate(prefix: Token.apiKeyPrefix) }
        #expect(Set(tokens).count == 100)
        for token in tokens {
            #expect(token.hasPrefix("jak_"))
            #expect(token.count == 4 + 43)  // 256 bits in base64url
            #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        }
    }

    @Test func hashIsSHA256() {
        // SHA-256("abc")
        let hex = Token.hash("abc").map { String(format: "%02x", $0) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Token.displayPrefix("jak_abcdefghijklmnop") == "jak_abcdefgh")
    }
}

@Suite struct DurationParserTests {
    @Test(arguments: [("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604_800), ("15", 15)])
    func parses(text: String, seconds: Int64) {
        #expect(DurationParser.parse(text) == .seconds(seconds))
    }

    @Test(arguments: ["", "h", "-5m", "1.5h", "10w", "abc"])
    func rejects(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }
}

@Suite struct ConfigurationTests {
    @Test func defaultsWorkOnADeveloperMachine() throws {
        let config = try AppConfiguration.fromEnvironment([:])
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.databaseURL == nil)
        #expect(config.databaseRole == "jobs_api_app")
        #expect(config.postgres.role == "jobs_api_app")
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

    @Test(arguments: [
        ["PORT": "http"], ["PORT": "70000"], ["DB_POOL_SIZE": "0"], ["LOG_LEVEL": "loud"],
        ["DB_UNNAMED_STATEMENTS": "perhaps"],
    ])
    func badValuesNameTheVariable(environment: [String: String]) {
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(environment) }
        #expect(error?.message.contains(environment.keys.first!) == true)
    }
}
