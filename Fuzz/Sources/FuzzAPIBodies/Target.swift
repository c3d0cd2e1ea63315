import Foundation
import ReciprocityAPI
import ReciprocityCore

/// Request bodies as the server reads them: decode, then validate every field the way the handlers do.
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
    _ = try? decoder.decode(CreateProgramRequest.self, from: data)
    _ = try? decoder.decode(CreateInviteRequest.self, from: data)
}
