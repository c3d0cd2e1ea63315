import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import ReciprocityAPI
import ReciprocityClient
import ReciprocityCore

/// `reciprocity-bench directory`: the directory replica of a program of N members (Specs/client.md, 1a): bytes
/// on the wire and time of the first sync and of an incremental one, the replica's size on disk, and what a
/// command pays locally (loading the replica, one search). Each time is given as wall-clock milliseconds and
/// as CPU milliseconds (this process's, and for syncs the server's too), which a busy machine hardly moves.
struct DirectoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "First and incremental sync of the directory replica for N members: bytes, milliseconds, disk size.")

    @OptionGroup var options: ServerBenchOptions
    @Option(help: "Members in the program.") var members = 10_000
    @Option(help: "Profiles changed before the incremental sync.") var changes = 100

    /// A profile of a typical size: a two-word name, a headline of about 80 characters, three tags.
    static func profile(_ index: Int) -> Profile {
        Profile(
            displayName: "Member \(index) Lastname",
            headline:
                "Works on platform engineering and virtual desktops, team \(index % 97), since 20\(10 + index % 15)",
            tags: ["swift", "vdi", "team-\(index % 97)"], offersMentoring: index % 3 == 0,
            seeksMentoring: index % 5 == 0)
    }

    func run() async throws {
        let setupStart = ContinuousClock.now
        let fixture = try await ServerFixture(members: members, port: options.port, profile: Self.profile)
        let client = makeClient(connections: 1)
        try await fixture.start(binary: options.serverBinary, client: client)
        report("setup_s", elapsedSeconds(ContinuousClock.now - setupStart), decimals: 1)

        // The wire: every page of a first sync and of an incremental one, counted as received (status line,
        // headers and body).
        let first = try await Self.follow(client, fixture, since: nil)
        report("members", Double(members))
        report("first_sync_pages", Double(first.pages))
        report("first_sync_wire_bytes", Double(first.bytes))
        report("wire_bytes_per_member", Double(first.bytes) / Double(members), decimals: 1)

        // The library, as a command runs it: a first sync into an empty replica, saved to disk.
        let membership = try await Membership.join(
            home: fixture.directory.appendingPathComponent("home"), server: fixture.url(""), program: "bench",
            invite: try await fixture.invite(), handle: "bench-reader", profile: Profile(displayName: "Reader"))
        var measure = Measure(fixture)
        let replica = try await membership.syncDirectory(DirectoryReplica())
        measure.finish("first_sync")
        let file = membership.folder.url.appendingPathComponent("directory.json").path
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
        report("replica_disk_bytes", Double(size))
        report("disk_bytes_per_member", Double(size) / Double(replica.members.count), decimals: 1)

        // What every command pays to decide whether to sync, and what a search costs, locally.
        measure = Measure(fixture)
        let loaded = try membership.folder.loadDirectory()
        measure.finish("load_replica")
        measure = Measure(fixture)
        let found = loaded.page(DirectoryFilter(search: "team 42,", limit: 200))
        measure.finish("local_search")
        guard !found.members.isEmpty else { throw BenchFailure("the local search found nobody") }

        // An incremental sync after `changes` members updated their profiles.
        for index in 0..<changes {
            var request = HTTPClientRequest(url: fixture.url("/v1/me/profile"))
            request.method = .PUT
            request.headers.add(name: "Authorization", value: "Bearer \(fixture.credentials[index])")
            request.headers.add(name: "Content-Type", value: "application/json")
            var changed = Self.profile(index)
            changed.headline = "Changed \(index)"
            request.body = .bytes(ByteBuffer(bytes: try APICoding.encoder().encode(changed)))
            try await send(client, request)
        }
        let incremental = try await Self.follow(client, fixture, since: first.cursor)
        report("incremental_changes", Double(changes))
        report("incremental_wire_bytes", Double(incremental.bytes))
        measure = Measure(fixture)
        let synced = try await membership.syncDirectory(loaded)
        measure.finish("incremental_sync")
        guard synced.members["member0"]?.profile.headline == "Changed 0" else {
            throw BenchFailure("the change did not arrive")
        }
        let start = ContinuousClock.now
        try await membership.refreshDirectoryIfStale()
        report("fresh_check_ms", elapsedSeconds(ContinuousClock.now - start) * 1000, decimals: 2)
        try await client.shutdown()
        fixture.stop()
    }

    /// Follows `GET /v1/profiles` from `since` to the end as the fixture's first member.
    static func follow(_ client: HTTPClient, _ fixture: ServerFixture, since: String?) async throws
        -> (pages: Int, bytes: Int, cursor: String)
    {
        var cursor = since
        var pages = 0
        var bytes = 0
        while true {
            var request = HTTPClientRequest(url: fixture.url("/v1/profiles" + (cursor.map { "?since=\($0)" } ?? "")))
            request.headers.add(name: "Authorization", value: "Bearer \(fixture.credentials[0])")
            let response = try await client.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 8 << 20)
            guard response.status == .ok else { throw BenchFailure("GET /v1/profiles answered \(response.status)") }
            bytes +=
                body.readableBytes + 17
                + response.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 } + 2
            pages += 1
            let page = try APICoding.decoder().decode(ProfileChanges.self, from: Data(buffer: body))
            cursor = page.cursor
            if !page.more { return (pages, bytes, page.cursor) }
        }
    }
}

/// Wall-clock and CPU time from its creation to `finish`: this process's CPU (`getrusage`) and the server's.
private struct Measure {
    let fixture: ServerFixture
    let wall = ContinuousClock.now
    let cpu = Measure.processCPUSeconds()
    let server: Double?

    init(_ fixture: ServerFixture) {
        self.fixture = fixture
        server = fixture.serverCPUSeconds()
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
            usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    func finish(_ name: String) {
        report("\(name)_ms", elapsedSeconds(ContinuousClock.now - wall) * 1000, decimals: 1)
        report("\(name)_client_cpu_ms", (Self.processCPUSeconds() - cpu) * 1000, decimals: 1)
        if let server, let now = fixture.serverCPUSeconds(), now > server {
            report("\(name)_server_cpu_ms", (now - server) * 1000, decimals: 1)
        }
    }
}
