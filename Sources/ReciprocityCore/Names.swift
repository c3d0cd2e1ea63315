/// The rule shared by program names and handles: ASCII `[a-z0-9][a-z0-9._-]{2,63}`, 3 to 64 bytes. Nothing is
/// normalised: a name that breaks the rule is rejected, so two members can never derive from two spellings.
enum NameRule {
    static let lengths = 3...64

    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard lengths.contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            let alnum =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            let punct = byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            if !(alnum || (index > 0 && punct)) { return false }
        }
        return true
    }

    static let explanation = "3 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
}

/// A name checked against ``NameRule`` on creation and on decoding; encodes as a plain JSON string.
public protocol ValidatedName: Sendable, Hashable, Codable, CustomStringConvertible {
    var rawValue: String { get }
    init(_ rawValue: String) throws
}

extension ValidatedName {
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}

/// The name of a program: one community (a company, a user group) whose members can mark each other.
public struct ProgramID: ValidatedName {
    public let rawValue: String

    public init(_ rawValue: String) throws {
        guard NameRule.isValid(rawValue) else {
            throw ReciprocityError(.invalidProgram, "program name must be \(NameRule.explanation)")
        }
        self.rawValue = rawValue
    }
}

/// A member's handle within a program.
public struct Handle: ValidatedName, Comparable {
    public let rawValue: String

    public init(_ rawValue: String) throws {
        guard NameRule.isValid(rawValue) else {
            throw ReciprocityError(.invalidHandle, "handle must be \(NameRule.explanation)")
        }
        self.rawValue = rawValue
    }

    public static func < (lhs: Handle, rhs: Handle) -> Bool { lhs.rawValue < rhs.rawValue }

    /// What the handle looks like, for telling look-alikes apart (Unicode TS 39's skeleton idea, on the ASCII
    /// set handles allow): separators `.` `_` `-` dropped, then `0` read as `o`, `1` as `l`, `rn` as `m` and
    /// `vv` as `w`. A program refuses a handle whose skeleton another member's handle already has, so
    /// `jane.doe`, `jane-doe` and `janedoe` cannot coexist.
    public var skeleton: String {
        rawValue.filter { !".-_".contains($0) }
            .replacingOccurrences(of: "0", with: "o").replacingOccurrences(of: "1", with: "l")
            .replacingOccurrences(of: "rn", with: "m").replacingOccurrences(of: "vv", with: "w")
    }
}
