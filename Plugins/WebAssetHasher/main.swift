import Foundation
import ReciprocityCore

// The tool of the WebAssetHashes plugin: `WebAssetHasher FOLDER OUTPUT.swift` writes the SHA-256 of every file
// of FOLDER (names not starting with a dot, as the server serves them) as a Swift dictionary. Written only when
// its text changes, so an unchanged web folder does not recompile the CLI.
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: WebAssetHasher FOLDER OUTPUT.swift\n".utf8))
    exit(2)
}
let folder = URL(fileURLWithPath: arguments[1])
let output = URL(fileURLWithPath: arguments[2])
var lines: [String] = []
do {
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
    for name in names {
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        // Names are plain file names; escaped anyway so that no name can break out of the string literal.
        let literal = name.unicodeScalars.map {
            $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20
                ? String($0) : "\\u{\(String($0.value, radix: 16))}"
        }.joined()
        lines.append("        \"\(literal)\": \"\(Hex.encode(ContentDigest.sha256(data)))\",")
    }
} catch {
    FileHandle.standardError.write(Data("WebAssetHasher: cannot read \(folder.path): \(error)\n".utf8))
    exit(1)
}
let text = """
    // Generated at build time by the WebAssetHashes plugin (Plugins/) from Sources/ReciprocityWeb/web.
    // Do not edit: every build writes it again.

    /// The SHA-256 (hex) of every web asset this release of the CLI was built with, by file name.
    enum BuiltWebAssets {
        static let sha256: [String: String] = [
    \(lines.isEmpty ? "        :" : lines.joined(separator: "\n"))
        ]
    }

    """
if (try? String(contentsOf: output, encoding: .utf8)) != text {
    do {
        try text.write(to: output, atomically: true, encoding: .utf8)
    } catch {
        FileHandle.standardError.write(Data("WebAssetHasher: cannot write \(output.path): \(error)\n".utf8))
        exit(1)
    }
}
