import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReciprocityAPI
import ReciprocityCore
import ReciprocityTestSupport
import Testing

@testable import ReciprocityServer

/// A request body whose object names a member twice is refused (`invalid-body`), whatever the route: the
/// decoder alone would keep one of the two values, so two readers of one body could disagree.
@Suite struct DuplicateNamesTests {
    @Test func bodiesThatNameAMemberTwiceAreRefusedOnEveryRouteThatTakesOne() async throws {
        let harness = try Harness()
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let mark = try MarkItem(Mark.dummy())
            let item = #"{"token":"\#(mark.token)","tag":"\#(mark.tag)"}"#
            let admin: HTTPFields = [.authorization: "Bearer \(harness.adminCredential)"]
            let refused: [(String, HTTPFields, String)] = [
                ("/v1/marks", alice.auth, #"{"epoch":0,"epoch":1,"marks":[\#(item)]}"#),
                // Nested, and spelled with an escape: the decoder reads "\u0074ag" as "tag".
                (
                    "/v1/marks", alice.auth,
                    #"{"epoch":0,"marks":[{"token":"\#(mark.token)","tag":"\#(mark.tag)","\u0074ag":"x"}]}"#
                ),
                ("/v1/me/email", alice.auth, #"{"email":"a@example.org","email":"b@example.org"}"#),
                ("/v1/admin/programs", admin, #"{"name":"beta","name":"gamma"}"#),
            ]
            for (path, headers, body) in refused {
                let method: HTTPRequest.Method = path == "/v1/me/email" ? .put : .post
                let response = try await client.send(method, path, headers: headers, raw: body)
                #expect(response.status == .badRequest, "\(path) \(body)")
                let problem = try response.problem()
                #expect(problem.code == "invalid-body" && problem.detail?.contains("twice") == true, "\(problem)")
            }
            // The same names in different objects are not repeats.
            let other = try MarkItem(Mark.dummy())
            let fine = #"{"epoch":0,"marks":[\#(item),{"token":"\#(other.token)","tag":"\#(other.tag)"}]}"#
            #expect(try await client.send(.post, "/v1/marks", headers: alice.auth, raw: fine).status == .ok)
            // The refused program was not created under either name.
            let programs = String(buffer: try await client.send(.get, "/v1/admin/programs", headers: admin).body)
            #expect(programs.contains("acme") && !programs.contains("beta") && !programs.contains("gamma"))
        }
    }

    @Test func theScanFindsRepeatsOnlyWithinOneObject() {
        let cases: [(String, Bool)] = [
            (#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#, false),
            (#"{"a":"a","b":"a"}"#, false),
            (#"{"a\"b":1,"a\"b":2}"#, true),
            (#"{"a":1,"b":{"c":2,"c":3}}"#, true),
            (#"[{"x":1},{"y":2,"y":3}]"#, true),
            (#"{"é":1,"e\#u{301}":2}"#, true),
            (#"{"a":[1,2,{"b":1}],"a":0}"#, true),
            (#"{"a":"unterminated"#, false),
            ("", false),
            ("}}]]{", false),
        ]
        for (json, repeated) in cases {
            #expect(DuplicateNames.present(in: Data(json.utf8)) == repeated, "\(json)")
        }
        // Objects with many names (a set, past the first few), nested ones inside them, and a repeat at the end.
        let many = (0..<40).map { #""n\#($0)":{"n\#($0)":1,"x":[{"x":2}]}"# }.joined(separator: ",")
        #expect(!DuplicateNames.present(in: Data("{\(many)}".utf8)))
        #expect(DuplicateNames.present(in: Data(#"{\#(many),"n7":0}"#.utf8)))
        #expect(DuplicateNames.present(in: Data(#"{\#(many),"z":{"a":1,"a":2}}"#.utf8)))
    }

    /// A body as large as the server takes (320 KiB), all names of one object, with the repeat at its end: the
    /// object switches to a set past its first few names (its time is printed, not asserted: speed is the
    /// benchmarks' business).
    @Test func aBodyOfManyNamesFindsTheRepeatAtItsEnd() {
        let names = (0..<20_000).map { #""name\#($0)":0"# }.joined(separator: ",")
        let body = Data("{\(names),\"name19999\":1}".utf8)
        let started = ContinuousClock.now
        #expect(DuplicateNames.present(in: body))
        let took = ContinuousClock.now - started
        print("duplicate names: \(body.count) bytes of 20,001 names scanned in \(took)")
    }
}
