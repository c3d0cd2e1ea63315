/// The seeded generator `scenario --seed` draws its random marks from: SplitMix64, the same algorithm and
/// constants as ReciprocityCore's `SplitMix64`, which is `package` (for the main package's tests, never for
/// integrators) and so out of this package's reach. Same seed, same marks as before the bench moved here.
/// Not for secrets.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
