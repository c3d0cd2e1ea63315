// swift-tools-version: 6.1
// libFuzzer targets for every parser that takes outside input. Build only with the sanitizer flags
// (see scripts/fuzz.sh); a plain `swift build` cannot link them.
import PackageDescription

let fuzzTargets = ["FuzzBase64URL", "FuzzNames", "FuzzVectorFile", "FuzzAPIBodies", "FuzzConversation"]

let package = Package(
    name: "ReciprocityFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Reciprocity", path: "..")],
    targets: [.target(name: "FuzzDriver")]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzDriver",
                    .product(name: "ReciprocityCore", package: "Reciprocity"),
                    .product(name: "ReciprocityAPI", package: "Reciprocity"),
                    .product(name: "ReciprocityVectors", package: "Reciprocity"),
                ]
            )
        }
)
