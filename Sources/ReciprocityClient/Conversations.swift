public import Foundation
public import ReciprocityAPI
public import ReciprocityCore

/// One conversation as `reciprocity conversations` lists it.
public struct ConversationSummary: Sendable, Encodable, Equatable {
    /// The counterpart's handle, as the verified match names them.
    public var handle: String
    public var epoch: UInt32
    /// What this member wanted them as when marking them (`--as`): with `epoch`, which match this is.
    public var wants: Role?
    /// Messages the server holds now (none once ended).
    public var messages: Int
    /// Messages of the counterpart this device has not read yet.
    public var unread: Int64
    public var ended: Bool
}

/// Which conversation with a person a command means, when the member matched them more than once (in two epochs,
/// or in two relations): a field left nil does not narrow the choice.
public struct ConversationChoice: Sendable, Equatable {
    public var epoch: UInt32?
    /// What the member wanted them as (`mentor`, `mentee` or `peer`), as `ConversationSummary.wants` says.
    public var wants: Role?

    public init(epoch: UInt32? = nil, wants: Role? = nil) {
        self.epoch = epoch
        self.wants = wants
    }
}

/// The conversations of verified matches (Specs/messages.md). The ratchet state of each lives in the state file,
/// written (atomically, mode 0600) before an envelope it sealed goes out and after every read, so a crash or a
/// failed request never makes this device seal two messages with one key; the request that may have reached the
/// server is never taken back.
extension Membership {
    /// The server's conversations that belong to matches this device verified (the others are not shown, as
    /// `matches` does not show an unverified match).
    mutating func verifiedConversations() async throws -> [ConversationInfo] {
        _ = try await matches()
        return try await api.conversations().filter { info in
            state.marks.contains {
                $0.token == info.token && $0.handle == info.handle && $0.matchedAt != nil && $0.epoch == info.epoch
            }
        }
    }

    public mutating func conversationList() async throws -> [ConversationSummary] {
        try await verifiedConversations().map { info in
            let local = state.conversations?.first { $0.token == info.token }
            let read = local?.readSeq ?? 0
            let own = local?.messages.filter { $0.fromMe && $0.seq > read }.count ?? 0
            return ConversationSummary(
                handle: info.handle, epoch: info.epoch, wants: wants(info), messages: info.messages,
                unread: max(0, info.lastSeq - read - Int64(own)), ended: info.ended || local?.ended == true)
        }
    }

    /// What the member wanted the counterpart of a verified conversation as: its mark's `wants`.
    func wants(_ info: ConversationInfo) -> Role? {
        state.marks.first { $0.token == info.token }?.wants
    }

    /// The index in `state.conversations` of the one conversation with `handle` that `choice` allows, a new local
    /// record if this device has none yet. With two matches with one person (two epochs, or two relations) and
    /// no choice between them, refused: never a guess at which one the member meant.
    mutating func conversationIndex(_ handle: String, _ choice: ConversationChoice = .init()) async throws -> Int {
        let all = try await verifiedConversations().filter { $0.handle == handle }
        let found = all.filter { info in
            (choice.epoch == nil || choice.epoch == info.epoch) && (choice.wants == nil || choice.wants == wants(info))
        }
        guard let info = found.first else {
            let sentence =
                all.isEmpty
                ? "you have no verified match with \(handle) (run 'reciprocity matches' to see them)"
                : "none of your matches with \(handle) fits \(Self.describe(choice)) (see 'reciprocity conversations')"
            throw ClientError(.noConversation, sentence)
        }
        guard found.count == 1 else {
            let options = found.map { Self.describe(ConversationChoice(epoch: $0.epoch, wants: wants($0))) }
            throw ClientError(
                .ambiguousConversation,
                "you have \(found.count) matches with \(handle): choose one with \(options.joined(separator: " or "))")
        }
        var local = state.conversations ?? []
        if let index = local.firstIndex(where: { $0.token == info.token }) { return index }
        local.append(
            LocalConversation(
                token: info.token, epoch: info.epoch, handle: handle, state: nil, readSeq: 0, messages: [],
                ended: info.ended))
        state.conversations = local
        return local.count - 1
    }

    /// A choice as the CLI's options spell it, e.g. `--as mentor --epoch 3`.
    static func describe(_ choice: ConversationChoice) -> String {
        [choice.wants.map { "--as \($0.rawValue)" }, choice.epoch.map { "--epoch \($0)" }].compactMap { $0 }
            .joined(separator: " ")
    }

    /// The ratchet of a local conversation: the stored one, else a new start (section 5).
    func ratchet(_ local: LocalConversation) throws -> Conversation {
        if let stored = local.state {
            guard let data = Base64URLText.decode(stored) else {
                throw ClientError(.corruptState, "the stored state of the conversation with \(local.handle) is damaged")
            }
            return try Conversation(encoded: data)
        }
        guard !local.ended else {
            throw ClientError(.http(409), "the conversation with \(local.handle) was ended")
        }
        guard let pinned = state.pinnedKeys[local.handle] else {
            throw ClientError(.noPinnedKey, "no pinned key for \(local.handle)")
        }
        return try Conversation(
            program: try ProgramID(state.program), epoch: local.epoch, token: try InterestToken(base64URL: local.token),
            me: key, handle: try Handle(state.handle),
            peer: Party(handle: try Handle(local.handle), publicKey: try PublicKey(base64URL: pinned)))
    }

    /// Reads every new message of the conversation with `handle`, opens the counterpart's, and returns the
    /// whole conversation as this device holds it.
    public mutating func read(_ handle: String, _ choice: ConversationChoice = .init()) async throws
        -> LocalConversation
    {
        let index = try await conversationIndex(handle, choice)
        try await fetchNew(index)
        return state.conversations![index]
    }

    mutating func fetchNew(_ index: Int) async throws {
        var local = state.conversations![index]
        var ratchet: Conversation? = local.state == nil && local.ended ? nil : try self.ratchet(local)
        for _ in 0..<1000 {
            let page = try await api.messages(token: local.token, after: local.readSeq)
            for message in page.messages where message.seq > local.readSeq {
                defer { local.readSeq = message.seq }
                if message.fromMe {
                    if !local.messages.contains(where: { $0.seq == message.seq }) {
                        local.messages.append(
                            LocalMessage(
                                seq: message.seq, fromMe: true, sentAt: message.sentAt, payload: nil,
                                problem: "sent from another device: it cannot be shown here"))
                    }
                    continue
                }
                var read = LocalMessage(seq: message.seq, fromMe: false, sentAt: message.sentAt)
                do {
                    guard var opening = ratchet, let envelope = Base64URLText.decode(message.envelope) else {
                        throw ReciprocityError(.messageMalformed, "not an envelope")
                    }
                    read.payload = try opening.open([UInt8](envelope))
                    ratchet = opening
                } catch let error as ReciprocityError {
                    read.problem = Self.refusal(error.code)
                }
                local.messages.append(read)
            }
            local.ended = local.ended || page.ended
            local.state = local.ended ? nil : try ratchet.map { Base64URLText.encode([UInt8](try $0.encoded())) }
            state.conversations![index] = local
            try folder.save(state)
            if !page.more || page.messages.isEmpty { break }
        }
    }

    /// What the reader is told of an envelope that does not open (Specs/messages.md section 5 asks for the first).
    static func refusal(_ code: ReciprocityError.Code) -> String {
        switch code {
        case .messageAuthenticationFailed:
            "sent to your earlier device, or altered on the way: it cannot be shown here"
        case .messageReplayed: "a message this device read already, sent again: not shown twice"
        default: "a message that cannot be read here (\(code.rawValue))"
        }
    }

    /// Seals `payload` and posts it. The advanced state is saved before the request goes out and kept whatever
    /// the answer (the envelope may have reached the server); a payload refused before that changes nothing.
    public mutating func send(
        _ payload: MessagePayload, to handle: String, _ choice: ConversationChoice = .init()
    ) async throws -> LocalMessage {
        let text = try payload.encoded()
        let index = try await conversationIndex(handle, choice)
        var local = state.conversations![index]
        guard !local.ended else {
            throw ClientError(.init(.conversationEnded), "the conversation with \(handle) was ended")
        }
        var ratchet = try self.ratchet(local)
        let envelope = try ratchet.seal(text)
        local.state = Base64URLText.encode([UInt8](try ratchet.encoded()))
        state.conversations![index] = local
        try folder.save(state)
        let posted: PostMessageResponse
        do {
            posted = try await api.postMessage(token: local.token, envelope: envelope)
        } catch let error as ClientError where error.code == .init(.conversationEnded) {
            state.conversations![index].ended = true
            state.conversations![index].state = nil
            try folder.save(state)
            throw error
        }
        let sent = LocalMessage(seq: posted.seq, fromMe: true, sentAt: posted.sentAt, payload: text)
        state.conversations![index].messages.append(sent)
        try folder.save(state)
        return sent
    }

    /// Ends the conversation with `handle` for both members; its keys are dropped here.
    public mutating func endConversation(_ handle: String, _ choice: ConversationChoice = .init()) async throws {
        let index = try await conversationIndex(handle, choice)
        try await api.endConversation(token: state.conversations![index].token)
        state.conversations![index].ended = true
        state.conversations![index].state = nil
        try folder.save(state)
    }

    public mutating func setContact(_ details: ContactDetails?) throws {
        if let details { try MessagePayload.contact(details).check() }
        state.contact = details
        try folder.save(state)
    }
}

extension LocalConversation {
    /// The meetings of this conversation, in order, with whether the member who did not propose it accepted it.
    public var meetings: [(meeting: MessagePayload, fromMe: Bool, accepted: Bool)] {
        let payloads = messages.compactMap { message in
            message.payload.flatMap { try? MessagePayload.decode($0) }.map { ($0, message.fromMe) }
        }
        return payloads.filter { $0.0.type == "meeting" }.map { meeting, fromMe in
            let accepted = payloads.contains {
                $0.0.type == "meeting-reply" && $0.0.id == meeting.id && $0.0.answer == "accept" && $0.1 != fromMe
            }
            return (meeting, fromMe, accepted)
        }
    }
}

extension Base64URLText {
    static func decode(_ text: String) -> Data? {
        guard text.utf8.allSatisfy(isAlphabet) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard)
    }
}
