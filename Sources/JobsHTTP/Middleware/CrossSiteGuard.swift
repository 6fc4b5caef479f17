import Foundation
public import HTTPTypes
import JobsDomain

/// Cross-site request forgery defence for requests authenticated by the `stytch_session`
/// cookie (a browser attaches the cookie to a request another site makes it send; it never
/// attaches an `Authorization` header). Bearer-authenticated requests are not concerned.
///
/// An unsafe method (anything but GET, HEAD, OPTIONS) with the cookie is refused (`403`) when
/// the browser says it is cross-site:
/// - `Sec-Fetch-Site` (sent by every current browser) must be `same-origin` or `none`;
/// - otherwise, an `Origin` header must name this service's own origin (its `Host`, or
///   `X-Forwarded-Host` behind a proxy) or one of `TRUSTED_ORIGINS`; `Origin: null` is refused.
/// A request with neither header did not come from a browser's cross-site form or script (they
/// always send `Origin` on a cross-origin POST), so command-line clients keep working.
public struct CrossSiteGuard: Sendable {
    /// Extra origins allowed to send cookie-authenticated writes (e.g. a dashboard on another
    /// host), as `scheme://host[:port]`, compared case-insensitively.
    public var trustedOrigins: Set<String>

    public init(trustedOrigins: [String] = []) {
        self.trustedOrigins = Set(trustedOrigins.map { Self.normalized($0) })
    }

    static let safeMethods: Set<HTTPRequest.Method> = [.get, .head, .options]

    /// True when the request must be refused. `authority` is the request's Host.
    public func isCrossSite(method: HTTPRequest.Method, authority: String?, headers: HTTPFields) -> Bool {
        if Self.safeMethods.contains(method) { return false }
        if let site = headers[.secFetchSite]?.lowercased() {
            return site != "same-origin" && site != "none"
        }
        guard let origin = headers[.origin] else { return false }
        let normalized = Self.normalized(origin)
        if normalized == "null" || normalized.isEmpty { return true }
        if trustedOrigins.contains(normalized) { return false }
        // scheme://host[:port] → host[:port], compared with the Host this request was sent to.
        guard let separator = normalized.range(of: "://") else { return true }
        let originAuthority = String(normalized[separator.upperBound...])
        let hosts = [authority, headers[.xForwardedHost]].compactMap { $0 }.flatMap {
            $0.split(separator: ",").map { Self.normalized(String($0)) }
        }
        return !hosts.contains(originAuthority)
    }

    static func normalized(_ text: String) -> String {
        var value = text.trimmingHTTPWhitespace.lowercased()
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }

    static let refusal = APIError.forbidden(
        "Cross-site request refused: a write authenticated by the stytch_session cookie must come from this service's own origin (or use an Authorization header)"
    )
}

extension HTTPField.Name {
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
}
