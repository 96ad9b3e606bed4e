/// Which keys a table may hold, in front of the table: two bits set per key in
/// one 64-bit word, all three chosen by the key's 64-bit hash. A lookup of a key
/// the table lacks (most of them, for the tables it guards) reads one word that
/// stays in cache where the table's slot would be a cache miss; a false "may"
/// costs only the lookup it would have saved. Derived data: never stored, not
/// part of any value's equality.
struct MembershipFilter: Sendable {
    private var words: [UInt64] = []

    /// Holds nothing and says so for every key.
    init() {}

    /// `words` (a power of two) words, empty.
    init(words: Int) {
        precondition(words > 0 && words & (words - 1) == 0, "a power of two")
        self.words = [UInt64](repeating: 0, count: words)
    }

    var isEmpty: Bool { words.isEmpty }

    @inline(__always)
    private static func place(_ hash: UInt64, words: Int) -> (word: Int, bits: UInt64) {
        (Int(truncatingIfNeeded: hash) & (words - 1), 1 << ((hash >> 40) & 63) | 1 << ((hash >> 46) & 63))
    }

    mutating func insert(_ hash: UInt64) {
        let (word, bits) = Self.place(hash, words: words.count)
        words[word] |= bits
    }

    @inline(__always)
    func mayHold(_ hash: UInt64) -> Bool {
        guard !words.isEmpty else { return false }
        let (word, bits) = Self.place(hash, words: words.count)
        return words[word] & bits == bits
    }
}
