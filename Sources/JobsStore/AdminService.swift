public import Foundation
public import JobsDomain
import LibPQ

/// Tenant administration for the command line (and tests): organizations, users, memberships,
/// API keys and sessions. Runs as the database owner; every organization-scoped statement still
/// sets `app.organization_id`, so it works under forced row-level security too.
public struct AdminService: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// An organization or user id: 1–255 printable ASCII characters, no spaces.
    public static func validateIdentifier(_ id: String, what: String) throws {
        let ok = !id.isEmpty && id.utf8.count <= 255 && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
        guard ok else {
            throw AdminError(message: "\(what) must be 1-255 printable ASCII characters without spaces")
        }
    }

    /// Creates the organization if it does not exist; returns true when it was created.
    @discardableResult
    public func createOrganization(_ id: String, name: String?) async throws -> Bool {
        try Self.validateIdentifier(id, what: "organization id")
        return try await database.transaction(organization: id) { lease in
            let rows = try await lease.query(
                """
                INSERT INTO organizations (organization_id, name) VALUES (\(id), \(name))
                ON CONFLICT (organization_id) DO UPDATE SET name = COALESCE(EXCLUDED.name, organizations.name)
                RETURNING (xmax = 0) AS created
                """)
            return try rows.first!.decode("created", as: Bool.self)
        }
    }

    /// Links an existing organization to a Stytch B2B organization: members of that Stytch
    /// organization who sign in through Stytch act in it. Re-linking replaces the previous link;
    /// a Stytch organization linked to another organization of ours is refused.
    public func linkStytchOrganization(_ id: String, stytchOrganizationID: String) async throws {
        try Self.validateIdentifier(stytchOrganizationID, what: "Stytch organization id")
        try await database.transaction(organization: id) { lease in
            let other = try await lease.query(
                "SELECT auth_stytch_organization(\(stytchOrganizationID)) AS organization_id"
            ).first?.decode("organization_id", as: String?.self)
            if let other, other != id {
                throw AdminError(
                    message: "Stytch organization \(stytchOrganizationID) is already linked to organization \(other)")
            }
            let rows = try await lease.query(
                """
                UPDATE organizations SET stytch_organization_id = \(stytchOrganizationID)
                WHERE organization_id = \(id) RETURNING organization_id
                """)
            if rows.isEmpty { throw AdminError(message: "organization \(id) does not exist") }
        }
    }

    /// Creates the user if it does not exist; returns true when it was created.
    @discardableResult
    public func createUser(_ id: String, email: String?) async throws -> Bool {
        try Self.validateIdentifier(id, what: "user id")
        let rows = try await database.client.query(
            """
            INSERT INTO users (user_id, email) VALUES (\(id), \(email))
            ON CONFLICT (user_id) DO UPDATE SET email = COALESCE(EXCLUDED.email, users.email)
            RETURNING (xmax = 0) AS created
            """)
        return try rows.first!.decode("created", as: Bool.self)
    }

    /// Adds a member, or changes the role of an existing one.
    public func addMember(organization: String, user: String, role: Role) async throws {
        try await database.transaction(organization: organization) { lease in
            try await requireOrganization(organization, lease)
            let known = try await lease.query("SELECT 1 AS one FROM users WHERE user_id = \(user)")
            guard !known.isEmpty else {
                throw AdminError(message: "unknown user; create it with `jobs-api user create`")
            }
            try await lease.query(
                """
                INSERT INTO memberships (organization_id, user_id, role) VALUES (\(organization), \(user), \(role.rawValue))
                ON CONFLICT (organization_id, user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()
                """)
        }
    }

    private func requireOrganization(_ organization: String, _ lease: PGLease) async throws {
        let rows = try await lease.query("SELECT 1 AS one FROM organizations WHERE organization_id = \(organization)")
        guard !rows.isEmpty else {
            throw AdminError(message: "unknown organization; create it with `jobs-api org create`")
        }
    }

    /// Creates an API key and returns its token (the only time it is ever visible).
    public func createAPIKey(organization: String, name: String?, role: Role = .editor) async throws -> String {
        let token = Token.generate(prefix: Token.apiKeyPrefix)
        try await database.transaction(organization: organization) { lease in
            try await requireOrganization(organization, lease)
            try await lease.query(
                """
                INSERT INTO api_keys (organization_id, key_id, name, role, token_hash, token_prefix)
                VALUES (\(organization), \("key_" + UUID().uuidString.lowercased()), \(name), \(role.rawValue),
                        \(PGBytes(Token.hash(token))), \(Token.displayPrefix(token)))
                """)
        }
        return token
    }

    /// One API key as listed (never its token).
    public struct APIKeyInfo: Sendable, Codable {
        public var keyID: String
        public var name: String?
        public var role: String
        public var tokenPrefix: String?
        public var createdAt: Date
        public var revokedAt: Date?
    }

    public func listAPIKeys(organization: String) async throws -> [APIKeyInfo] {
        try await database.transaction(organization: organization) { lease in
            try await requireOrganization(organization, lease)
            let rows = try await lease.query(
                """
                SELECT key_id, name, role, token_prefix, created_at, revoked_at FROM api_keys
                WHERE organization_id = \(organization) ORDER BY created_at, key_id
                """)
            return try rows.map { row in
                APIKeyInfo(
                    keyID: try row.decode("key_id"), name: try row.decode("name", as: String?.self),
                    role: try row.decode("role"), tokenPrefix: try row.decode("token_prefix", as: String?.self),
                    createdAt: try row.decode("created_at"), revokedAt: try row.decode("revoked_at", as: Date?.self))
            }
        }
    }

    /// Revokes the key with this token; false when no live key has it.
    public func revokeAPIKey(token: String) async throws -> Bool {
        let hash = PGBytes(Token.hash(token))
        let owner = try await database.client.query("SELECT organization_id FROM auth_api_key(\(hash))")
        guard let organization = try owner.first?.decode("organization_id", as: String.self) else { return false }
        return try await database.transaction(organization: organization) { lease in
            let rows = try await lease.query(
                """
                UPDATE api_keys SET revoked_at = now()
                WHERE organization_id = \(organization) AND token_hash = \(hash) AND revoked_at IS NULL
                """)
            return rows.affectedRows == 1
        }
    }

    /// Revokes the key with this id (as `apikey list` shows it), found in `organization` or,
    /// when nil, wherever it is; false when no live key has it.
    public func revokeAPIKey(keyID: String, organization: String? = nil) async throws -> Bool {
        var found = organization
        if found == nil {
            found = try await database.client.query("SELECT api_key_organization(\(keyID)) AS organization_id").first?
                .decode("organization_id", as: String?.self)
        }
        guard let organization = found else { return false }
        return try await database.transaction(organization: organization) { lease in
            let rows = try await lease.query(
                """
                UPDATE api_keys SET revoked_at = now()
                WHERE organization_id = \(organization) AND key_id = \(keyID) AND revoked_at IS NULL
                """)
            return rows.affectedRows == 1
        }
    }

    /// The longest session `createSession` makes.
    public static let maxSessionTTL: Duration = .seconds(30 * 86_400)

    /// Creates a session for a user and returns its token.
    public func createSession(user: String, ttl: Duration) async throws -> String {
        try await newSession(user: user, ttl: ttl).token
    }

    /// Creates a session (at most `maxSessionTTL`) and returns its id and its token.
    public func newSession(user: String, ttl: Duration) async throws -> (id: String, token: String) {
        guard ttl > .zero, ttl <= Self.maxSessionTTL else {
            throw AdminError(message: "a session lasts at most 30 days (30d); got \(ttl.components.seconds) seconds")
        }
        let token = Token.generate(prefix: Token.sessionPrefix)
        let id = "ses_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let seconds = Double(ttl.components.seconds)
        let known = try await database.client.query("SELECT 1 AS one FROM users WHERE user_id = \(user)")
        guard !known.isEmpty else { throw AdminError(message: "unknown user; create it with `jobs-api user create`") }
        try await database.client.query(
            """
            INSERT INTO sessions (session_id, user_id, token_hash, expires_at)
            VALUES (\(id), \(user), \(PGBytes(Token.hash(token))), now() + make_interval(secs => \(seconds)))
            """)
        return (id, token)
    }

    /// One session as listed (never its token).
    public struct SessionInfo: Sendable {
        public var sessionID: String
        public var createdAt: Date
        public var expiresAt: Date
        public var revokedAt: Date?
    }

    public func listSessions(user: String) async throws -> [SessionInfo] {
        let rows = try await database.client.query(
            """
            SELECT session_id, created_at, expires_at, revoked_at FROM sessions
            WHERE user_id = \(user) ORDER BY created_at, session_id
            """)
        return try rows.map { row in
            SessionInfo(
                sessionID: try row.decode("session_id"), createdAt: try row.decode("created_at"),
                expiresAt: try row.decode("expires_at"), revokedAt: try row.decode("revoked_at", as: Date?.self))
        }
    }

    /// Ends the session with this token; false when no live session has it.
    public func revokeSession(token: String) async throws -> Bool {
        let rows = try await database.client.query(
            "UPDATE sessions SET revoked_at = now() WHERE token_hash = \(PGBytes(Token.hash(token))) AND revoked_at IS NULL"
        )
        return rows.affectedRows == 1
    }

    /// Ends the session with this id (as `session list` shows it); false when no live session has it.
    public func revokeSession(id: String) async throws -> Bool {
        let rows = try await database.client.query(
            "UPDATE sessions SET revoked_at = now() WHERE session_id = \(id) AND revoked_at IS NULL")
        return rows.affectedRows == 1
    }

    /// The login role of `jobs-api serve` (migration 0009).
    public static let serverLoginRole = "jobs_api_server"

    /// Sets the password of `jobs_api_server`, sent as a verifier computed on this side (the
    /// clear password never reaches the server or its statement log).
    public func setServerPassword(_ password: String) async throws {
        let role = Self.serverLoginRole
        try await database.client.withConnection { lease in
            let exists = try await lease.query("SELECT 1 AS one FROM pg_catalog.pg_roles WHERE rolname = \(role)")
            guard !exists.isEmpty else {
                throw AdminError(
                    message: "role \(role) does not exist (the migrating user could not create it); create it first")
            }
            let verifier = try await lease.encryptPassword(password, user: role)
            // ALTER ROLE takes no bind parameters: the server quotes both parts itself.
            let sql = try await lease.query(
                "SELECT format('ALTER ROLE %I PASSWORD %L', \(role)::text, \(verifier)::text) AS sql"
            )
            .first!.decode("sql", as: String.self)
            try await lease.script(sql)
        }
    }
}

/// A refused admin request; the message is meant for the person at the terminal.
public struct AdminError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
