import Foundation
import Hummingbird
import HummingbirdTesting
import ReciprocityAPI
import ReciprocityCore
import ReciprocityServer
import ReciprocityStore
import ReciprocityTestSupport
import Testing

/// The key log as the API serves it, against a real server on a loopback port and a real SQLite file.
@Suite struct KeyLogAPITests {
    @Test(arguments: Backend.enabled) func directoryChangesAreLoggedInOrderAndEveryServedKeyIsProvenInASignedHead(
        _ backend: Backend
    ) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        let operations = AdminOperations(store: harness.store)
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            let bob = try await client.join("bob", program: program, invite: invite)
            _ = try await operations.setStatus(program: "acme", handle: "bob", status: .suspended)
            // No change, so no entry:
            _ = try await operations.setStatus(program: "acme", handle: "bob", status: .suspended)
            _ = try await operations.setStatus(program: "acme", handle: "bob", status: .active)
            let served = try await client.send(.get, "/v1/log/head", headers: alice.auth).decode(LogHeadResponse.self)
            let logKey = try LogPublicKey(base64URL: served.logPublicKey)
            let head = try served.treeHead.signedTreeHead()
            #expect(head.size == 4 && head.verify(with: logKey))

            let entries = try await client.send(.get, "/v1/log/entries?start=0", headers: alice.auth)
                .decode(LogEntriesResponse.self).entries
            #expect(
                entries.map { "\($0.index) \($0.event.rawValue) \($0.handle)" }
                    == ["0 join alice", "1 join bob", "2 leave bob", "3 join bob"])
            #expect(entries.filter { $0.handle == "bob" }.allSatisfy { $0.publicKey == bob.key.publicKey.base64URL })
            var directory = KeyDirectory(program: program)
            for entry in entries {
                try directory.apply(
                    KeyLogEntry(
                        program: program, event: entry.event, handle: try Handle(entry.handle),
                        publicKey: try PublicKey(base64URL: entry.publicKey)))
            }
            #expect(directory.root == head.root)
            #expect(
                try await client.send(.get, "/v1/log/entries?start=2&limit=1", headers: alice.auth)
                    .decode(LogEntriesResponse.self).entries.map(\.index) == [2])

            // The directory answer for bob proves his latest entry (his reinstatement) in the same head.
            let member = try await client.send(.get, "/v1/directory/bob", headers: alice.auth).decode(MemberInfo.self)
            let proof = try #require(member.keyProof)
            #expect(proof.leafIndex == 3 && proof.event == .join && proof.treeHead == served.treeHead)
            let leaf = KeyLogEntry(program: program, event: .join, handle: bob.handle, publicKey: bob.key.publicKey)
            #expect(
                MerkleTree.verifyInclusion(
                    index: 3, treeSize: 4, leafHash: leaf.leafHash,
                    proof: try ProofHashes.decode(proof.inclusionProof), root: head.root))
            let page = try await client.send(.get, "/v1/directory", headers: alice.auth).decode(DirectoryPage.self)
            #expect(page.members.allSatisfy { $0.keyProof?.treeHead == served.treeHead })

            // A new member grows the log; the new head extends the old one.
            _ = try await client.join("carol", program: program, invite: invite)
            let newer = try await client.send(.get, "/v1/log/head", headers: alice.auth).decode(LogHeadResponse.self)
            let newHead = try newer.treeHead.signedTreeHead()
            #expect(newHead.size == 5 && newHead.timestamp >= head.timestamp)
            let consistency = try await client.send(.get, "/v1/log/consistency?from=4&to=5", headers: alice.auth)
                .decode(ConsistencyProofResponse.self)
            #expect(
                MerkleTree.verifyConsistency(
                    oldSize: 4, newSize: 5, oldRoot: head.root, newRoot: newHead.root,
                    proof: try ProofHashes.decode(consistency.proof)))
            // The same key signs every head; a member of another program sees another log.
            #expect(newer.logPublicKey == served.logPublicKey)
        }
    }

    @Test(arguments: Backend.enabled) func badRangesAreProblemsNeverServerErrors(_ backend: Backend) async throws {
        let harness = try await Harness.make(backend)
        let (program, invite) = try await harness.program()
        try await harness.application().test(.live) { client in
            let alice = try await client.join("alice", program: program, invite: invite)
            for (uri, code) in [
                ("/v1/log/consistency?from=0&to=1", "invalid-parameter"),
                ("/v1/log/consistency?from=2&to=1", "proof-not-found"),
                ("/v1/log/consistency?from=1&to=2", "proof-not-found"),
                ("/v1/log/consistency?to=1", "invalid-parameter"),
                ("/v1/log/consistency?from=x&to=1", "invalid-parameter"),
                ("/v1/log/entries?start=-1", "invalid-parameter"),
                ("/v1/log/entries?limit=1001", "invalid-parameter"),
                ("/v1/log/entries?limit=0", "invalid-parameter"),
            ] {
                let response = try await client.send(.get, uri, headers: alice.auth)
                #expect(response.status == (code == "proof-not-found" ? .notFound : .badRequest), "\(uri)")
                #expect(try response.problem().code == code, "\(uri)")
            }
            #expect(
                try await client.send(.get, "/v1/log/entries?start=99", headers: alice.auth)
                    .decode(LogEntriesResponse.self).entries.isEmpty)
        }
    }

    @Test func theSigningKeyFileIsCreatedPrivateReusedAndRefusedWhenExposed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logkey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("server.log-key").path
        let (created, isNew) = try LogKeyFile.loadOrCreate(path: path)
        #expect(isNew)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        let (loaded, isNewAgain) = try LogKeyFile.loadOrCreate(path: path)
        #expect(!isNewAgain && loaded.publicKey == created.publicKey)
        #expect(!"\(loaded)".contains(Base64URL.encode(loaded.rawRepresentation)))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: StoreError.self) { try LogKeyFile.loadOrCreate(path: path) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { try LogKeyFile.loadOrCreate(path: path) }
    }
}
