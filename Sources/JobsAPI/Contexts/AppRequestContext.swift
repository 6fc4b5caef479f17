import Hummingbird
import NIOCore
import NIOConcurrencyHelpers

/// Who is calling: an API key (workers) or a user session (people).
public enum Principal: Sendable, Equatable {
    case apiKey(keyID: String, organizationID: String, role: Role)
    case user(userID: String, memberships: [Membership])

    public struct Membership: Sendable, Equatable {
        public var organizationID: String
        public var role: Role
    }
}

/// The resolved tenant of an `/api` request: the organization it acts in, who acts, and the
/// role there. Set by `TenantMiddleware` before any handler runs.
public struct TenantContext: Sendable, Equatable {
    public var organizationID: String
    public var principal: Principal
    public var role: Role

    /// The user id of a session principal (the default `triggered_by`), nil for API keys.
    public var userID: String? {
        if case .user(let id, _) = principal { return id }
        return nil
    }

    public func require(_ permission: Permission) throws(APIError) {
        guard role.permissions.contains(permission) else { throw .missingPermission(permission) }
    }
}

/// The request context of every route.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address (for the per-address limit on failed authentications).
    public let remoteAddress: SocketAddress?
    /// Set by `TenantMiddleware` on `/api` routes.
    public var tenant: TenantContext? {
        didSet { info.organizationID = tenant?.organizationID }
    }
    /// Facts inner middleware learn that the outer request log needs (shared by reference,
    /// since contexts are values passed inward).
    public let info = RequestInfo()

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The tenant, which `/api` handlers can rely on (the middleware ran first).
    public func requireTenant() throws(APIError) -> TenantContext {
        guard let tenant else { throw .unauthorized }
        return tenant
    }
}

/// Mutable per-request facts, shared by reference between middleware layers.
public final class RequestInfo: Sendable {
    private let organization = NIOLockedValueBox<String?>(nil)
    public var organizationID: String? {
        get { organization.withLockedValue { $0 } }
        set { organization.withLockedValue { $0 = newValue } }
    }
}
