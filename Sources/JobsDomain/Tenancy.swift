/// Who is calling: an API key (workers), a user session of this service (people, local
/// development), or a member signed in through Stytch B2B (people, production).
public enum Principal: Sendable, Equatable {
    case apiKey(keyID: String, organizationID: String, role: Role)
    case user(userID: String, memberships: [Membership])
    /// A Stytch member session: it acts only in the organization linked to its Stytch
    /// organization (`organizationID`, nil when none is linked), with the role its Stytch roles
    /// map to (nil when none maps to a role of this service).
    case stytchMember(memberID: String, stytchOrganizationID: String, organizationID: String?, role: Role?)

    public struct Membership: Sendable, Equatable {
        public var organizationID: String
        public var role: Role

        public init(organizationID: String, role: Role) {
            self.organizationID = organizationID
            self.role = role
        }
    }
}

/// The resolved tenant of an `/api` request: the organization it acts in, who acts, and the
/// role there. Resolved by the HTTP layer (`TenantMiddleware`) before any handler runs.
public struct TenantContext: Sendable, Equatable {
    public var organizationID: String
    public var principal: Principal
    public var role: Role

    public init(organizationID: String, principal: Principal, role: Role) {
        self.organizationID = organizationID
        self.principal = principal
        self.role = role
    }

    /// The user id of a session principal (the default `triggered_by`), nil for API keys.
    public var userID: String? {
        switch principal {
        case .user(let id, _): return id
        case .stytchMember(let id, _, _, _): return id
        case .apiKey: return nil
        }
    }

    public func require(_ permission: Permission) throws(APIError) {
        guard role.permissions.contains(permission) else { throw .missingPermission(permission) }
    }
}
