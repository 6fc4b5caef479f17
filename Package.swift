// swift-tools-version:6.2
import PackageDescription

// Every target of ours: Swift 6 mode plus these, and warnings are errors (a warning left in is a
// build failure, in CI and locally). Dependencies are not affected.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]
// The app's modules also make imports internal by default: a module re-exports nothing by
// accident, and `public import` marks each dependency whose types its public API shows.
let strictApp: [SwiftSetting] = strict + [.enableUpcomingFeature("InternalImportsByDefault")]
// Test targets: the same, except MemberImportVisibility (tests lean on transitive imports of
// the test helpers' modules; listing them in every file buys nothing).
let strictTests: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "jobs-api",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "jobs-api", targets: ["jobs-api"]),
        .library(name: "LibPQ", targets: ["LibPQ"]),
        .library(name: "JobsHTTP", targets: ["JobsHTTP"]),
        .library(name: "JobsClient", targets: ["JobsClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Stytch session JWTs (RS256 against the project's JWKS), verified locally.
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        // Already in the graph through Hummingbird (its ConfigurationSupport trait); no traits of
        // our own (no JSON/YAML file providers), so it adds nothing to the build.
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: []),
        // Tests only: validates the OpenAPI document (no external loading: a faster build).
        .package(url: "https://github.com/mattpolzin/OpenAPIKit", from: "6.4.0", traits: []),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "LibPQ",
            dependencies: [
                "CLibPQ",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The strict JSON parser and value (duplicate keys, number text, byte offsets). No I/O.
        .target(name: "StrictJSON", swiftSettings: strictApp),
        // Jobs, their rules, request validation and domain errors. Imports neither LibPQ nor
        // Hummingbird: the target does not depend on them, so such an import fails the build.
        .target(
            name: "JobsDomain",
            dependencies: ["StrictJSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictApp
        ),
        // Every SQL statement of the app, behind the JobsDomain storage protocols, plus the
        // in-memory implementation the HTTP tests use.
        .target(
            name: "JobsStore",
            dependencies: [
                "JobsDomain", "StrictJSON", "LibPQ",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictApp
        ),
        // Routes (one table), middleware, rendering, the one mapping from domain errors to HTTP,
        // configuration and the application's assembly.
        .target(
            name: "JobsHTTP",
            dependencies: [
                "JobsDomain", "StrictJSON", "JobsStore", "LibPQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            resources: [.copy("Resources/openapi.json"), .copy("Resources/dashboard")],
            swiftSettings: strictApp
        ),
        .executableTarget(
            name: "jobs-api",
            dependencies: [
                "JobsHTTP", "JobsStore", "JobsDomain", "StrictJSON",
                "LibPQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The worker-side client library: depends on no server target.
        .target(
            name: "JobsClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "jobs-worker-example",
            dependencies: [
                "JobsClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Helpers the test targets share (HTTP calls, a seeded generator); not a test target.
        .target(
            name: "JobsTestSupport",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/Support",
            swiftSettings: strictTests
        ),
        .testTarget(name: "LibPQTests", dependencies: ["LibPQ", "JobsTestSupport"], swiftSettings: strictTests),
        // The rules, without HTTP or a database.
        .testTarget(
            name: "JobsDomainTests",
            dependencies: ["JobsDomain", "StrictJSON", "LibPQ", "JobsTestSupport"],
            swiftSettings: strictTests
        ),
        // The whole HTTP status matrix through the router on MemoryStore, the OpenAPI document,
        // configuration, the writer's queues: no database.
        .testTarget(
            name: "JobsHTTPTests",
            dependencies: [
                "JobsHTTP", "JobsStore", "JobsDomain", "StrictJSON", "JobsTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictTests
        ),
        .testTarget(
            name: "JobsClientTests", dependencies: ["JobsClient", "JobsTestSupport"], swiftSettings: strictTests),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "JobsHTTP", "JobsStore", "JobsDomain", "StrictJSON", "LibPQ", "JobsClient", "JobsTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictTests
        ),
    ],
    swiftLanguageModes: [.v6]
)
