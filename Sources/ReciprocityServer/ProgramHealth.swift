public import Foundation
public import ReciprocityAPI
public import ReciprocityCore
public import ReciprocityStore

/// The organizer's health figures of one program: the one rule that computes them, from public facts only
/// (each member's status, join time and profile, and the number of matches per epoch). It takes no pending
/// mark, so no figure can depend on one; the differential tests (`ProgramHealthTests`) hold the server to it.
public enum ProgramHealth {
    /// A profile is complete when it has a display name, a headline, at least one tag, and says the member
    /// offers or seeks mentoring (or both): enough for another member to find them and know why to mark them.
    /// A name or headline of spaces alone is not one.
    public static func isComplete(_ profile: Profile) -> Bool {
        [profile.displayName, profile.headline].allSatisfy { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            && !profile.tags.isEmpty
            && (profile.offersMentoring || profile.seeksMentoring)
    }

    /// The figures. Joins count every member stored (any status: a join is a fact about its day); the profile,
    /// mentoring and tag figures count active members only (those in the directory, who can be matched). A tag
    /// appears when at least one active member seeking or offering mentoring lists it.
    public static func figures(program: String, members: [MemberRecord], matchesByEpoch: [UInt32: Int])
        -> ProgramHealthResponse
    {
        let active = members.filter { $0.status == .active }
        var joins: [String: Int] = [:]
        for member in members { joins[day(member.joinedAt), default: 0] += 1 }
        var seeking: [String: Int] = [:]
        var offering: [String: Int] = [:]
        for member in active {
            for tag in Set(member.profile.tags) {
                if member.profile.seeksMentoring { seeking[tag, default: 0] += 1 }
                if member.profile.offersMentoring { offering[tag, default: 0] += 1 }
            }
        }
        let tags = Set(seeking.keys).union(offering.keys).map {
            ProgramHealthResponse.TagSupply(tag: $0, seeking: seeking[$0] ?? 0, offering: offering[$0] ?? 0)
        }
        return ProgramHealthResponse(
            program: program, activeMembers: active.count, suspendedMembers: members.count - active.count,
            joinsByDay: joins.sorted { $0.key < $1.key }.map { .init(day: $0.key, joins: $0.value) },
            profilesComplete: active.filter { isComplete($0.profile) }.count,
            offeringMentoring: active.filter(\.profile.offersMentoring).count,
            seekingMentor: active.filter(\.profile.seeksMentoring).count,
            matchesByEpoch: matchesByEpoch.sorted { $0.key < $1.key }.map { .init(epoch: $0.key, matches: $0.value) },
            tags: tags.sorted {
                ($1.seeking - $1.offering, $0.tag) < ($0.seeking - $0.offering, $1.tag)
            })
    }

    /// The UTC day of `date`, `YYYY-MM-DD`.
    static func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The figures as one RFC 4180 table in long form, `figure,key,value` with a header row and CRLF line ends:
    /// `members` (key `active`, `suspended`), `joins` (key the UTC day), `profiles` (`complete`),
    /// `mentoring` (`offering`, `seeking`), `matches` (key the epoch), `tag-seeking` and `tag-offering` (key the
    /// tag), in the JSON answer's order.
    public static func csv(_ health: ProgramHealthResponse) -> String {
        var rows: [(String, String, Int)] = [
            ("members", "active", health.activeMembers), ("members", "suspended", health.suspendedMembers),
        ]
        rows += health.joinsByDay.map { ("joins", $0.day, $0.joins) }
        rows += [
            ("profiles", "complete", health.profilesComplete), ("mentoring", "offering", health.offeringMentoring),
            ("mentoring", "seeking", health.seekingMentor),
        ]
        rows += health.matchesByEpoch.map { ("matches", String($0.epoch), $0.matches) }
        rows += health.tags.flatMap { [("tag-seeking", $0.tag, $0.seeking), ("tag-offering", $0.tag, $0.offering)] }
        return (["figure,key,value"] + rows.map { "\(csvField($0.0)),\(csvField($0.1)),\($0.2)" })
            .map { $0 + "\r\n" }.joined()
    }

    /// One CSV field, quoted (inner quotes doubled) when it holds a comma, quote or line break (RFC 4180 §2).
    public static func csvField(_ text: String) -> String {
        // By scalar: "\r\n" is one Character, equal to neither "\r" nor "\n".
        guard text.unicodeScalars.contains(where: { ",\"\r\n".unicodeScalars.contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
