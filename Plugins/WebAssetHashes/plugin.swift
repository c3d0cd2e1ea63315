import Foundation
import PackagePlugin

/// Build-tool plugin of the `reciprocity` CLI: hashes every file of the members' web app (the `web/` folder of the
/// ReciprocityWeb target, which the server serves) at build time into a generated Swift file, so that the CLI binary
/// carries the SHA-256 of the assets its release was built from (`reciprocity audit --web URL` compares a server's
/// served assets with them) without importing the server module. Reads local files only: it works offline.
@main
struct WebAssetHashes: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        // The folder of the package's ReciprocityWeb target, wherever Package.swift puts it (one name per target:
        // `targets(named:)` throws when there is none).
        let folder = try context.package.targets(named: ["ReciprocityWeb"])[0].directoryURL.appending(path: "web")
        // The same files the server serves: every name not starting with a dot (WebAssets.swift).
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path(percentEncoded: false))
            .filter { !$0.hasPrefix(".") }.sorted()
        let output = context.pluginWorkDirectoryURL.appending(path: "WebAssetHashes.swift")
        return [
            .buildCommand(
                displayName: "Hashing \(names.count) web assets for 'reciprocity audit --web'",
                executable: try context.tool(named: "WebAssetHasher").url,
                arguments: [folder.path(percentEncoded: false), output.path(percentEncoded: false)],
                // Every asset is an input, so a changed file re-runs the hasher; the plugin itself is re-evaluated
                // on every build, so an added or removed file changes this list and re-runs it too.
                inputFiles: names.map { folder.appending(path: $0) },
                outputFiles: [output])
        ]
    }
}
