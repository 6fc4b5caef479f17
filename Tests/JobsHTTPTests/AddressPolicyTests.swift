import Testing

@testable import JobsHTTP

/// Which addresses a webhook may reach, and the retry schedule.
@Suite struct AddressPolicyTests {
    @Test(arguments: [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "0.0.0.0", "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "fc00::5",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "ff02::1", "64:ff9b::a9fe:a9fe", "not-an-address",
    ])
    func internalAddressesAreRefused(_ address: String) {
        #expect(AddressPolicy.isInternal(address))
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"])
    func publicAddressesAreAllowed(_ address: String) {
        #expect(!AddressPolicy.isInternal(address))
    }

    @Test func loopbackNamesAreRefusedUnlessListed() async throws {
        await #expect(throws: AddressPolicy.Refused.self) {
            try await AddressPolicy(allowedHosts: []).check(host: "localhost")
        }
        await #expect(throws: AddressPolicy.Refused.self) {
            try await AddressPolicy(allowedHosts: []).check(host: "[::1]")
        }
        try await AddressPolicy(allowedHosts: ["localhost"]).check(host: "LOCALHOST")
        try await AddressPolicy(allowedHosts: ["127.0.0.1"]).check(host: "127.0.0.1")
        // Listing the address (not the name) also allows a name that resolves to it.
        try await AddressPolicy(allowedHosts: ["127.0.0.1", "::1"]).check(host: "localhost")
    }

    @Test func allowListParsing() throws {
        #expect(
            try WebhookSettings.parseHosts(" 127.0.0.1, Hooks.Internal ,[::1]") == [
                "127.0.0.1", "hooks.internal", "::1",
            ])
        #expect(throws: ConfigurationError.self) { try WebhookSettings.parseHosts("a b") }
        #expect(throws: ConfigurationError.self) { try WebhookSettings.parseHosts("http://x/") }
    }

    @Test func backoffDoublesWithJitterAndIsCapped() {
        var settings = WebhookSettings()
        settings.retryBase = .seconds(5)
        for attempt in 1...8 {
            let full = 5.0 * Double(1 << (attempt - 1))
            for _ in 0..<20 {
                let delay = Double(settings.backoff(afterAttempt: attempt).components.seconds)
                #expect(delay >= full / 2 - 1 && delay <= full, "attempt \(attempt): \(delay)")
            }
        }
        #expect(settings.backoff(afterAttempt: 60) <= .seconds(3600))
        #expect(settings.backoff(afterAttempt: 60) >= .seconds(1799))
    }
}
