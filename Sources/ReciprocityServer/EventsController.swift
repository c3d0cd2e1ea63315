import Foundation
import HTTPTypes
import Hummingbird
import ReciprocityCore
import ReciprocityStore
import ServiceLifecycle

/// `GET /v1/events`: one long-lived response per open app, a server-sent event stream that says only that
/// something changed for the caller (a new match, a message or the end of one of their conversations), never
/// what, whose or how many: `event: changed` with empty data, once at connection (so that a client that was
/// away refreshes) and after each change; a comment line every `keepAlive` holds proxies open. The client then
/// polls the routes it shows (matches, conversations), as it does without the stream. Bearer-authenticated like
/// every member route: the web page reads it with fetch(), not EventSource, which cannot send the header.
///
/// A suspended member's stream ends, and so does one opened with a credential since rotated: before each event
/// or keep-alive the stream authenticates its credential again (the authenticator's own lookup and constant-time
/// comparison, one read), and ends instead of writing once it no longer names this member, active. A suspension
/// through the admin API and a rotation wake the member's streams at once; a suspension made elsewhere
/// (`reciprocityd admin suspend`) ends them by the next keep-alive.
struct EventsController {
    let store: any ReciprocityStore
    let changes: ChangeFeed
    var keepAlive: Duration = .seconds(15)

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/events", use: events)
    }

    static let changed = ByteBuffer(string: "event: changed\ndata:\n\n")
    static let comment = ByteBuffer(string: ":\n\n")

    @Sendable func events(request: Request, context: AppRequestContext) async throws -> Response {
        let (member, _) = try context.requireMember()
        guard let credential = bearerCredential(request) else { throw Problem.unauthorized }
        let digest = BearerSecret.digest(of: credential)
        let (ticks, end) = changes.subscribe(memberID: member.id, keepAlive: keepAlive)
        let store = store
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream", .cacheControl: "no-store",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: ResponseBody { writer in
                try await writer.write(Self.changed)
                // Graceful shutdown ends the stream, so that it does not hold the server's drain to its timeout.
                try await withGracefulShutdownHandler {
                    for await tick in ticks {
                        guard let (current, _) = try await store.authenticate(credentialDigest: digest),
                            current.id == member.id, current.status == .active
                        else { break }
                        try await writer.write(tick == .changed ? Self.changed : Self.comment)
                    }
                } onGracefulShutdown: {
                    end()
                }
                try await writer.finish(nil)
            })
    }
}
