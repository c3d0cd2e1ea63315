import Foundation
import ReciprocityAPI
import ReciprocityCore

/// Request bodies as the server reads them, and key-log answers as the client reads them: decode, then
/// validate every field the way the handlers and the client's checks do.
func fuzzOne(_ bytes: [UInt8]) {
    let data = Data(bytes)
    let decoder = APICoding.decoder()
    if let join = try? decoder.decode(JoinRequest.self, from: data) {
        _ = try? Handle(join.handle)
        _ = try? PublicKey(base64URL: join.publicKey)
        _ = try? join.profile.validated()
        _ = BearerSecret.digest(of: join.invite)
    }
    if let batch = try? decoder.decode(SubmitMarksRequest.self, from: data) {
        for item in batch.marks {
            if let mark = try? item.mark() {
                precondition(mark.token.base64URL == item.token && mark.note?.base64URL == item.note)
            }
        }
    }
    if let profile = try? decoder.decode(Profile.self, from: data), let valid = try? profile.validated() {
        precondition((1...Profile.maxDisplayName).contains(valid.displayName.count))
    }
    if let member = try? decoder.decode(MemberInfo.self, from: data), let proof = member.keyProof,
        let head = try? proof.treeHead.signedTreeHead()
    {
        // A head the client parsed prints back as a line that parses to the same head.
        precondition((try? SignedTreeHead(text: head.text)) == head)
        if let key = try? PublicKey(base64URL: member.publicKey), let handle = try? Handle(member.handle) {
            let leaf = KeyLogEntry(program: head.program, event: proof.event, handle: handle, publicKey: key).leafHash
            let hashes = proof.inclusionProof.compactMap { try? Base64URL.decode($0, byteCount: 32, what: "hash") }
            _ = MerkleTree.verifyInclusion(
                index: proof.leafIndex, treeSize: Int(clamping: head.size), leafHash: leaf, proof: hashes,
                root: head.root)
        }
    }
    if let rotation = try? decoder.decode(KeyRotationRequest.self, from: data),
        let key = try? PublicKey(base64URL: rotation.publicKey)
    {
        precondition(key.base64URL == rotation.publicKey)
    }
    _ = try? decoder.decode(CreateProgramRequest.self, from: data)
    _ = try? decoder.decode(CreateInviteRequest.self, from: data)
}
