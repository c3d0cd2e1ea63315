/// `GET /v1/admin/programs/{program}/health`: the organizer's figures for one program. Every figure comes from
/// public profile data, joins and matches; none from a pending mark (the server's `ProgramHealth.figures` is the
/// one rule that computes them).
public struct ProgramHealthResponse: Codable, Sendable, Equatable {
    public var program: String
    /// Members who are active (in the directory, may mark).
    public var activeMembers: Int
    /// Members an operator suspended.
    public var suspendedMembers: Int
    /// Joins per UTC day (`YYYY-MM-DD`), oldest first; days without a join are left out. Every member still
    /// stored counts, whatever their status now.
    public var joinsByDay: [DayCount]
    /// Active members whose profile is complete: a display name, a headline, at least one tag, and offering
    /// or seeking mentoring (or both).
    public var profilesComplete: Int
    /// Active members open to mentoring.
    public var offeringMentoring: Int
    /// Active members looking for a mentor.
    public var seekingMentor: Int
    /// Matches per epoch (round), oldest epoch first; epochs without a stored match are left out.
    public var matchesByEpoch: [EpochCount]
    /// For each tag an active member lists: how many active members seeking a mentor list it and how many open
    /// to mentoring do. Ordered by shortfall (seeking minus offering), largest first, then by tag.
    public var tags: [TagSupply]

    public init(
        program: String, activeMembers: Int, suspendedMembers: Int, joinsByDay: [DayCount], profilesComplete: Int,
        offeringMentoring: Int, seekingMentor: Int, matchesByEpoch: [EpochCount], tags: [TagSupply]
    ) {
        self.program = program
        self.activeMembers = activeMembers
        self.suspendedMembers = suspendedMembers
        self.joinsByDay = joinsByDay
        self.profilesComplete = profilesComplete
        self.offeringMentoring = offeringMentoring
        self.seekingMentor = seekingMentor
        self.matchesByEpoch = matchesByEpoch
        self.tags = tags
    }

    public struct DayCount: Codable, Sendable, Equatable {
        public var day: String
        public var joins: Int
        public init(day: String, joins: Int) {
            self.day = day
            self.joins = joins
        }
    }

    public struct EpochCount: Codable, Sendable, Equatable {
        public var epoch: UInt32
        public var matches: Int
        public init(epoch: UInt32, matches: Int) {
            self.epoch = epoch
            self.matches = matches
        }
    }

    public struct TagSupply: Codable, Sendable, Equatable {
        public var tag: String
        /// Active members seeking a mentor who list the tag (demand).
        public var seeking: Int
        /// Active members open to mentoring who list the tag (supply).
        public var offering: Int
        public init(tag: String, seeking: Int, offering: Int) {
            self.tag = tag
            self.seeking = seeking
            self.offering = offering
        }
    }
}
