public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Finds a JSON object that names one member twice (RFC 8259 section 4: the names "SHOULD be unique", and what a
/// parser does with a repeat is up to it). Foundation's decoder keeps one of the two silently, so a body could
/// say one thing to the server and another to a proxy, a log reader or a second parser; the server refuses it,
/// and so does a client reading a message's payload (Specs/messages.md section 9; the page's `repeatsName` in
/// conversation-payload.js).
///
/// One pass over the bytes, after the body decoded: it tracks only the objects it is inside and their names,
/// skips every value's text, and copies a name only to compare it. Names compare as Swift strings, as the
/// decoder's dictionary does, so an escaped (`"\u0061"`) or canonically equivalent spelling counts as the same
/// name. Malformed JSON never gets here (the decoder refused it first); the scan still stays in bounds on any
/// input.
public enum DuplicateNames {
    /// Whether some object in `json` names a member twice.
    public static func present(in json: Data) -> Bool {
        json.withUnsafeBytes { present(in: $0.bindMemory(to: UInt8.self)) }
    }

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    /// Names an object may have before its names go into a set (below that, comparing with each is cheaper).
    private static let linearNames = 16

    private static func present(in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // The names of the open objects, innermost last; where each open level's names start (nil for an
        // array); whether the innermost object's next string is a name; the sets of large objects, by depth.
        var names: [String] = []
        var levels: [Int?] = []
        var expectingName = false
        var large: [Int: Set<String>] = [:]
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"):
                levels.append(names.count)
                expectingName = true
            case UInt8(ascii: "["):
                levels.append(nil)
                expectingName = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if let first = levels.popLast(), let first {
                    names.removeSubrange(first...)
                    large[levels.count] = nil
                }
                expectingName = false
            case UInt8(ascii: ","):
                expectingName = levels.last.map { $0 != nil } ?? false
            case quote:
                let start = index + 1
                guard let end = closingQuote(bytes, from: start) else { return false }
                index = end
                guard expectingName, let first = levels.last.flatMap({ $0 }) else { break }
                expectingName = false
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
                let escaped = raw.baseAddress.map { memchr($0, Int32(backslash), raw.count) != nil } ?? false
                guard let name = escaped ? unescaped(raw) : String(decoding: raw, as: UTF8.self) else { return false }
                let depth = levels.count - 1
                if large[depth] != nil {
                    guard large[depth]!.insert(name).inserted else { return true }
                } else {
                    guard !names[first...].contains(name) else { return true }
                    names.append(name)
                    if names.count - first > linearNames { large[depth] = Set(names[first...]) }
                }
            default: break
            }
            index += 1
        }
        return false
    }

    /// The index of the quote that ends the string starting at `start`: the first one not escaped (preceded by
    /// an even number of backslashes). `memchr` jumps over a value's text, most of a body's bytes.
    private static func closingQuote(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var from = start
        while from < bytes.count, let found = memchr(base + from, Int32(quote), bytes.count - from) {
            let end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while end - backslashes - 1 >= start, bytes[end - backslashes - 1] == backslash { backslashes += 1 }
            if backslashes % 2 == 0 { return end }
            from = end + 1
        }
        return nil
    }

    /// A name with escapes, as the decoder reads it (the rare case: no client sends one).
    private static func unescaped(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
        try? JSONDecoder().decode(String.self, from: Data([quote]) + Data(raw) + Data([quote]))
    }
}
