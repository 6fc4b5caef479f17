import ArgumentParser
import Foundation
import JobsDomain
import JobsStore
import LibPQ

struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook", abstract: "Manage an organization's webhook endpoints.",
        subcommands: [Add.self, List.self, Remove.self, RotateSecret.self, Enable.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a webhook endpoint; prints only its signing secret (whsec_...) on stdout.",
            discussion: """
                Events are POSTed to URL signed as the Standard Webhooks specification says \
                (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>). \
                Event types: \(WebhookEvent.allCases.map(\.rawValue).joined(separator: ", ")) (default: all).
                """)
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Organization id.") var organizationID: String
        @Argument(help: "http(s) URL to POST events to.") var url: String
        @Option(help: "Comma-separated event types (default: all), e.g. job.completed,job.failed.") var events: String?

        func run() async throws {
            try await runReporting {
                let events = try parseEvents(self.events)
                guard let url = WebhookURL.validate(url) else { throw AdminError(message: WebhookURL.rule) }
                try await withAdminClient(database) { _, client, _ in
                    let store = WebhookStore(database: Database(client: client))
                    do {
                        let (endpoint, secret) = try await store.add(
                            organization: organizationID, url: url, events: events)
                        printError("added webhook endpoint \(endpoint.endpointID) for \(organizationID)")
                        print(secret)
                    } catch let error as PGError where error.sqlState?.rawValue == "23503" {
                        throw AdminError(message: "organization \(organizationID) does not exist")
                    }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an organization's webhook endpoints (never the secrets).")
        @OptionGroup var database: DatabaseOptions
        @Argument var organizationID: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let endpoints = try await WebhookStore(database: Database(client: client))
                        .list(organization: organizationID)
                    print("endpoint_id\turl\tevents\tenabled\tfailing_since\tdisabled_at\tcreated_at")
                    for endpoint in endpoints {
                        let fields = [
                            endpoint.endpointID, endpoint.url, endpoint.events.joined(separator: ","),
                            String(endpoint.enabled), endpoint.failingSince.map(PGTimestamp.format) ?? "",
                            endpoint.disabledAt.map(PGTimestamp.format) ?? "", PGTimestamp.format(endpoint.createdAt),
                        ]
                        print(fields.joined(separator: "\t"))
                    }
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a webhook endpoint and its delivery history.")
        @OptionGroup var database: DatabaseOptions
        @Argument var organizationID: String
        @Argument(help: "Endpoint id (whep_..., from `webhook list`).") var endpointID: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    let removed = try await WebhookStore(database: Database(client: client))
                        .remove(organization: organizationID, id: endpointID)
                    guard removed else {
                        throw AdminError(message: "no webhook endpoint \(endpointID) in organization \(organizationID)")
                    }
                    printError("removed webhook endpoint \(endpointID)")
                }
            }
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "Give an endpoint a new secret (printed on stdout); the old one also signs for 24 hours.")
        @OptionGroup var database: DatabaseOptions
        @Argument var organizationID: String
        @Argument(help: "Endpoint id (whep_...).") var endpointID: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    guard
                        let (_, secret) = try await WebhookStore(database: Database(client: client))
                            .rotateSecret(organization: organizationID, id: endpointID)
                    else {
                        throw AdminError(message: "no webhook endpoint \(endpointID) in organization \(organizationID)")
                    }
                    printError("rotated the secret of \(endpointID); the previous one also signs for 24 hours")
                    print(secret)
                }
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a webhook endpoint again (after it was disabled for failing); its waiting events go out.")
        @OptionGroup var database: DatabaseOptions
        @Argument var organizationID: String
        @Argument(help: "Endpoint id (whep_...).") var endpointID: String

        func run() async throws {
            try await runReporting {
                try await withAdminClient(database) { _, client, _ in
                    guard
                        try await WebhookStore(database: Database(client: client))
                            .enable(organization: organizationID, id: endpointID) != nil
                    else {
                        throw AdminError(message: "no webhook endpoint \(endpointID) in organization \(organizationID)")
                    }
                    printError("enabled webhook endpoint \(endpointID)")
                }
            }
        }
    }
}

/// `--events` → event types (nil: all of them).
func parseEvents(_ text: String?) throws -> [WebhookEvent] {
    guard let text else { return WebhookEvent.allCases }
    switch WebhookEvent.parseList(text) {
    case .success(let events): return events
    case .failure(let error): throw AdminError(message: error.message)
    }
}
