import Foundation
import Testing

@testable import JobsDomain

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
