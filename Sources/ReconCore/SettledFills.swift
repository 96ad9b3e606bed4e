/// Settled fills (both sides agreed), kept to recognise a redelivery or a
/// conflicting one however late it comes. They are the one part of a projection
/// that grows with history, so they are keyed by a 128-bit digest of the
/// `fill_id` (two FNV-1a passes with different seeds) instead of the string:
/// fixed-size entries make a checkpoint with hundreds of thousands of them
/// quick to write and read. Two ids colliding on 128 bits is not a practical
/// concern (the content comparisons already rest on 64-bit digests).
///
/// Two parts: `base`, the fills a checkpoint held, sorted by key and searched by
/// bisection, and `entries`, the fills settled since (all of them for a set folded
/// from the start), hashed. Restoring a checkpoint's 300,000 fills into a hash
/// table cost an insertion each, scattered over 17 MB (most of an as-of read);
/// the groups' deltas are each sorted, so the base is one merge of them, written
/// in order, and the few thousand lookups of the events folded after it bisect.
public struct SettledFills: Sendable, Equatable {
    struct Key: Hashable, Comparable {
        var high: UInt64
        var low: UInt64

        init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }

        /// Both halves in one pass over the id (two FNV-1a chains from two seeds).
        init(_ fillId: String) {
            (high, low) = FNV1a64.hashPair(fillId, seeds: (FNV1a64.offsetBasis, 0x6C62_272E_07BB_0142))
        }

        static func < (a: Key, b: Key) -> Bool { (a.high, a.low) < (b.high, b.low) }

        func hash(into hasher: inout Hasher) {
            hasher.combine(low)
        }

        /// The key is already a hash of the id, so the table uses it as it is,
        /// mixed with the table's seed, instead of running SipHash on it: setting
        /// up SipHash was a third of restoring 300,000 settled fills for an as-of
        /// read. (A crafted id that collides with another on 64 bits of FNV-1a
        /// costs a probe, never a wrong answer: keys compare on all 128 bits.)
        func _rawHashValue(seed: Int) -> Int {
            Int(truncatingIfNeeded: (low ^ UInt64(truncatingIfNeeded: seed)) &* 0x9E37_79B9_7F4A_7C15)
        }
    }

    struct Entry {
        var key: Key
        var digest: FillDigest
    }

    /// Sorted by key, no key twice, none of them in `entries`.
    private var base: [Entry] = []
    private(set) var entries: [Key: FillDigest] = [:]
    /// The keys of `entries` in the order they were added. A fill settles once and
    /// stays settled, so the keys added since a count `n` are the last ones: what
    /// a checkpoint group stores, found without comparing whole sets.
    private var added: [Key] = []

    public init() {}

    public var count: Int { base.count + entries.count }

    public subscript(fillId: String) -> FillDigest? {
        self[Key(fillId)]
    }

    subscript(key: Key) -> FillDigest? {
        if let digest = entries.valueIfAny(forKey: key) { return digest }
        return baseDigest(key)
    }

    private func baseDigest(_ key: Key) -> FillDigest? {
        let low = base.indices.firstIndexNotBelow { base[$0].key < key }
        return low < base.count && base[low].key == key ? base[low].digest : nil
    }

    /// Records a settled fill; a fill already settled keeps its first digest.
    mutating func settle(_ fillId: String, _ digest: FillDigest) {
        insert(key: Key(fillId), digest: digest)
    }

    mutating func insert(key: Key, digest: FillDigest) {
        if baseDigest(key) != nil { return }
        // One lookup on the common path (a new key); a repeat puts the first back.
        if let first = entries.updateValue(digest, forKey: key) {
            entries[key] = first
            return
        }
        added.append(key)
    }

    /// Every key, sorted.
    var sortedKeys: [Key] {
        (base.map(\.key) + entries.keys).sorted()
    }

    /// The keys added after the first `previousCount` fills of the set. The base
    /// came whole from a checkpoint, in no recorded order: asked for fewer than
    /// it holds (no caller does: a checkpoint writer starts from the group it
    /// loaded), the answer is all of it, which a merge takes as it would the exact
    /// keys (a key merged twice keeps its first digest).
    func keysAdded(since previousCount: Int) -> ArraySlice<Key> {
        guard previousCount >= base.count else { return ArraySlice(base.map(\.key) + added) }
        return added[min(previousCount - base.count, added.count)...]
    }

    /// Equal when they hold the same fills; how they are held is bookkeeping.
    public static func == (a: SettledFills, b: SettledFills) -> Bool {
        guard a.count == b.count else { return false }
        for e in a.base where b[e.key] != e.digest { return false }
        for (key, digest) in a.entries where b[key] != digest { return false }
        return true
    }

    /// Builds the set a checkpoint group held from the deltas of every group up to
    /// it: each delta's keys are sorted, so the base is one k-way merge of them.
    public struct Merger {
        private var items: [Entry] = []
        private var runs: [Range<Int>] = []

        public init(reserving count: Int) {
            items.reserveCapacity(count)
        }

        /// Adds one delta (its keys strictly increasing, else it is damage);
        /// returns the size the whole set had when the delta was written.
        public mutating func add(delta bytes: UnsafeRawBufferPointer) throws(CodecError) -> Int {
            let start = items.count
            var previous: Key?
            let total = try SettledFills.readDelta(bytes) { (key, digest) throws(CodecError) in
                if let previous, !(previous < key) { throw .malformed("settled fills out of order") }
                previous = key
                items.append(Entry(key: key, digest: digest))
            }
            if items.count > start { runs.append(start..<items.count) }
            return total
        }

        /// The merged set. A key in two deltas (damage or a rewrite) keeps the
        /// digest of the earlier group, as folding would have.
        ///
        /// The keys are split into `parts` ranges of equal width (they are hashes,
        /// so the ranges hold about as many fills each); each range is merged into
        /// its own slice of the base, so `perform` (given the count and the work
        /// for one part) may run them at once, on other cores. The default runs
        /// them in turn. The answer does not depend on how they run.
        public consuming func finish(parts: Int = 1,
                                     perform: (_ parts: Int, _ work: (Int) -> Void) -> Void = { n, work in for i in 0..<n { work(i) } }) -> SettledFills {
            let parts = max(1, parts)
            var set = SettledFills()
            // For each run, where each part's keys start in it (and its end).
            let starts = runs.map { run in
                (0...parts).map { part in
                    guard part < parts else { return run.upperBound }
                    let lowest = Self.lowestHigh(ofPart: part, of: parts)
                    return run.firstIndexNotBelow { items[$0].key.high < lowest }
                }
            }
            // Where each part's slice of the base starts, were no key repeated.
            var offsets = [0]
            for part in 0..<parts { offsets.append(offsets[part] + starts.reduce(0) { $0 + $1[part + 1] - $1[part] }) }
            let written = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
            defer { written.deallocate() }
            set.base = Array(unsafeUninitializedCapacity: items.count) { base, count in
                items.withUnsafeBufferPointer { items in
                    perform(parts) { part in
                        let slice = UnsafeMutableBufferPointer(rebasing: base[offsets[part]..<offsets[part + 1]])
                        let runs = starts.compactMap { $0[part] < $0[part + 1] ? $0[part]..<$0[part + 1] : nil }
                        written[part] = Self.merge(items, runs: runs, into: slice)
                    }
                }
                // A repeated key leaves its part's slice short: close the gaps.
                count = written[0]
                for part in 1..<parts {
                    if count != offsets[part], let start = base.baseAddress {
                        (start + count).moveInitialize(from: start + offsets[part], count: written[part])
                    }
                    count += written[part]
                }
            }
            return set
        }

        /// The smallest `high` half of a key in `part` of `parts` equal ranges.
        private static func lowestHigh(ofPart part: Int, of parts: Int) -> UInt64 {
            UInt64(part) * (UInt64.max / UInt64(parts))
        }

        /// Merges the sorted `runs` of `items` into `base`; returns how many
        /// entries it wrote. Unsafe buffers because this loop was a third of an
        /// as-of read, and arrays check bounds (and the base's uniqueness) at every step.
        private static func merge(_ items: UnsafeBufferPointer<Entry>, runs: [Range<Int>],
                                  into base: UnsafeMutableBufferPointer<Entry>) -> Int {
            var written = 0
            var next = runs.map(\.lowerBound)
            // Each run's next key, beside the heap: ordering two runs reads two of
            // these rather than an entry through its index.
            var heads = runs.map { items[$0.lowerBound].key }
            // A binary min-heap of run indices, ordered by each run's next key, then
            // by run (the earlier group first).
            var heap = Array(runs.indices)
            heads.withUnsafeMutableBufferPointer { heads in
                heap.withUnsafeMutableBufferPointer { heap in
                    var size = heap.count
                    func before(_ a: Int, _ b: Int) -> Bool {
                        heads[a] < heads[b] || (heads[a] == heads[b] && a < b)
                    }
                    func siftDown(_ start: Int) {
                        var i = start
                        let run = heap[i]
                        while true {
                            let left = 2 * i + 1
                            if left >= size { break }
                            let right = left + 1
                            let child = right < size && before(heap[right], heap[left]) ? right : left
                            if !before(heap[child], run) { break }
                            heap[i] = heap[child]
                            i = child
                        }
                        heap[i] = run
                    }
                    for i in stride(from: size / 2 - 1, through: 0, by: -1) { siftDown(i) }
                    while size > 0 {
                        let run = heap[0]
                        let item = items[next[run]]
                        if written == 0 || base[written - 1].key != item.key {
                            base.initializeElement(at: written, to: item)
                            written += 1
                        }
                        next[run] += 1
                        if next[run] == runs[run].upperBound {
                            size -= 1
                            heap[0] = heap[size]
                        } else {
                            heads[run] = items[next[run]].key
                        }
                        if size > 0 { siftDown(0) }
                    }
                }
            }
            return written
        }
    }
}
