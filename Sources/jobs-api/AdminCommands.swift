import ArgumentParser
import Foundation
import JobsDomain
import JobsHTTP
import JobsStore
import LibPQ

extension Role: ExpressibleByArgument {}

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Manage organizations.", subcommands: [Create.self, Link.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organization (idempotent).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Organization id (1-255 printable ASCII characters, no spaces).") var organizationID: String
        @Option(help: "Display name.") var name: String?
        @Option(help: "Link it to this Stytch B2B organization (see `org link`).") var stytchOrganizationID: String?

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let admin = AdminService(database: Database(client: client))
                    if let stytchOrganizationID {
                        try AdminService.validateIdentifier(stytchOrganizationID, what: "Stytch organization id")
                    }
                    let created = try await admin.createOrganization(organizationID, name: name)
                    printError(
                        created ? "created organization \(organizationID)" : "organization \(organizationID) exists")
                    if let stytchOrganizationID {
                        try await admin.linkStytchOrganization(
                            organizationID, stytchOrganizationID: stytchOrganizationID)
                        printError(
                            "linked organization \(organizationID) to Stytch organization \(stytchOrganizationID)")
                    }
                }
            }
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link an organization to a Stytch B2B organization.",
            discussion:
                "Members of the Stytch organization who sign in through Stytch (the stytch_session cookie) act in this organization, with the role their Stytch roles map to. A Stytch organization links to one organization at most; linking again replaces the organization's previous link."
        )
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Organization id (must exist).") var organizationID: String
        @Argument(help: "Stytch organization id (organization-live-... or organization-test-...).")
        var stytchOrganizationID: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    try await AdminService(database: Database(client: client))
                        .linkStytchOrganization(organizationID, stytchOrganizationID: stytchOrganizationID)
                    printError("linked organization \(organizationID) to Stytch organization \(stytchOrganizationID)")
                }
            }
        }
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user (idempotent).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "User id.") var userID: String
        @Option(help: "E-mail address.") var email: String?

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let created = try await AdminService(database: Database(client: client)).createUser(
                        userID, email: email)
                    printError(created ? "created user \(userID)" : "user \(userID) exists")
                }
            }
        }
    }
}

struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "Manage memberships.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user to an organization with a role, or change the role (idempotent).")
        @OptionGroup var database: DatabaseOptions
        @Argument var organizationID: String
        @Argument var userID: String
        @Option(help: "viewer, editor, admin or owner.") var role: Role

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    try await AdminService(database: Database(client: client))
                        .addMember(organization: organizationID, user: userID, role: role)
                    printError("\(userID) is \(role.rawValue) of \(organizationID)")
                }
            }
        }
    }
}

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey", abstract: "Manage API keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key; prints only the token on stdout (shown this once).")
        @OptionGroup var database: DatabaseOptions
        @Argument var organizationID: String
        @Option(help: "A name to recognise the key by.") var name: String?
        @Option(help: "viewer, editor, admin or owner (default editor).") var role: Role = .editor

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let token = try await AdminService(database: Database(client: client))
                        .createAPIKey(organization: organizationID, name: name, role: role)
                    print(token)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organization's API keys (never the tokens).")
        @OptionGroup var database: DatabaseOptions
        @Argument var organizationID: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let keys = try await AdminService(database: Database(client: client))
                        .listAPIKeys(organization: organizationID)
                    print("key_id\tname\trole\tprefix\tcreated_at\trevoked_at")
                    for key in keys {
                        let fields = [
                            key.keyID, key.name ?? "", key.role, key.tokenPrefix ?? "",
                            PGTimestamp.format(key.createdAt), key.revokedAt.map(PGTimestamp.format) ?? "",
                        ]
                        print(fields.joined(separator: "\t"))
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API key by its id (from `apikey list`) or its token.",
            discussion: """
                KEY is the key id (key_..., as `apikey list` shows it: no secret on the command line), \
                the token (jak_...), or - to read either from standard input.
                """)
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Key id (key_...), token (jak_...), or - to read one from stdin.") var key: String
        @Option(help: "The key's organization (optional: found from the key id).") var org: String?

        func run() async throws {
            try await runReporting {
                let key = try readSecretArgument(self.key)
                try await withAdminClient(database) { _, client, _ in
                    let admin = AdminService(database: Database(client: client))
                    let done =
                        key.hasPrefix(Token.apiKeyPrefix)
                        ? try await admin.revokeAPIKey(token: key)
                        : try await admin.revokeAPIKey(keyID: key, organization: org)
                    guard done else { throw AdminError(message: "no active API key has this id or token") }
                    printError("revoked")
                }
            }
        }
    }
}

/// `-` reads the value from standard input (one line), so a secret need not be typed on a
/// command line (where shell history and `ps` would keep it).
func readSecretArgument(_ argument: String) throws -> String {
    guard argument == "-" else { return argument }
    guard let line = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces), !line.isEmpty else {
        throw AdminError(message: "expected a value on standard input")
    }
    return line
}

struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session", abstract: "Manage user sessions.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a session for a user; prints only the token on stdout (its id on stderr).")
        @OptionGroup var database: DatabaseOptions
        @Argument var userID: String
        @Option(help: "Lifetime, e.g. 30m, 12h, 7d or seconds (default 24h, at most 30d).") var ttl: String = "24h"

        func run() async throws {
            try await runReporting {
                guard let duration = DurationParser.parse(ttl), duration > .zero else {
                    throw AdminError(message: "--ttl must look like 90s, 30m, 12h or 7d")
                }
                guard duration <= AdminService.maxSessionTTL else {
                    throw AdminError(message: "--ttl must be at most 30d (got \(ttl))")
                }
                try await withAdminClient(database) { _, client, _ in
                    let session = try await AdminService(database: Database(client: client))
                        .newSession(user: userID, ttl: duration)
                    print(session.token)
                    printError("created session \(session.id) for \(userID)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's sessions (never the tokens).")
        @OptionGroup var database: DatabaseOptions
        @Argument var userID: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let sessions = try await AdminService(database: Database(client: client)).listSessions(user: userID)
                    print("session_id\tcreated_at\texpires_at\trevoked_at")
                    for session in sessions {
                        let fields = [
                            session.sessionID, PGTimestamp.format(session.createdAt),
                            PGTimestamp.format(session.expiresAt),
                            session.revokedAt.map(PGTimestamp.format) ?? "",
                        ]
                        print(fields.joined(separator: "\t"))
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a session by its id (from `session list` or `session create`) or its token.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Session id (ses_...), token (jas_...), or - to read one from stdin.") var session: String

        func run() async throws {
            try await runReporting {
                let session = try readSecretArgument(self.session)
                try await withAdminClient(database) { _, client, _ in
                    let admin = AdminService(database: Database(client: client))
                    let done =
                        session.hasPrefix(Token.sessionPrefix)
                        ? try await admin.revokeSession(token: session) : try await admin.revokeSession(id: session)
                    guard done else { throw AdminError(message: "no active session has this id or token") }
                    printError("revoked")
                }
            }
        }
    }
}
