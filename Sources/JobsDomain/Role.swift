/// A member's or API key's role in an organization (spec §1).
public enum Role: String, Sendable, CaseIterable, Codable {
    case viewer, editor, admin, owner

    public var permissions: Set<Permission> {
        switch self {
        case .viewer: return [.jobRead]
        case .editor, .admin, .owner: return [.jobRead, .jobCreate, .jobCancel]
        }
    }
}

/// What a request may do; checked on the server for every request.
public enum Permission: String, Sendable, Hashable {
    case jobRead = "job:read"
    case jobCreate = "job:create"
    case jobCancel = "job:cancel"
}
