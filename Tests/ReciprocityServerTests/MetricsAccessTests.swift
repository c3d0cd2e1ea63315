import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import Testing

/// `/metrics` is the operator's: behind its own credential, off without one, and its store gauges are counted
/// at most once per refresh interval however many scrapes arrive.
@Suite struct MetricsAccessTests {
    func scrape(_ client: some TestClientProtocol, _ credential: String?) async throws -> TestResponse {
        try await client.send(.get, "/metrics", headers: credential.map { [.authorization: "Bearer \($0)"] } ?? [:])
    }

    /// The value of an unlabelled series in an exposition.
    func value(_ name: String, in response: TestResponse) -> Int? {
        String(buffer: response.body).split(separator: "\n")
            .first { $0.hasPrefix(name + " ") }
            .flatMap { Double($0.split(separator: " ")[1]) }.map { Int($0) }
    }

    @Test func withoutAMetricsCredentialTheEndpointIsOff() async throws {
        let harness = try Harness()
        try await harness.application { $0.metricsCredential = nil }.test(.live) { client in
            for credential in [nil, harness.metricsCredential, harness.adminCredential] {
                let response = try await scrape(client, credential)
                #expect(response.status == .notFound)
                #expect(try response.problem().code == "metrics-disabled")
            }
        }
    }

    @Test func onlyTheMetricsCredentialOpensTheEndpoint() async throws {
        let harness = try Harness()
        try await harness.application().test(.live) { client in
            for credential in [nil, "wrong", harness.metricsCredential + "x", harness.adminCredential] {
                let response = try await scrape(client, credential)
                #expect(response.status == .unauthorized)
                #expect(try response.problem().code == "unauthorized")
            }
            let response = try await scrape(client, harness.metricsCredential)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4")
            #expect(value("reciprocity_members", in: response) == 0)
        }
    }

    @Test func concurrentScrapesShareOneStatisticsQueryAndGaugesHoldWithinTheWindow() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application { $0.metricsRefreshInterval = 3600 }.test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<50 { group.addTask { try await scrape(client, harness.metricsCredential) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(responses.allSatisfy { $0.status == .ok })
            #expect(responses.allSatisfy { value("reciprocity_members", in: $0) == 1 })
            // Marks and members change; within the window the gauges do not, and no query is made.
            _ = try await client.submit(alice, [try Mark.dummy(), try Mark.dummy()])
            _ = try await client.join("bob", program: program, invite: invite)
            let later = try await scrape(client, harness.metricsCredential)
            #expect(value("reciprocity_statistics_refreshes_total", in: later) == 1)
            #expect(value("reciprocity_members", in: later) == 1)
            #expect(value("reciprocity_pending_marks", in: later) == 0)
            // The counters of requests still move: they are the operator's traffic figures.
            #expect(value("reciprocity_marks_submitted_total", in: later) == 2)
        }
    }

    @Test func gaugesAreCountedAgainAfterTheRefreshInterval() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application { $0.metricsRefreshInterval = 1 }.test(.live) { client in
            #expect(value("reciprocity_members", in: try await scrape(client, harness.metricsCredential)) == 0)
            _ = try await client.join("alice", program: program, invite: invite)
            var members: Int?
            for _ in 0..<100 where members != 1 {
                try await Task.sleep(for: .milliseconds(200))
                members = value("reciprocity_members", in: try await scrape(client, harness.metricsCredential))
            }
            #expect(members == 1)
        }
    }
}
