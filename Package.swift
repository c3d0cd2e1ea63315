// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Reciprocity",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ReciprocityCore", targets: ["ReciprocityCore"]),
        .library(name: "ReciprocityVectors", targets: ["ReciprocityVectors"]),
        .library(name: "ReciprocityAPI", targets: ["ReciprocityAPI"]),
        .library(name: "ReciprocityStore", targets: ["ReciprocityStore"]),
        .library(name: "ReciprocitySQLite", targets: ["ReciprocitySQLite"]),
        .library(name: "ReciprocityPostgres", targets: ["ReciprocityPostgres"]),
        .library(name: "ReciprocityServer", targets: ["ReciprocityServer"]),
        .library(name: "ReciprocityClient", targets: ["ReciprocityClient"]),
        .executable(name: "reciprocityd", targets: ["reciprocityd"]),
        .executable(name: "reciprocity", targets: ["reciprocity"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // Brotli and Zstandard decoding for `reciprocity audit --web`, which asks for what a browser asks for
        // (gzip and deflate come from CompressNIO). Only `*+Brotli.swift` and `*+Zstd.swift` touch them.
        .systemLibrary(
            name: "CBrotli",
            pkgConfig: "libbrotlidec",
            providers: [.apt(["libbrotli-dev"]), .brew(["brotli"])]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        // libcurl (built against the system's OpenSSL) sends email notices over SMTP; only `*+Curl.swift` touch it.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]
        ),
        .target(
            name: "ReciprocityCore",
            dependencies: ["COpenSSL"],
            swiftSettings: strictSettings
        ),
        // Generating and checking the protocol's test vectors: only the CLI's `vectors` command and the tests
        // need it, so no client that links ReciprocityCore carries it.
        .target(
            name: "ReciprocityVectors",
            dependencies: ["ReciprocityCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReciprocityAPI",
            dependencies: ["ReciprocityCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReciprocityStore",
            dependencies: ["ReciprocityCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReciprocitySQLite",
            dependencies: ["ReciprocityCore", "ReciprocityStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReciprocityPostgres",
            dependencies: [
                "ReciprocityCore", "ReciprocityStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The members' web app (the second client, beside ReciprocityClient): its assets in `web/` and the URL of
        // that folder. The server serves it; the WebAssetHashes plugin hashes the same folder for the CLI.
        // tsconfig.json is the options of its type check (scripts/lint-web.sh), not a resource.
        .target(
            name: "ReciprocityWeb",
            exclude: ["tsconfig.json"],
            resources: [.copy("web")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReciprocityServer",
            dependencies: [
                "ReciprocityCore", "ReciprocityAPI", "ReciprocityStore", "ReciprocityWeb", "CCurl",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/openapi.yaml")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CommandLineEdge",
            dependencies: ["ReciprocityCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "reciprocityd",
            dependencies: [
                "ReciprocityServer", "ReciprocityStore", "ReciprocitySQLite", "ReciprocityPostgres", "ReciprocityCore",
                "CommandLineEdge",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ReciprocityClient",
            dependencies: [
                "ReciprocityCore", "ReciprocityAPI", "CBrotli", "CZstd",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "reciprocity",
            dependencies: [
                "ReciprocityCore", "ReciprocityAPI", "ReciprocityClient", "ReciprocityVectors", "CommandLineEdge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings,
            plugins: ["WebAssetHashes"]
        ),
        // The SHA-256 of every file of the web app (ReciprocityWeb's `web/`), computed at build time into a Swift
        // file of the CLI, for `reciprocity audit --web` (the CLI carries them without importing the server module).
        .executableTarget(
            name: "WebAssetHasher",
            dependencies: ["ReciprocityCore"],
            path: "Plugins/WebAssetHasher",
            swiftSettings: strictSettings
        ),
        .plugin(
            name: "WebAssetHashes",
            capability: .buildTool(),
            dependencies: ["WebAssetHasher"],
            path: "Plugins/WebAssetHashes"
        ),
        .testTarget(
            name: "ReciprocityCoreTests",
            dependencies: ["ReciprocityCore", "ReciprocityVectors", "COpenSSL"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReciprocityClientTests",
            dependencies: [
                "ReciprocityClient", "ReciprocityCore", "ReciprocityAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // What the store and server suites share: the backends they run on and a fresh database per test.
        .target(
            name: "ReciprocityTestSupport",
            dependencies: ["ReciprocityCore", "ReciprocityStore", "ReciprocitySQLite", "ReciprocityPostgres"],
            path: "Tests/ReciprocityTestSupport",
            swiftSettings: strictSettings
        ),
        // The store on its own, without the server: its rules, and the suites every backend passes.
        .testTarget(
            name: "ReciprocityStoreTests",
            dependencies: [
                "ReciprocityStore", "ReciprocitySQLite", "ReciprocityPostgres", "ReciprocityCore",
                "ReciprocityTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReciprocityServerTests",
            dependencies: [
                "ReciprocityServer", "ReciprocityStore", "ReciprocitySQLite", "ReciprocityPostgres", "ReciprocityAPI",
                "ReciprocityCore", "ReciprocityTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
