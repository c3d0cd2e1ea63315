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
        .executable(name: "reciprocity", targets: ["reciprocity"]),
        .executable(name: "reciprocity-bench", targets: ["reciprocity-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        .target(
            name: "ReciprocityCore",
            dependencies: ["COpenSSL"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "reciprocity",
            dependencies: [
                "ReciprocityCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "reciprocity-bench",
            dependencies: [
                "ReciprocityCore",
                "COpenSSL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReciprocityCoreTests",
            dependencies: ["ReciprocityCore", "COpenSSL"],
            swiftSettings: strictSettings
        ),
    ]
)
