public import Foundation
public import JobsDomain

/// How this service talks to Stytch B2B (`STYTCH_*` settings). Present only when both
/// `STYTCH_PROJECT_ID` and `STYTCH_SECRET` are set; then the `stytch_session` and
/// `stytch_session_jwt` cookies are Stytch sessions (else the cookie carries local sessions).
public struct StytchSettings: Sendable, Equatable {
    public var projectID: String
    /// Never logged, never in an error.
    public var secret: String
    /// `https://test.stytch.com` / `https://api.stytch.com` by the project id, or `STYTCH_BASE_URL`.
    public var baseURL: URL
    /// A session JWT issued longer ago than this is confirmed with Stytch (as an expired one is)
    /// instead of being trusted on its signature alone. Bounds how long a revoked session keeps
    /// working through its JWT.
    public var jwtMaxAge: Duration
    /// Each call to Stytch must answer within this, else `503`.
    public var timeout: Duration
    /// Stytch role id → role here; the highest role a member's Stytch roles map to wins.
    public var roleMap: StytchRoleMap

    public static let defaultRoleMap = StytchRoleMap([
        "jobs_viewer": .viewer, "jobs_editor": .editor, "jobs_admin": .admin, "jobs_owner": .owner,
        "stytch_admin": .admin, "stytch_member": .viewer,
    ])

    public init(
        projectID: String, secret: String, baseURL: URL? = nil, jwtMaxAge: Duration = .seconds(30),
        timeout: Duration = .seconds(2), roleMap: StytchRoleMap = Self.defaultRoleMap
    ) {
        self.projectID = projectID
        self.secret = secret
        self.baseURL = baseURL ?? Self.defaultBaseURL(projectID: projectID)
        self.jwtMaxAge = jwtMaxAge
        self.timeout = timeout
        self.roleMap = roleMap
    }

    /// Live projects (`project-live-…`) talk to api.stytch.com, the others to test.stytch.com.
    public static func defaultBaseURL(projectID: String) -> URL {
        URL(string: projectID.hasPrefix("project-live-") ? "https://api.stytch.com" : "https://test.stytch.com")!
    }

    /// The JWT issuer Stytch uses for this project.
    public var issuer: String { "stytch.com/" + projectID }

    /// The role these Stytch roles grant here: the highest mapped one, nil when none maps.
    public func role(forStytchRoles roles: [String]) -> Role? {
        roles.compactMap { roleMap.grants[$0] }.max {
            Role.allCases.firstIndex(of: $0)! < Role.allCases.firstIndex(of: $1)!
        }
    }

    /// `STYTCH_ROLE_MAP`: `stytch_role=role` pairs, comma-separated (`jobs_viewer=viewer,stytch_admin=admin`).
    public static func parseRoleMap(_ text: String) throws -> StytchRoleMap {
        var map: [String: Role] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let role = Role(rawValue: parts[1]) else {
                throw ConfigurationError(
                    message:
                        "STYTCH_ROLE_MAP must be stytch_role=role pairs separated by commas, role one of viewer, editor, admin, owner; got \"\(pair)\""
                )
            }
            map[parts[0]] = role
        }
        if map.isEmpty { throw ConfigurationError(message: "STYTCH_ROLE_MAP must name at least one role") }
        return StytchRoleMap(map)
    }

    /// `STYTCH_BASE_URL`: `https://…`, or `http://` to a loopback host (tests, a local stand-in).
    public static func parseBaseURL(_ text: String) throws -> URL {
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), let host = url.host,
            !host.isEmpty, url.query == nil, url.user == nil
        else {
            throw ConfigurationError(
                message: "STYTCH_BASE_URL must be a URL like https://api.stytch.com, got \"\(text)\"")
        }
        let loopback = ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased())
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw ConfigurationError(
                message: "STYTCH_BASE_URL must use https (plain http only to a loopback address), got \"\(text)\"")
        }
        return url
    }

}

/// Which Stytch roles grant which role here (`STYTCH_ROLE_MAP`); shown sorted by Stytch role.
public struct StytchRoleMap: Sendable, Equatable, CustomStringConvertible {
    public var grants: [String: Role]

    public init(_ grants: [String: Role]) { self.grants = grants }

    /// `stytch_admin=admin,stytch_member=viewer`: the setting's own syntax.
    public var description: String {
        grants.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }.joined(separator: ",")
    }
}
