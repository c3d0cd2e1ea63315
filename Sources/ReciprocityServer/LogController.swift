import Foundation
import Hummingbird
import ReciprocityAPI
import ReciprocityCore
import ReciprocityStore

/// The key log of the caller's program: its signed head, its entries and consistency proofs. The log holds
/// directory changes only (handles and public keys, which every member can already see); nothing in it
/// depends on marks.
struct LogController {
    let store: any ReciprocityStore
    let transparency: KeyTransparency
    static let maxEntries = 1000

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/log/head", use: head)
        group.get("/log/entries", use: entries)
        group.get("/log/consistency", use: consistency)
    }

    @Sendable func head(request: Request, context: AppRequestContext) async throws -> Response {
        let (_, program) = try context.requireMember()
        let head = try await transparency.head(program)
        return try jsonResponse(
            LogHeadResponse(treeHead: TreeHeadInfo(head), logPublicKey: transparency.signingKey.publicKey.base64URL))
    }

    @Sendable func entries(request: Request, context: AppRequestContext) async throws -> Response {
        let (_, program) = try context.requireMember()
        let parameters = request.uri.queryParameters
        let start = try parameters.integer("start", in: 0...Int(Int64.max), default: 0)
        let limit = try parameters.integer("limit", in: 1...Self.maxEntries, default: Self.maxEntries)
        let records = try await store.keyLog(programID: program.id, from: start, limit: limit)
        return try jsonResponse(
            LogEntriesResponse(
                entries: records.map {
                    LogEntryInfo(
                        index: $0.index, event: $0.entry.event, handle: $0.entry.handle.rawValue,
                        publicKey: $0.entry.publicKey.base64URL)
                }))
    }

    @Sendable func consistency(request: Request, context: AppRequestContext) async throws -> Response {
        let (_, program) = try context.requireMember()
        let parameters = request.uri.queryParameters
        let from = try parameters.integer("from", in: 1...Int(Int64.max))
        let to = try parameters.integer("to", in: 1...Int(Int64.max))
        guard let proof = try await transparency.consistency(program, from: from, to: to) else {
            // Well-formed sizes the log cannot prove anything about: no such proof exists.
            throw Problem(.proofNotFound, detail: "need 1 <= from <= to <= the current tree size")
        }
        return try jsonResponse(
            ConsistencyProofResponse(from: UInt64(from), to: UInt64(to), proof: ProofHashes.encode(proof)))
    }
}

extension KeyTransparency {
    /// Members with the proof that the log holds each one's current key.
    func withKeyProofs(_ members: [MemberRecord], program: ProgramRecord) async throws -> [MemberInfo] {
        let (head, proofs) = try await inclusion(program, handles: members.map(\.handle))
        let treeHead = TreeHeadInfo(head)
        return members.map { member in
            var info = member.info
            if let proof = proofs[member.handle] {
                info.keyProof = KeyInclusion(
                    leafIndex: proof.index, event: proof.event, inclusionProof: ProofHashes.encode(proof.proof),
                    treeHead: treeHead)
            }
            return info
        }
    }
}
