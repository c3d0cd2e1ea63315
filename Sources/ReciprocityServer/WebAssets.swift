import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReciprocityCore
import ReciprocityWeb

/// The members' web app (the ReciprocityWeb target's `web/` folder): every file read once at start and served from
/// memory, with a public manifest of each file's SHA-256 so that members and auditors can check the code that holds
/// their keys.
struct WebAssets: Sendable {
    /// One served file.
    struct Asset: Sendable {
        let contentType: String
        let body: ByteBuffer
        let sha256: [UInt8]
    }

    /// Assets by file name (the web folder is flat: a name never contains "/").
    let assets: [String: Asset]
    /// The manifest as served: `{"algorithm": "sha-256", "assets": [{path, contentType, size, sha256, integrity}]}`.
    let manifest: ByteBuffer

    /// The assets this build was made with.
    static let bundled = WebAssets(folder: WebFolder.url)

    init(folder: URL?) {
        let names = (folder.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) } ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
        var assets: [String: Asset] = [:]
        var entries: [ManifestEntry] = []
        for name in names {
            guard let folder, let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { continue }
            let type = WebHeaders.contentType(ofFile: name)
            let digest = ContentDigest.sha256(data)
            assets[name] = Asset(contentType: type, body: ByteBuffer(bytes: data), sha256: digest)
            entries.append(
                ManifestEntry(
                    path: "/web/\(name)", contentType: type, size: data.count, sha256: Hex.encode(digest),
                    integrity: "sha256-" + Data(digest).base64EncodedString()))
        }
        self.assets = assets
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings and integers cannot fail.
        let json = (try? encoder.encode(Manifest(algorithm: "sha-256", assets: entries))) ?? Data()
        manifest = ByteBuffer(bytes: json)
    }

    struct Manifest: Encodable {
        let algorithm: String
        let assets: [ManifestEntry]
    }

    struct ManifestEntry: Encodable {
        let path: String
        let contentType: String
        let size: Int
        /// Lowercase hex.
        let sha256: String
        /// The Subresource Integrity form, for `<script integrity>` and `<link integrity>`.
        let integrity: String
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        let group = router.group().add(middleware: WebSecurityHeaders())
        group.get("/web-manifest.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: WebHeaders.contentType(ofFile: "web-manifest.json")],
                body: .init(byteBuffer: manifest))
        }
        // The pages (`WebHeaders.pages`): the members' app at the start and for invite links
        // (`/join#program=P&invite=CODE`, the code in the fragment, which the browser never sends), the console.
        for (path, file) in WebHeaders.pages {
            group.get(RouterPath(path)) { _, _ in
                guard let page = assets[file] else { throw Problem(.notFound) }
                return Response(
                    status: .ok, headers: [.contentType: page.contentType], body: .init(byteBuffer: page.body))
            }
        }
        group.get("/web/:asset") { _, context in
            guard let name = context.parameters.get("asset"), let asset = assets[name] else { throw Problem(.notFound) }
            return Response(
                status: .ok, headers: [.contentType: asset.contentType], body: .init(byteBuffer: asset.body))
        }
    }
}

/// What every web app response carries: `WebHeaders.security` (which says why each).
struct WebSecurityHeaders<Context: RequestContext>: RouterMiddleware {
    static var headers: HTTPFields {
        HTTPFields(WebHeaders.security.map { HTTPField(name: HTTPField.Name($0.name)!, value: $0.value) })
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers.append(contentsOf: Self.headers)
        return response
    }
}
