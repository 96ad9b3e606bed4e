internal import CPrefetch

/// Settled fills (both sides agreed), kept to recognise a redelivery or a
/// conflicting one however late it comes. They are the one part of a projection
/// that grows with history, so they are keyed by a 128-bit digest of the
/// `fill_id` (two FNV-1a passes with different seeds) instead of the string:
/// fixed-size entries make a checkpoint with hundreds of thousands of them
/// quick to write and read. Two ids colliding on 128 bits is not a practical
/// concern (the content comparisons already rest on 64-bit digests).
///
/// Two parts: `base`, the fills a checkpoint held, sorted by key and searched by
/// bisection, and `recent`, the fills settled since (all of them for a set folded
/// from the start), in the order they settled, found through `slots`. Restoring a
/// checkpoint's 300,000 fills into a hash table cost an insertion each, scattered
/// over 17 MB (most of an as-of read); the groups' deltas are each sorted, so the
/// base is one merge of them, written in order, and the few thousand lookups of
/// the events folded after it bisect.
public struct SettledFills: Sendable, Equatable {
    struct Key: Comparable {
        var high: UInt64
        var low: UInt64

        init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }

        /// Both halves in one pass over the id (two FNV-1a chains from two seeds).
        ///
        /// Not `IDHash`, though it hashes faster: ids that differ only in their
        /// last byte (fills settled close in time, `f-22510` … `f-22519`) differ by
        /// less than 2⁴⁸ after FNV-1a's last multiply, so they lie together in key
        /// order and in one checkpoint delta, and merging the deltas (every as-of
        /// read) mostly takes from one run at a time. With `IDHash`'s evenly spread
        /// keys that merge took five times as long, and an as-of read half again
        /// as long (median 14.4 ms against 7.5–9.7 ms).
        init(_ fillId: String) {
            (high, low) = FNV1a64.hashPair(fillId, seeds: (FNV1a64.offsetBasis, 0x6C62_272E_07BB_0142))
        }

        static func < (a: Key, b: Key) -> Bool { (a.high, a.low) < (b.high, b.low) }
    }

    struct Entry {
        var key: Key
        var digest: FillDigest
    }

    /// Entries in the order they were added, in chunks of a fixed size that never
    /// move. An array grown by doubling copied every entry at each doubling and
    /// touched its new memory twice (the copy, then the appends): with the slots,
    /// page faults were 9 % of folding 10M events, 3 % with chunks.
    struct Recent {
        /// 16,384 entries (768 KB) a chunk.
        static let chunkShift = 14
        static let chunkMask = (1 << chunkShift) - 1

        private(set) var chunks: [[Entry]] = []
        private(set) var count = 0

        subscript(position: Int) -> Entry {
            chunks[position >> Self.chunkShift][position & Self.chunkMask]
        }

        mutating func append(_ entry: Entry) {
            if count & Self.chunkMask == 0 {
                var chunk: [Entry] = []
                chunk.reserveCapacity(Self.chunkMask + 1)
                chunks.append(chunk)
            }
            chunks[chunks.count - 1].append(entry)
            count += 1
        }

        /// The keys from `start` on, in the order they were added.
        func keys(from start: Int) -> [Key] {
            var keys: [Key] = []
            keys.reserveCapacity(max(0, count - start))
            var chunk = start >> Self.chunkShift
            var offset = start & Self.chunkMask
            while chunk < chunks.count {
                keys += chunks[chunk][offset...].lazy.map(\.key)
                chunk += 1
                offset = 0
            }
            return keys
        }
    }

    /// Sorted by key, no key twice, none of them in `recent`.
    private var base: [Entry] = []
    /// The fills settled since the base, in the order they settled. A fill settles
    /// once and stays settled, so the entries added since a count `n` are the last
    /// ones: what a checkpoint group stores, found without comparing whole sets.
    private var recent = Recent()
    /// Where each of `recent`'s keys lies: an open-addressing table probed
    /// linearly, each slot 0 (empty) or `tag << 32 | (position + 1)`, the tag being
    /// the top 32 bits of the key's `high` half. At most half full.
    ///
    /// Not a dictionary of keys to digests: a full replay settles a fill every
    /// few events, and the dictionary's table of 56-byte entries was rebuilt at
    /// each doubling by scattering every entry again. The entries lie in order
    /// and never move; only the 8-byte slots are scattered, and a lookup reads
    /// an entry only when 32 bits of its key match. The key is already a
    /// hash of the id, so it is used as it is, mixed with `seed`, not SipHashed.
    private var slots: [UInt64] = []
    /// Mixed into where a key's probe starts, so ids chosen to crowd one run of
    /// slots cannot be chosen ahead of time: taken from the standard library's
    /// per-process hashing seed, as its dictionaries are (it moves slots only,
    /// never an answer). A crafted id colliding with another on all 64 bits of
    /// `low` costs a probe, never a wrong answer: keys compare on 128 bits.
    private var seed: UInt64 = 0
    /// Which keys `recent` may hold, by their `high` half (the slots start from
    /// their `low` one), four bits per slot. A fill the bot reports, and the
    /// venue's record of it, are each looked up before it settles, and nearly
    /// always absent: finding that in the slots (8 MB at 1M events) cost a cache
    /// miss, a twelfth of a full fold. The filter is an eighth of their size; a
    /// false "may" is about one in twenty.
    private var filter = MembershipFilter()

    public init() {}

    public var count: Int { base.count + recent.count }

    public subscript(fillId: String) -> FillDigest? {
        self[Key(fillId)]
    }

    subscript(key: Key) -> FillDigest? {
        if filter.mayHold(key.high), case .found(let position) = probe(key) { return recent[position].digest }
        return baseDigest(key)
    }

    /// Starts loading the slot where `key`'s probe starts, without waiting for
    /// it: a fill the bot reports (told absent by the filter) settles soon
    /// after, when the venue's record of it comes, and that insertion's probe
    /// then finds its slot in cache. Waiting for it there cost what the filter
    /// saved the lookups.
    func prefetchSlot(of key: Key) {
        guard !slots.isEmpty else { return }
        slots.withUnsafeBufferPointer { slots in
            recon_prefetch(slots.baseAddress! + Self.home(key, seed: seed, mask: slots.count - 1))
        }
    }

    private enum Probe {
        case found(Int)
        /// Absent; the empty slot where it would go (0 while there are no
        /// slots: inserting grows them first, then probes again).
        case absent(slot: Int)
    }

    /// Looks `key` up among `recent`.
    private func probe(_ key: Key) -> Probe {
        slots.withUnsafeBufferPointer { slots in
            guard !slots.isEmpty else { return .absent(slot: 0) }
            let mask = slots.count - 1
            let tag = key.high >> 32
            var slot = Self.home(key, seed: seed, mask: mask)
            while true {
                let value = slots[slot]
                if value == 0 { return .absent(slot: slot) }
                if value >> 32 == tag {
                    let position = Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
                    if recent[position].key == key { return .found(position) }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The slot a key's probe starts at: the high bits of its `low` half, mixed
    /// with the seed, multiplied by a large odd constant, so every bit counts.
    @inline(__always)
    private static func home(_ key: Key, seed: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: ((key.low ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    private static func slotValue(_ key: Key, position: Int) -> UInt64 {
        (key.high >> 32) << 32 | UInt64(position + 1)
    }

    /// Twice the slots (at least 16), every entry placed again: its keys are
    /// read in order, only the slots written are scattered.
    private mutating func growSlots() {
        if slots.isEmpty { seed = IDHash.processSeed() }
        let size = max(16, slots.count * 2)
        let mask = size - 1
        let seed = seed
        slots = [UInt64](repeating: 0, count: size)
        var filter = MembershipFilter(words: size / 16)
        let chunks = recent.chunks
        slots.withUnsafeMutableBufferPointer { slots in
            var position = 0
            for chunk in chunks {
                for entry in chunk {
                    var slot = Self.home(entry.key, seed: seed, mask: mask)
                    while slots[slot] != 0 { slot = (slot + 1) & mask }
                    slots[slot] = Self.slotValue(entry.key, position: position)
                    filter.insert(entry.key.high)
                    position += 1
                }
            }
        }
        self.filter = filter
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
        guard case .absent(var slot) = probe(key), baseDigest(key) == nil else { return }
        precondition(recent.count < Int(UInt32.max), "more settled fills than a slot can number")
        if (recent.count + 1) * 2 > slots.count {
            growSlots()
            guard case .absent(let moved) = probe(key) else { preconditionFailure("a key absent before growing") }
            slot = moved
        }
        slots[slot] = Self.slotValue(key, position: recent.count)
        filter.insert(key.high)
        recent.append(Entry(key: key, digest: digest))
    }

    /// Every key: the base's, then the recent ones in settling order.
    private var allKeys: [Key] {
        base.map(\.key) + recent.keys(from: 0)
    }

    /// Every key, sorted.
    var sortedKeys: [Key] {
        allKeys.sorted()
    }

    /// The keys added after the first `previousCount` fills of the set. The base
    /// came whole from a checkpoint, in no recorded order: asked for fewer than
    /// it holds (no caller does: a checkpoint writer starts from the group it
    /// loaded), the answer is all of it, which a merge takes as it would the exact
    /// keys (a key merged twice keeps its first digest).
    func keysAdded(since previousCount: Int) -> [Key] {
        guard previousCount >= base.count else { return allKeys }
        return recent.keys(from: min(previousCount - base.count, recent.count))
    }

    /// Equal when they hold the same fills; how they are held is bookkeeping.
    public static func == (a: SettledFills, b: SettledFills) -> Bool {
        guard a.count == b.count else { return false }
        for e in a.base where b[e.key] != e.digest { return false }
        for e in a.recent.chunks.joined() where b[e.key] != e.digest { return false }
        return true
    }

    /// Builds the set a checkpoint group held from the deltas of every group up to
    /// it: each delta's entries are sorted by key, so the base is one k-way merge
    /// of them.
    ///
    /// The deltas are merged where they lie (a restore's read transaction keeps
    /// them valid until `finish` returns), not decoded into entries first: their
    /// entries are of fixed width, so each range's start in a delta is found by
    /// bisection and each entry is read as the merge takes it. Decoding them all
    /// first took as long as the merge (2.1 ms of CPU an as-of read, 300,000 fills).
    public struct Merger {
        /// Each delta's stored entries, in group order.
        private var runs: [UnsafeRawBufferPointer] = []
        private var count = 0

        public init() {}

        /// Adds one delta (its bytes must stay valid until `finish` returns);
        /// returns the size the whole set had when the delta was written.
        public mutating func add(delta bytes: UnsafeRawBufferPointer) throws(CodecError) -> Int {
            let (total, entries) = try SettledFills.readDelta(bytes)
            if !entries.isEmpty {
                runs.append(entries)
                count += entries.count / SettledFills.storedEntrySize
            }
            return total
        }

        /// The merged set. A key in two deltas (damage or a rewrite) keeps the
        /// digest of the earlier group, as folding would have. A delta whose keys
        /// do not increase is damage, and throws.
        ///
        /// The keys are split into `parts` ranges of equal width (they are hashes,
        /// so the ranges hold about as many fills each); each range is merged into
        /// its own slice of the base, so `perform` (given the count and the work
        /// for one part) may run them at once, on other cores, and beside other
        /// work. The default runs them in turn. The answer does not depend on how
        /// they run.
        public consuming func finish(parts: Int = 1,
                                     perform: (_ parts: Int, _ work: (Int) -> Void) -> Void = { n, work in for i in 0..<n { work(i) } })
            throws(CodecError) -> SettledFills {
            let parts = max(1, parts)
            let runs = runs
            var set = SettledFills()
            // For each run, where each part's keys start in it (and its end). Each
            // part's merge checks that neighbours in its range increase; across an
            // edge they always do, damaged or not: bisection leaves a key below the
            // part's lowest before the edge and one not below it after. (And the
            // edges come in order: a key below one part's lowest is below the next's.)
            let starts = runs.map { run in
                let n = run.count / SettledFills.storedEntrySize
                return (0...parts).map { part in
                    guard part < parts else { return n }
                    let lowest = Self.lowestHigh(ofPart: part, of: parts)
                    return (0..<n).firstIndexNotBelow { SettledFills.storedKey(run, $0).high < lowest }
                }
            }
            // Where each part's slice of the base starts, were no key repeated.
            var offsets = [0]
            for part in 0..<parts { offsets.append(offsets[part] + starts.reduce(0) { $0 + $1[part + 1] - $1[part] }) }
            // How many entries each part wrote; -1: its keys did not increase.
            let written = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
            defer { written.deallocate() }
            set.base = Array(unsafeUninitializedCapacity: count) { base, count in
                perform(parts) { part in
                    let slice = UnsafeMutableBufferPointer(rebasing: base[offsets[part]..<offsets[part + 1]])
                    let ranges = zip(runs, starts).compactMap { run, edges in
                        edges[part] < edges[part + 1] ? (run, edges[part]..<edges[part + 1]) : nil
                    }
                    written[part] = Self.merge(ranges, into: slice) ?? -1
                }
                // A repeated key leaves its part's slice short: close the gaps.
                // (After disorder, nothing is kept: entries are plain values, so
                // those written need no releasing.)
                count = 0
                guard (0..<parts).allSatisfy({ written[$0] >= 0 }) else { return }
                for part in 0..<parts {
                    if count != offsets[part], let start = base.baseAddress {
                        (start + count).moveInitialize(from: start + offsets[part], count: written[part])
                    }
                    count += written[part]
                }
            }
            guard (0..<parts).allSatisfy({ written[$0] >= 0 }) else { throw .malformed("settled fills out of order") }
            return set
        }

        /// The smallest `high` half of a key in `part` of `parts` equal ranges.
        private static func lowestHigh(ofPart part: Int, of parts: Int) -> UInt64 {
            UInt64(part) * (UInt64.max / UInt64(parts))
        }

        /// Where one range stands in the merge: its run, its next entry, its end,
        /// and the next entry's key (ordering two ranges reads two of these
        /// rather than an entry in its run).
        private struct Cursor {
            let run: UnsafeRawBufferPointer
            var next: Int
            let end: Int
            var head: Key
        }

        /// Merges the `ranges` of stored runs into `base`; returns how many entries
        /// it wrote, nil if a range's keys do not increase. Unsafe buffers because
        /// this loop is half of an as-of read's restore, and arrays check bounds
        /// (and their uniqueness) at every step.
        ///
        /// The range on top of the heap gives every entry below the smallest
        /// other head in one go, without the heap: the keys of fills settled close
        /// in time lie together (see ``Key/init(_:)``), so each visit takes
        /// several, and the heap is sifted once per visit, not once per entry.
        private static func merge(_ ranges: [(run: UnsafeRawBufferPointer, range: Range<Int>)],
                                  into base: UnsafeMutableBufferPointer<Entry>) -> Int? {
            let cursors = UnsafeMutableBufferPointer<Cursor>.allocate(capacity: ranges.count)
            defer { cursors.deallocate() }
            for (i, (run, range)) in ranges.enumerated() {
                cursors.initializeElement(at: i, to: Cursor(run: run, next: range.lowerBound, end: range.upperBound,
                                                            head: SettledFills.storedKey(run, range.lowerBound)))
            }
            // A binary min-heap of range indices, ordered by each range's head,
            // then by range (the earlier group first: a repeated key keeps its
            // first digest).
            let heap = UnsafeMutableBufferPointer<Int>.allocate(capacity: ranges.count)
            defer { heap.deallocate() }
            _ = heap.initialize(from: ranges.indices)
            var size = heap.count
            func before(_ a: Int, _ b: Int) -> Bool {
                cursors[a].head < cursors[b].head || (cursors[a].head == cursors[b].head && a < b)
            }
            func siftDown(_ start: Int) {
                var i = start
                let range = heap[i]
                while true {
                    let left = 2 * i + 1
                    if left >= size { break }
                    let right = left + 1
                    let child = right < size && before(heap[right], heap[left]) ? right : left
                    if !before(heap[child], range) { break }
                    heap[i] = heap[child]
                    i = child
                }
                heap[i] = range
            }
            for i in stride(from: size / 2 - 1, through: 0, by: -1) { siftDown(i) }
            var written = 0
            while size > 0 {
                let r = heap[0]
                var cursor = cursors[r]
                // The head itself, unless an earlier range gave its key.
                if written == 0 || base[written - 1].key != cursor.head {
                    base.initializeElement(at: written, to: SettledFills.storedEntry(cursor.run, cursor.next))
                    written += 1
                }
                // Then every entry below the other ranges' smallest head (a child of
                // the root; none when this range is the last), which no other range
                // can repeat.
                var limit: Key?
                if size > 1 { limit = cursors[heap[1]].head }
                if size > 2, let left = limit { limit = min(left, cursors[heap[2]].head) }
                var previous = cursor.head
                cursor.next += 1
                while cursor.next < cursor.end {
                    let key = SettledFills.storedKey(cursor.run, cursor.next)
                    // Damage: nothing merged is kept, so stop here.
                    guard previous < key else { return nil }
                    if let limit, !(key < limit) {
                        cursor.head = key
                        break
                    }
                    base.initializeElement(at: written, to: SettledFills.storedEntry(cursor.run, cursor.next))
                    written += 1
                    previous = key
                    cursor.next += 1
                }
                cursors[r] = cursor
                if cursor.next == cursor.end {
                    size -= 1
                    heap[0] = heap[size]
                }
                if size > 0 { siftDown(0) }
            }
            return written
        }
    }
}
