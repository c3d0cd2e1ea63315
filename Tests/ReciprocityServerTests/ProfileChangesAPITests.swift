import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// `GET /v1/profiles`, the directory replica's sync, over a real server and each backend.
@Suite struct ProfileChangesAPITests {
    @Test(arguments: Backend.enabled) func changesFollowTheDirectoryAndDoNotDependOnWhoAsks(_ backend: Backend)
        async throws
    {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join(
                "bob", program: program, invite: invite,
                profile: Profile(displayName: "Bob", headline: "Builds", tags: ["swift"], offersMentoring: true))
            _ = try await client.join("carol", program: program, invite: invite)
            func changes(_ query: String, as member: TestMember) async throws -> TestResponse {
                try await client.send(.get, "/v1/profiles\(query)", headers: member.auth)
            }
            let full = try await changes("", as: alice)
            let listing = try full.decode(ProfileChanges.self)
            #expect(listing.reset && !listing.more)
            #expect(listing.changes.map(\.handle) == ["alice", "bob", "carol"])
            #expect(
                listing.changes[1].profile
                    == Profile(displayName: "Bob", headline: "Builds", tags: ["swift"], offersMentoring: true))
            #expect(listing.changes.allSatisfy { $0.joinedAt != nil })
            // The same bytes whoever asks.
            #expect(String(buffer: try await changes("", as: bob).body) == String(buffer: full.body))
            #expect(
                String(buffer: try await changes("?since=\(listing.cursor)", as: bob).body)
                    == String(buffer: try await changes("?since=\(listing.cursor)", as: alice).body))

            // A profile update and a suspension, then nothing.
            let update = Profile(displayName: "Bobby", headline: "Builds things")
            #expect(try await client.send(.put, "/v1/me/profile", headers: bob.auth, json: update).status == .ok)
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            #expect(
                try await client.send(.post, "/v1/admin/programs/acme/members/carol/suspend", headers: admin).status
                    == .ok)
            let next = try await changes("?since=\(listing.cursor)", as: alice).decode(ProfileChanges.self)
            #expect(!next.reset && !next.more)
            #expect(
                next.changes == [
                    ProfileChange(handle: "bob", profile: update, joinedAt: listing.changes[1].joinedAt),
                    ProfileChange(handle: "carol", profile: nil, joinedAt: nil),
                ])
            let idle = try await changes("?since=\(next.cursor)", as: alice).decode(ProfileChanges.self)
            #expect(idle == ProfileChanges(changes: [], cursor: next.cursor, more: false, reset: false))
            // Pages of one.
            let first = try await changes("?limit=1", as: alice).decode(ProfileChanges.self)
            #expect(first.changes.map(\.handle) == ["alice"] && first.more && first.reset)

            // A well-formed cursor this database did not issue starts over; a malformed one is refused.
            let foreign = try await changes("?since=AAAAAAAAAAAAAAAAAAAAAA.1", as: alice).decode(ProfileChanges.self)
            #expect(foreign.reset && foreign.changes.map(\.handle) == ["alice", "bob"])
            for query in ["?since=", "?since=abc", "?since=\(listing.cursor)x", "?limit=0", "?limit=1001", "?limit=x"] {
                let refused = try await changes(query, as: alice)
                #expect(refused.status == .badRequest, "\(query)")
                #expect(try refused.problem().code == "invalid-parameter", "\(query)")
            }
            #expect(try await client.send(.get, "/v1/profiles").status == .unauthorized)
        }
    }

    /// Profiles at every byte limit: a page of the largest `limit` is cut at the byte budget, stays well under
    /// 1 MiB, and the following pages carry the rest.
    @Test(arguments: Backend.enabled) func pagesStayUnderTheByteBudget(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, members) = try await StoreHarness.members(harness.store, count: 300)
        let largest = Profile(
            displayName: String(repeating: "\u{1F600}", count: Profile.maxDisplayName),
            headline: String(repeating: "\"", count: Profile.maxHeadline),
            tags: (0..<Profile.maxTags).map { "tag-\($0)-" + String(repeating: "x", count: 24) }, offersMentoring: true)
        for member in members { _ = try await harness.store.updateProfile(memberID: member.id, profile: largest) }
        let invite = try BearerSecret.generate(.invite)
        _ = try await harness.store.createInvite(
            program: program.name, codeDigest: invite.digest, uses: 1, expiresAt: nil)
        try await harness.application().test(.live) { client in
            let viewer = try await client.join("viewer", program: program.name, invite: invite.text)
            var cursor: String?
            var handles: [String] = []
            var sizes: [Int] = []
            repeat {
                let response = try await client.send(
                    .get, "/v1/profiles?limit=1000" + (cursor.map { "&since=\($0)" } ?? ""), headers: viewer.auth)
                let page = try response.decode(ProfileChanges.self)
                sizes.append(response.body.readableBytes)
                handles += page.changes.map(\.handle)
                cursor = page.more ? page.cursor : nil
            } while cursor != nil
            #expect(Set(handles).count == 301 && handles.count == 301)
            #expect(sizes.count >= 2 && sizes.allSatisfy { $0 <= 1 << 19 }, "\(sizes)")
            print("profiles pages of the largest profiles: \(sizes) bytes")
        }
    }
}
