import HTTPTypes
import Testing

@testable import JobsHTTP

@Suite struct CrossSiteGuardTests {
    func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs where name != "Host" {
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        return fields
    }

    func authority(_ pairs: [(String, String)]) -> String? { pairs.first { $0.0 == "Host" }?.1 }

    @Test func browserSignalsDecide() {
        let guardian = CrossSiteGuard(trustedOrigins: ["https://dash.example.com/"])
        let host = ("Host", "jobs.example.com")
        // Refused: the browser says cross-site, or the Origin is another site (or null).
        for headers in [
            [host, ("Sec-Fetch-Site", "cross-site")], [host, ("Sec-Fetch-Site", "same-site")],
            [host, ("Origin", "https://evil.example")], [host, ("Origin", "null")],
            [host, ("Origin", "https://jobs.example.com.evil.example")],
        ] {
            #expect(
                guardian.isCrossSite(method: .post, authority: authority(headers), headers: fields(headers)),
                "\(headers)")
        }
        // Allowed: same origin, a trusted origin, or no browser signal at all (curl, scripts).
        for headers in [
            [host, ("Sec-Fetch-Site", "same-origin")], [host, ("Sec-Fetch-Site", "none")],
            [host, ("Origin", "https://jobs.example.com")], [host, ("Origin", "HTTPS://DASH.example.com")],
            [
                ("Host", "internal:8080"), ("X-Forwarded-Host", "jobs.example.com"),
                ("Origin", "https://jobs.example.com"),
            ],
            [host],
        ] {
            #expect(
                !guardian.isCrossSite(method: .post, authority: authority(headers), headers: fields(headers)),
                "\(headers)")
        }
        // Safe methods are never refused.
        #expect(
            !guardian.isCrossSite(
                method: .get, authority: "jobs.example.com", headers: fields([("Sec-Fetch-Site", "cross-site")])))
    }
}
