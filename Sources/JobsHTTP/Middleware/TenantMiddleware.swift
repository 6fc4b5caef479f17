import Foundation
import HTTPTypes
import Hummingbird
import JobsDomain

/// Authentication and tenant resolution for `/api` routes (spec §1), in the contract's order:
/// `401` (no or bad credentials) → `400` / `403` (organization header and membership).
///
/// A write authenticated by the `stytch_session` cookie that a browser marks as cross-site is a
/// `403` (see `CrossSiteGuard`).
///
/// Expects `ErrorMiddleware` outside it. Sets `context.tenant`. Throws `APIError`. Permission
/// checks come after this, in the wrapper `RouteTable.register` puts around each handler, before
/// the body is read.
struct TenantMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: Authenticator
    var crossSite = CrossSiteGuard()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        if request.uri.path == Self.principalOnlyPath {
            context.principal = try await authenticate(request, clientAddress: context.remoteAddress?.ipAddress)
        } else {
            context.tenant = try await resolve(request, clientAddress: context.remoteAddress?.ipAddress)
        }
        return try await next(request, context)
    }

    /// `GET /api/me` says who the caller is and where they may act: it authenticates but needs
    /// no organization.
    static let principalOnlyPath = "/api/me"

    func authenticate(_ request: Request, clientAddress: String?) async throws -> Principal {
        let credential = try Self.credential(request)
        guard let principal = try await authenticator.authenticate(credential, clientAddress: clientAddress) else {
            throw APIError.unauthorized
        }
        if case .cookies = credential,
            crossSite.isCrossSite(method: request.method, authority: request.head.authority, headers: request.headers)
        {
            throw CrossSiteGuard.refusal
        }
        return principal
    }

    func resolve(_ request: Request, clientAddress: String? = nil) async throws -> TenantContext {
        let principal = try await authenticate(request, clientAddress: clientAddress)
        let header = request.headers[values: HTTPField.Name.organizationID]
        if header.count > 1 { throw APIError.badRequest("Send X-Organization-ID at most once") }
        let requested = header.first
        if requested?.isEmpty == true { throw APIError.badRequest("X-Organization-ID must not be empty") }
        switch principal {
        case .apiKey(_, let organization, let role):
            if let requested, requested != organization {
                throw APIError.forbidden("This API key does not belong to the requested organization")
            }
            return TenantContext(organizationID: organization, principal: principal, role: role)
        case .stytchMember(_, let stytchOrganization, let organization, let role):
            guard let organization else {
                throw APIError.forbidden(
                    "Your Stytch organization (\(stytchOrganization)) is not linked to an organization of this service; an administrator links it with jobs-api org link"
                )
            }
            if let requested, requested != organization {
                throw APIError.forbidden("Your Stytch session does not belong to the requested organization")
            }
            guard let role else {
                throw APIError.forbidden("None of your Stytch roles gives access to this service")
            }
            return TenantContext(organizationID: organization, principal: principal, role: role)
        case .user(_, let memberships):
            if let requested {
                guard let membership = memberships.first(where: { $0.organizationID == requested }) else {
                    throw APIError.forbidden("You are not a member of this organization")
                }
                return TenantContext(organizationID: requested, principal: principal, role: membership.role)
            }
            switch memberships.count {
            case 0: throw APIError.forbidden("You are not a member of any organization")
            case 1:
                return TenantContext(
                    organizationID: memberships[0].organizationID, principal: principal, role: memberships[0].role)
            default:
                throw APIError.badRequest(
                    "You belong to several organizations: send the X-Organization-ID header to choose one")
            }
        }
    }

    /// The `Authorization` header wins over the `stytch_session` / `stytch_session_jwt` cookies.
    static func credential(_ request: Request) throws -> Authenticator.Credential {
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthorized }
            let token = parts[1].trimmingHTTPWhitespace
            guard !token.isEmpty, !token.contains(" ") else { throw APIError.unauthorized }
            return .bearer(token)
        }
        var session: String?
        var jwt: String?
        for cookieHeader in request.headers[values: .cookie] {
            for pair in cookieHeader.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let value = kv[1].trimmingHTTPWhitespace
                if value.isEmpty { continue }
                switch kv[0].trimmingHTTPWhitespace {
                case "stytch_session": session = session ?? value
                case "stytch_session_jwt": jwt = jwt ?? value
                default: continue
                }
            }
        }
        guard session != nil || jwt != nil else { throw APIError.unauthorized }
        return .cookies(session: session, jwt: jwt)
    }
}

extension HTTPField.Name {
    static let organizationID = HTTPField.Name("X-Organization-ID")!
}
