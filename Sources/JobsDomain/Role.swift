/// A member's or API key's role in an organization (spec §1).
public enum Role: String, Sendable, CaseIterable, Codable {
    case viewer, editor, admin, owner

    public var permissions: Set<Permission> {
        switch self {
        case .viewer: return [.jobRead]
        case .editor, .admin: return [.jobRead, .jobCreate, .jobCancel]
        case .owner: return [.jobRead, .jobCreate, .jobCancel, .webhookManage]
        }
    }
}

/// What a request may do; checked on the server for every request.
public enum Permission: String, Sendable, Hashable {
    case jobRead = "job:read"
    case jobCreate = "job:create"
    case jobCancel = "job:cancel"
    /// Owners only: webhook endpoints (they decide where the organization's data is sent).
    case webhookManage = "webhook:manage"
}
