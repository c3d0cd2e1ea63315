import Foundation
public import Hummingbird
import HummingbirdCore
public import Logging
public import ReciprocityCore
public import ReciprocityStore

/// What the HTTP application needs to know; each field's initial value is its setting's default (the settings
/// table of `reciprocityd serve`, docs/operations.md "Configuration").
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// The operator's bearer credential; nil turns the admin API off (for organizers too).
    public var adminCredential: String?
    /// Requests a minute per member (burst and sustained); 0 turns the limit off.
    public var rateLimitPerMinute = 1200
    /// Seconds before a connection that sends or receives nothing is closed (slow or stalled clients).
    public var idleTimeout = 30
    /// Seconds from a request's first byte until its whole body must have arrived.
    public var requestTimeout = 30
    /// Bytes a second a request body must average after its first 5 seconds; 0 turns the check off.
    public var minimumBodyRate = 1024
    /// Connections open at once; beyond it new connections are answered 503 and closed.
    public var maxConnections = 512
    /// Joins a minute per client address (burst and sustained); 0 turns the limit off.
    public var joinRateLimitPerMinute = 120
    /// The bearer credential for `/metrics`; nil turns the endpoint off (404 `metrics-disabled`).
    public var metricsCredential: String?
    /// Seconds the store gauges of `/metrics` are kept before they are counted again.
    public var metricsRefreshInterval = 60
    /// The key that signs key-log heads. `reciprocityd serve` loads it from its key file; the default is a
    /// fresh key, which clients that pinned another one will refuse.
    public var logSigningKey: LogSigningKey = try! LogSigningKey()
    /// A folder to serve the web app from instead of the files built into the server (development, and the
    /// tests of `reciprocity audit --web`); nil serves the built-in files.
    public var webFolder: String?
    /// Messages each member may send per conversation per day, and envelope bytes one conversation may hold.
    public var conversationLimits = ConversationLimits()
    /// Whether email notices are on (an SMTP relay is set): organizers' reminders are refused otherwise.
    public var noticesEnabled = false

    public init() {}
}

/// Builds the routes for `configuration`. Shared by the executable and the tests.
public func buildRouter(
    configuration: ServerConfiguration, store: any ReciprocityStore, metrics: ServerMetrics = ServerMetrics(),
    changes: ChangeFeed = ChangeFeed()
) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsRecordingMiddleware(metrics: metrics))
    let routeTable = RouteTable()
    router.add(middleware: ProblemMiddleware(routes: routeTable))

    // Liveness: the process answers. Readiness: the database is open and takes writes.
    router.get("/healthz") { _, _ in try jsonResponse(["status": "ok"]) }
    router.get("/readyz") { _, _ in
        do {
            try await store.checkWritable()
        } catch {
            throw Problem(.notReady)
        }
        return try jsonResponse(["status": "ready"])
    }
    router.group("/metrics")
        .add(middleware: OperatorAuthenticator(credential: configuration.metricsCredential, disabled: .metricsDisabled))
        .get { _, _ in
            let text = try await metrics.exposition(
                store: store, refreshInterval: .seconds(configuration.metricsRefreshInterval))
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }

    router.get("/openapi.yaml") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "application/yaml"],
            body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.contents)))
    }

    let web = configuration.webFolder.map { WebAssets(folder: URL(fileURLWithPath: $0)) } ?? WebAssets.bundled
    web.addRoutes(to: router)

    let transparency = KeyTransparency(store: store, signingKey: configuration.logSigningKey)
    let members = MemberController(store: store, transparency: transparency, changes: changes)
    let joins = router.group()
    if configuration.joinRateLimitPerMinute > 0 {
        joins.add(middleware: AddressRateLimiter(limiter: RateLimiter(perMinute: configuration.joinRateLimitPerMinute)))
    }
    members.addPublicRoutes(to: joins)
    let limiter =
        configuration.rateLimitPerMinute > 0 ? RateLimiter<Int64>(perMinute: configuration.rateLimitPerMinute) : nil
    let authenticated = router.group("/v1").add(middleware: MemberAuthenticator(store: store, rateLimiter: limiter))
    members.addMemberRoutes(to: authenticated)
    MarkController(store: store, metrics: metrics, changes: changes).addRoutes(to: authenticated)
    LogController(store: store, transparency: transparency).addRoutes(to: authenticated)
    ConversationController(store: store, limits: configuration.conversationLimits, changes: changes)
        .addRoutes(to: authenticated)
    EventsController(store: store, changes: changes).addRoutes(to: authenticated)

    let admin = router.group("/v1/admin").add(
        middleware: AdminAuthenticator(store: store, credential: configuration.adminCredential))
    AdminController(store: store, noticesEnabled: configuration.noticesEnabled, changes: changes).addRoutes(to: admin)
    routeTable.record(router.routes.map { (path: $0.path.description, method: $0.method.rawValue) })
    return router
}

/// The application `reciprocityd serve` runs: the router on the configured address.
public func buildApplication(
    configuration: ServerConfiguration, store: any ReciprocityStore, logger: Logger,
    metrics: ServerMetrics = ServerMetrics(), changes: ChangeFeed = ChangeFeed()
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(configuration: configuration, store: store, metrics: metrics, changes: changes),
        server: HTTPServerBuilder { responder in
            LimitedHTTP1Channel(
                base: HTTP1Channel(
                    responder: responder,
                    configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeout)))),
                limits: ConnectionLimits(
                    requestTimeout: configuration.requestTimeout, minimumBodyRate: configuration.minimumBodyRate,
                    maxConnections: configuration.maxConnections))
        },
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "reciprocityd"),
        logger: logger)
}

/// The served copy of Specs/openapi.yaml, from the module's resources.
enum OpenAPIDocument {
    static let contents: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = try? Data(contentsOf: url)
        else { return Data("openapi document missing from the build\n".utf8) }
        return data
    }()
}
