public import Hummingbird
public import JobsDomain
import NIOConcurrencyHelpers
public import NIOCore

/// The request context of every route.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address (for the per-address limit on failed authentications).
    public let remoteAddress: SocketAddress?
    /// Set by `TenantMiddleware` on `/api` routes.
    public var tenant: TenantContext? {
        didSet { info.organizationID = tenant?.organizationID }
    }
    /// Set by `TenantMiddleware` on `GET /api/me` (which needs no organization).
    public var principal: Principal?
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
