// swift-tools-version: 6.1
// `reciprocity-bench` (docs/benchmarks.md): a package of its own, so that the main package's products are only
// what integrators link and run, and no build of the main package or its tests compiles the benchmarks.
// Its `swift build -c release` also builds its own reciprocityd and reciprocity (the path dependency's
// executables) into the same folder: the server benchmarks start them from next to reciprocity-bench.
import PackageDescription

let package = Package(
    name: "ReciprocityBenchmarks",
    platforms: [.macOS(.v15)],
    // The versions of the main Package.swift: only those resolve offline.
    dependencies: [
        .package(name: "Reciprocity", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // OpenSSL for the baseline alone (Baseline+OpenSSL.swift): the main package's COpenSSL is a system-library
        // target, which no package can export as a product, and target names must be unique across packages.
        .systemLibrary(
            name: "COpenSSLBaseline",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        .executableTarget(
            name: "reciprocity-bench",
            dependencies: [
                "COpenSSLBaseline",
                .product(name: "ReciprocityCore", package: "Reciprocity"),
                .product(name: "ReciprocityAPI", package: "Reciprocity"),
                .product(name: "ReciprocityStore", package: "Reciprocity"),
                .product(name: "ReciprocitySQLite", package: "Reciprocity"),
                .product(name: "ReciprocityPostgres", package: "Reciprocity"),
                .product(name: "ReciprocityClient", package: "Reciprocity"),
                .product(name: "reciprocityd", package: "Reciprocity"),
                .product(name: "reciprocity", package: "Reciprocity"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("InternalImportsByDefault"),
            ]
        ),
    ]
)
