/// A JSON value as Specs/backup.md section 2.1 reads a backup file and its payload: what ECMAScript's `JSON.parse`
/// gives after a strict UTF-8 decode (the last of duplicate member names counts, every number is a binary64
/// value, an escaped lone surrogate is allowed), plus a leading byte order mark ignored and a depth limit of 512.
/// Foundation's readers differ (the first duplicate counts, `1e400` is refused), so the backup code reads with
/// this one only.
public enum BackupJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([BackupJSON])
    case object([String: BackupJSON])

    /// Deeper nesting is refused (the outermost value is level 1), so that a hostile text cannot exhaust the stack.
    public static let maximumDepth = 512

    /// Reads UTF-8 bytes: nil when they are not UTF-8 or not one JSON value by section 2.1's rules.
    public static func parse(_ bytes: [UInt8]) -> BackupJSON? {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        // Strict UTF-8: no invalid or overlong sequence, no encoded surrogate (Swift's validation refuses them).
        guard String(validating: bytes[start...], as: UTF8.self) != nil else { return nil }
        var reader = Reader(bytes: bytes, index: start)
        guard let value = reader.value(depth: 1) else { return nil }
        reader.skipWhitespace()
        return reader.index == bytes.count ? value : nil
    }

    /// The number's value when it is an integer (finite, no fractional part): `1.0`, `1e0` and `2^64` are.
    public var integer: Double? {
        guard case .number(let value) = self, value.isFinite, value.rounded(.towardZero) == value else { return nil }
        return value
    }

    /// The value written as JSON that Foundation's `JSONDecoder` reads to the same thing: no duplicate names, an
    /// integer as decimal digits, an infinity as `1e400` (which it reads only where a member is ignored).
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value):
            if let exact = Int64(exactly: value) { return String(exact) }
            return value.isFinite ? "\(value)" : (value < 0 ? "-1e400" : "1e400")
        case .string(let value): return Self.quoted(value)
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { Self.quoted($0.key) + ":" + $0.value.text }.joined(separator: ",") + "}"
        }
    }

    /// An integer for messages: its decimal digits, however large.
    public static func describe(_ integer: Double) -> String {
        if let exact = Int64(exactly: integer) { return String(exact) }
        var digits = ""
        var rest = abs(integer)
        while rest >= 1 {
            let quotient = (rest / 10).rounded(.towardZero)
            digits = String(Int(rest - quotient * 10)) + digits
            rest = quotient
        }
        return (integer < 0 ? "-" : "") + digits
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{0}"..."\u{1F}": out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A recursive-descent reader of RFC 8259's grammar over bytes already known to be UTF-8.
    struct Reader {
        let bytes: [UInt8]
        var index: Int

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) -> BackupJSON? {
            skipWhitespace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"): return depth > BackupJSON.maximumDepth ? nil : object(depth: depth)
            case UInt8(ascii: "["): return depth > BackupJSON.maximumDepth ? nil : array(depth: depth)
            case UInt8(ascii: "\""): return string().map(BackupJSON.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        mutating func literal(_ word: String, _ value: BackupJSON) -> BackupJSON? {
            guard bytes[index...].starts(with: word.utf8) else { return nil }
            index += word.utf8.count
            return value
        }

        mutating func consume(_ byte: Character) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte.asciiValue! else { return false }
            index += 1
            return true
        }

        mutating func object(depth: Int) -> BackupJSON? {
            index += 1
            var members: [String: BackupJSON] = [:]
            if consume("}") { return .object(members) }
            repeat {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let name = string(), consume(":"),
                    let item = value(depth: depth + 1)
                else { return nil }
                members[name] = item  // the last of duplicate names counts (section 2.1, rule 5)
            } while consume(",")
            return consume("}") ? .object(members) : nil
        }

        mutating func array(depth: Int) -> BackupJSON? {
            index += 1
            var items: [BackupJSON] = []
            if consume("]") { return .array(items) }
            repeat {
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
            } while consume(",")
            return consume("]") ? .array(items) : nil
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, read as the nearest binary64 (an infinity when
        /// too large, as `strtod` and ECMAScript read it).
        mutating func number() -> BackupJSON? {
            let start = index
            func digits() -> Int {
                let first = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                return index - first
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let leadingZero = index < bytes.count && bytes[index] == UInt8(ascii: "0")
            let integerDigits = digits()
            guard integerDigits > 0, !(leadingZero && integerDigits > 1) else { return nil }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard digits() > 0 else { return nil }
            }
            return Double(String(decoding: bytes[start..<index], as: UTF8.self)).map(BackupJSON.number)
        }

        /// A string's value, escapes resolved; an escaped lone surrogate becomes U+FFFD (it can then only differ
        /// from what a string must be, section 2.1 rule 4).
        mutating func string() -> String? {
            index += 1
            var out: [UInt8] = []
            var pendingHigh: UInt32?
            func flushHigh() {
                if pendingHigh != nil { out += Array("\u{FFFD}".utf8) }
                pendingHigh = nil
            }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") {
                    flushHigh()
                    return String(decoding: out, as: UTF8.self)
                }
                guard byte >= 0x20 else { return nil }
                guard byte == UInt8(ascii: "\\") else {
                    flushHigh()
                    out.append(byte)
                    continue
                }
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                let simple: [UInt8: UInt8] = [
                    UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F,
                    UInt8(ascii: "b"): 0x08,
                    UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
                ]
                if let plain = simple[escape] {
                    flushHigh()
                    out.append(plain)
                    continue
                }
                guard escape == UInt8(ascii: "u"), index + 4 <= bytes.count,
                    let unit = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                    bytes[index..<index + 4].allSatisfy({ UInt8(ascii: "+") != $0 && UInt8(ascii: "-") != $0 })
                else { return nil }
                index += 4
                switch unit {
                case 0xD800...0xDBFF:
                    flushHigh()
                    pendingHigh = unit
                case 0xDC00...0xDFFF:
                    if let high = pendingHigh {
                        out += Array(String(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00))!).utf8)
                        pendingHigh = nil
                    } else {
                        out += Array("\u{FFFD}".utf8)
                    }
                default:
                    flushHigh()
                    out += Array(String(Unicode.Scalar(unit)!).utf8)
                }
            }
            return nil
        }
    }
}
