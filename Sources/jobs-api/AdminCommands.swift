import ArgumentParser
import Foundation
import JobsAPI
import LibPQ

extension Role: ExpressibleByArgument {}

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Manage organizations.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organization (idempotent).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Organization id (1-255 printable ASCII characters, no spaces).") var organizationID: String
        @Option(help: "Display name.") var name: String?

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let created = try await AdminService(database: Database(client: client))
                        .createOrganization(organizationID, name: name)
                    printError(created ? "created organization \(organizationID)" : "organization \(organizationID) exists")
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
                    let created = try await AdminService(database: Database(client: client)).createUser(userID, email: email)
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
        static let configuration = CommandConfiguration(abstract: "Revoke the API key with this token.")
        @OptionGroup var database: DatabaseOptions
        @Argument var token: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let done = try await AdminService(database: Database(client: client)).revokeAPIKey(token: token)
                    guard done else { throw AdminError(message: "no active API key has this token") }
                    printError("revoked")
                }
            }
        }
    }
}

struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session", abstract: "Manage user sessions.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a session for a user; prints only the token on stdout.")
        @OptionGroup var database: DatabaseOptions
        @Argument var userID: String
        @Option(help: "Lifetime, e.g. 30m, 12h, 7d or seconds (default 24h).") var ttl: String = "24h"

        func run() async throws {
            try await runReporting {
                guard let duration = DurationParser.parse(ttl), duration > .zero else {
                    throw AdminError(message: "--ttl must look like 90s, 30m, 12h or 7d")
                }
                try await withAdminClient(database) { _, client, _ in
                    let token = try await AdminService(database: Database(client: client))
                        .createSession(user: userID, ttl: duration)
                    print(token)
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End the session with this token.")
        @OptionGroup var database: DatabaseOptions
        @Argument var token: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let done = try await AdminService(database: Database(client: client)).revokeSession(token: token)
                    guard done else { throw AdminError(message: "no active session has this token") }
                    printError("revoked")
                }
            }
        }
    }
}
