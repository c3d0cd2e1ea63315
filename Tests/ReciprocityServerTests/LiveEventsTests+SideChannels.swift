import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReciprocityAPI
import ReciprocityCore
import ReciprocityTestSupport
import Testing

@testable import ReciprocityServer

/// What an event stream must not say: a resubmission of a match, a change to a suspended member; and what it
/// must not lose: a change pending behind a keep-alive.
extension LiveEventsTests {
    /// Resubmitting a token already matched is answered `matched` again, but it is not a new match: the other
    /// member's stream stays silent (it would tell them the mark was submitted again).
    @Test func aResubmittedMatchFiresNoEvent() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let port = try #require(client.port)
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let streams = try [alice, bob].map { try EventStream(port: port, member: $0) }
            for stream in streams {
                #expect(await stream.read(until: "event: changed", seconds: 5).contains("event: changed"))
            }
            let mark = try alice.mark(.mentee, on: bob).mark
            _ = try await client.submit(alice, [mark])
            _ = try await client.submit(bob, [try bob.mark(.mentor, on: alice).mark])
            for stream in streams {
                #expect(await stream.read(until: "event: changed", seconds: 2).contains("event: changed"))
            }
            let again = try await client.submit(alice, [mark])
            #expect(try again.decode(SubmitMarksResponse.self).results.map(\.status) == [.matched])
            let heard = await streams[1].read(until: "event: changed", seconds: 1)
            #expect(!heard.contains("event: changed"), "\(heard)")
        }
    }

    /// Suspending a member through the admin API ends their open stream at once; one suspended by the store
    /// directly (as `reciprocityd admin suspend` does) is told nothing more: the next change ends the stream
    /// without its event.
    @Test func aSuspendedMembersStreamEndsAndCarriesNothingMore() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let port = try #require(client.port)
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            let carol = try await client.join("carol", program: program, invite: invite)
            _ = try await client.submit(alice, [try alice.mark(.mentee, on: carol).mark])
            _ = try await client.submit(carol, [try carol.mark(.mentor, on: alice).mark])
            let token = try #require(try await client.matches(carol).first).token
            let streams = try [bob, carol].map { try EventStream(port: port, member: $0) }
            for stream in streams {
                #expect(await stream.read(until: "event: changed", seconds: 5).contains("event: changed"))
            }
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let suspended = try await client.send(
                .post, "/v1/admin/programs/\(program)/members/bob/suspend", headers: admin)
            #expect(suspended.status == .ok)
            let bobsEnd = await streams[0].read(until: "0\r\n\r\n", seconds: 2)
            #expect(bobsEnd.contains("0\r\n\r\n") && !bobsEnd.contains("event:"), "\(bobsEnd)")

            _ = try await harness.store.setStatus(program: program, handle: carol.handle, status: .suspended)
            let posted = try await client.send(
                .post, "/v1/conversations/\(token)/messages", headers: alice.auth,
                json: PostMessageRequest(envelope: ConversationAPITests.envelope()))
            #expect(posted.status == .created)
            let carolsEnd = await streams[1].read(until: "0\r\n\r\n", seconds: 2)
            #expect(carolsEnd.contains("0\r\n\r\n") && !carolsEnd.contains("event:"), "\(carolsEnd)")
        }
    }

    /// A stream opened with a credential since rotated ends: at once when the member rotates through the API,
    /// and, for a credential replaced in the store directly, at the next change, without its event (a thief
    /// holding the old credential learns nothing more).
    @Test func aRotatedCredentialsStreamEndsAndCarriesNothingMore() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let port = try #require(client.port)
            let alice = try await client.join("alice", program: program, invite: invite)
            let carol = try await client.join("carol", program: program, invite: invite)
            _ = try await client.submit(alice, [try alice.mark(.mentee, on: carol).mark])
            _ = try await client.submit(carol, [try carol.mark(.mentor, on: alice).mark])
            let token = try #require(try await client.matches(carol).first).token
            let streams = try [alice, carol].map { try EventStream(port: port, member: $0) }
            for stream in streams {
                #expect(await stream.read(until: "event: changed", seconds: 5).contains("event: changed"))
            }
            let rotated = try await client.send(.post, "/v1/me/credential", headers: carol.auth)
            #expect(rotated.status == .ok)
            let carolsCredential = try rotated.decode(CredentialResponse.self).credential
            let carolsEnd = await streams[1].read(until: "0\r\n\r\n", seconds: 2)
            #expect(carolsEnd.contains("0\r\n\r\n") && !carolsEnd.contains("event:"), "\(carolsEnd)")

            let record = try #require(try await harness.store.program(named: program))
            let member = try #require(try await harness.store.member(programID: record.id, handle: alice.handle))
            try await harness.store.replaceCredential(
                memberID: member.id, credentialDigest: try BearerSecret.generate(.memberCredential).digest)
            let posted = try await client.send(
                .post, "/v1/conversations/\(token)/messages", headers: [.authorization: "Bearer \(carolsCredential)"],
                json: PostMessageRequest(envelope: ConversationAPITests.envelope()))
            #expect(posted.status == .created)
            let alicesEnd = await streams[0].read(until: "0\r\n\r\n", seconds: 2)
            #expect(alicesEnd.contains("0\r\n\r\n") && !alicesEnd.contains("event:"), "\(alicesEnd)")
        }
    }

    /// A change that arrives while keep-alives tick is still told: a keep-alive never stands in for it.
    @Test func aPendingChangeIsNeverLostToAKeepAlive() async throws {
        let feed = ChangeFeed()
        let (ticks, end) = feed.subscribe(memberID: 7, keepAlive: .milliseconds(1))
        feed.changed(memberIDs: [7])
        // Many keep-alives are due before the reader looks.
        try await Task.sleep(for: .milliseconds(500))
        var iterator = ticks.makeAsyncIterator()
        #expect(await iterator.next() == .changed)
        #expect(await iterator.next() == .keepAlive)
        end()
    }
}
