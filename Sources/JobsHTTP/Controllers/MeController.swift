import Hummingbird
import JobsDomain
import StrictJSON

/// `GET /api/me`: who the credential belongs to and the organizations it may act in, with the
/// role and permissions in each (what the dashboard needs to offer an organization switcher and
/// to show Cancel only to those who may cancel). No `X-Organization-ID` needed.
struct MeController: Sendable {
    var routes: [Route] {
        [Route(method: .get, path: "/api/me", permission: nil, handler: me)]
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let principal = context.principal else { throw APIError.unauthorized }
        return JSONResponse.make(.ok, Self.json(principal))
    }

    static func json(_ principal: Principal) -> JSONValue {
        var object = JSONObject()
        var memberships: [(String, Role)] = []
        switch principal {
        case .apiKey(let keyID, let organization, let role):
            object["principal"] = .string("api_key")
            object["user_id"] = .null
            object["key_id"] = .string(keyID)
            memberships = [(organization, role)]
        case .user(let userID, let list):
            object["principal"] = .string("user")
            object["user_id"] = .string(userID)
            memberships = list.map { ($0.organizationID, $0.role) }
        case .stytchMember(let memberID, _, let organization, let role):
            object["principal"] = .string("stytch_member")
            object["user_id"] = .string(memberID)
            if let organization, let role { memberships = [(organization, role)] }
        }
        object["organizations"] = .array(
            memberships.map { organization, role in
                var entry = JSONObject()
                entry["organization_id"] = .string(organization)
                entry["role"] = .string(role.rawValue)
                entry["permissions"] = .array(
                    [Permission.jobRead, .jobCreate, .jobCancel].filter(role.permissions.contains).map {
                        .string($0.rawValue)
                    })
                return .object(entry)
            })
        return .object(object)
    }
}
