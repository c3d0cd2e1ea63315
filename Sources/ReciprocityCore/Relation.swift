/// The kind of interest a mark expresses.
public enum Relation: String, Sendable, Hashable, Codable, CaseIterable {
    /// Directional: one party mentors the other. Role 1 is the mentor, role 2 the mentee.
    case mentorship
    /// Symmetric: role 1 is the party whose public key sorts first by bytes.
    case peer

    /// The roles a member may take in this relation.
    public var roles: [Role] {
        switch self {
        case .mentorship: [.mentor, .mentee]
        case .peer: [.peer]
        }
    }
}

/// The part the submitting member plays in a relation.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    case mentor
    case mentee
    case peer

    /// The role of the other party in the same relation.
    public var counterpart: Role {
        switch self {
        case .mentor: .mentee
        case .mentee: .mentor
        case .peer: .peer
        }
    }
}

/// A position in the fixed role order of the key schedule (section "Role order" of Specs/protocol.md).
public enum RolePosition: Int, Sendable, Hashable, Codable, CaseIterable {
    case first = 1
    case second = 2

    /// The label bound into a confirmation tag's `info`.
    func label(in relation: Relation) -> String {
        switch (relation, self) {
        case (.mentorship, .first): "mentor"
        case (.mentorship, .second): "mentee"
        case (.peer, .first): "peer1"
        case (.peer, .second): "peer2"
        }
    }

    public var other: RolePosition { self == .first ? .second : .first }
}
