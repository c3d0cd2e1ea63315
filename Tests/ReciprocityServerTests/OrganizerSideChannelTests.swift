import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// What an organizer of one program must not learn of another: the audit log's numbers and page cursor count
/// their program's entries only. And what an organizer may not do without limit: send reminders.
@Suite struct OrganizerSideChannelTests {
    /// Two worlds that differ only by admin actions in program B, interleaved with A's: every page of A's audit
    /// log, as A's organizer reads it a few entries at a time, is the same bytes in both.
    @Test(arguments: Backend.enabled)
    func auditPagesOfOneProgramDoNotCountAnothersActions(_ backend: Backend) async throws {
        let credential = try BearerSecret.generate(.organizerCredential)
        var pages: [[String]] = []
        for busyB in [false, true] {
            let harness = try await Harness.make(backend)
            let store = harness.store
            var clock = Date(timeIntervalSince1970: 1_800_000_000)
            func at() -> Date {
                clock += 60
                return clock
            }
            func event(_ action: AuditAction, _ detail: String? = nil) -> AuditEvent {
                AuditEvent(actor: .operator, action: action, detail: detail, at: at())
            }
            let (a, b) = (try ProgramID("alpha"), try ProgramID("beta"))
            _ = try await store.createProgram(name: a, maxMarks: 16, epoch: 0, audit: event(.programCreated))
            _ = try await store.createProgram(name: b, maxMarks: 16, epoch: 0, audit: event(.programCreated))
            _ = try await store.createOrganizer(
                name: "lead", credentialDigest: credential.digest, programs: [a], actor: .operator, now: at())
            for round in 1...4 {
                if busyB {
                    for step in 0..<round {
                        _ = try await store.setEpoch(
                            program: b, epoch: UInt32(round * 10 + step), audit: event(.epochChanged))
                    }
                    _ = try await store.setMaxMarks(program: b, maxMarks: 3 + round, audit: event(.quotaChanged))
                } else {
                    for _ in 0..<(round + 1) { _ = at() }
                }
                _ = try await store.setEpoch(program: a, epoch: UInt32(round), audit: event(.epochChanged, "\(round)"))
            }
            let bodies = try await harness.application().test(.router) { client in
                let organizer: HTTPFields = [.authorization: "Bearer \(credential.text)"]
                var bodies: [String] = []
                var query = "limit=2"
                while true {
                    let response = try await client.send(
                        .get, "/v1/admin/programs/alpha/audit?\(query)", headers: organizer)
                    #expect(response.status == .ok)
                    bodies.append(String(buffer: response.body))
                    guard let next = try response.decode(AuditLogResponse.self).next else { break }
                    query = "limit=2&before=\(next)"
                }
                // Program-created, organizer-granted and four epoch changes: numbered 1 to 6, newest first.
                let all = try await client.send(.get, "/v1/admin/programs/alpha/audit", headers: organizer)
                    .decode(AuditLogResponse.self)
                #expect(all.entries.map(\.id) == [6, 5, 4, 3, 2, 1])
                return bodies
            }
            pages.append(bodies)
        }
        #expect(pages[0].count == 4)
        #expect(pages[0] == pages[1])
    }
}

extension OrganizerSideChannelTests {
    /// A second reminder of a kind to one program within a day is a 429 `reminder-limited` problem with
    /// Retry-After, whoever sends it; the audit log holds the one that was sent.
    @Test(arguments: Backend.enabled)
    func aSecondReminderTheSameDayIsRefused(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application(configure: { $0.noticesEnabled = true }).test(.router) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let set = try await client.send(
                .put, "/v1/me/email", headers: alice.auth, json: EmailSetting(email: "alice@example.test"))
            #expect(set.status == .ok)
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let path = "/v1/admin/programs/\(program)/reminders"
            let first = try await client.send(.post, path, headers: admin, raw: #"{"kind":"complete-profile"}"#)
            #expect(first.status == .accepted)
            let second = try await client.send(.post, path, headers: admin, raw: #"{"kind":"complete-profile"}"#)
            #expect(second.status == .tooManyRequests)
            #expect(try second.problem().code == "reminder-limited")
            #expect((86_300...86_401).contains(Int(second.headers[.retryAfter] ?? "") ?? 0))
            let log = try await client.send(.get, "/v1/admin/programs/\(program)/audit", headers: admin)
                .decode(AuditLogResponse.self)
            #expect(log.entries.filter { $0.action == "reminder-sent" }.count == 1)
        }
    }
}
