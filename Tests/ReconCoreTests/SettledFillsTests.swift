import Testing
@testable import ReconCore

/// Settled fills read back from checkpoint deltas (a merged, sorted base) behave
/// as the set folded from the start (a hash table): same lookups, same bytes.
@Suite struct SettledFillsTests {
    static func digest(_ i: Int, _ variant: UInt64 = 0) -> FillDigest {
        FillDigest(contentHash: UInt64(i) &* 31 &+ variant, contentHashWithoutFee: UInt64(i) &* 7, seq: UInt64(i + 1), tsMs: Int64(i),
                   synthetic: i % 5 == 0)
    }

    /// A key is the FNV-1a hashes of the id from two seeds, whatever computes
    /// them: checkpoints store keys, so the values must not change. (Known value:
    /// FNV-1a-64 of "a" is 0xAF63DC4C8601EC8C.)
    @Test func keysAreTheTwoSeededHashesOfTheId() {
        #expect(SettledFills.Key("a").high == 0xAF63_DC4C_8601_EC8C)
        for id in ["", "a", "acct1-f-22515", "fill-é-€-\u{1F600}", String(repeating: "x", count: 300)] {
            let key = SettledFills.Key(id)
            #expect(key.high == FNV1a64.hash(Array(id.utf8)))
            #expect(key.low == FNV1a64.hash(Array(id.utf8), seed: 0x6C62_272E_07BB_0142))
        }
    }

    /// A digest keeps `synthetic` in its seq's top bit: 32 bytes, 48 with its key,
    /// each part read and changed on its own.
    @Test func aDigestPacksItsFlagIntoTheSeq() {
        #expect(MemoryLayout<FillDigest>.size == 32)
        #expect(MemoryLayout<SettledFills.Entry>.stride == SettledFills.storedEntrySize)
        var d = FillDigest(contentHash: 1, contentHashWithoutFee: 2, seq: (1 << 63) - 1, tsMs: -5, synthetic: true)
        #expect(d.seq == (1 << 63) - 1 && d.synthetic && d.tsMs == -5)
        d.synthetic = false
        #expect(d.seq == (1 << 63) - 1 && !d.synthetic)
        d.seq = 7
        d.synthetic = true
        #expect(d.seq == 7 && d.synthetic)
        d.seq = 8
        #expect(d.seq == 8 && d.synthetic)
        #expect(d == FillDigest(contentHash: 1, contentHashWithoutFee: 2, seq: 8, tsMs: -5, synthetic: true))
        #expect(d != FillDigest(contentHash: 1, contentHashWithoutFee: 2, seq: 8, tsMs: -5, synthetic: false))
    }

    /// Settles fills `f0`… in random order and cuts a delta every so often, as a
    /// checkpoint writer does; returns the straight set and the deltas.
    static func settledWithDeltas(count: Int, seed: UInt64) -> (SettledFills, [[UInt8]]) {
        var rng = SeededRandom(seed: seed)
        var ids = Array(0..<count)
        for i in stride(from: ids.count - 1, to: 0, by: -1) { ids.swapAt(i, rng.below(i + 1)) }
        var straight = SettledFills()
        var deltas: [[UInt8]] = []
        var cut = 0
        for (n, i) in ids.enumerated() {
            straight.settle("f\(i)", digest(i))
            if n == ids.count - 1 || rng.below(40) == 0 {
                deltas.append(straight.encodedDelta(since: cut))
                cut = straight.count
            }
        }
        return (straight, deltas)
    }

    /// Runs `body` with each delta's bytes, valid throughout: a merger reads them
    /// where they lie until it finishes.
    static func withDeltas<R>(_ deltas: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        try deltas.flatMap { $0 }.withUnsafeBytes { all in
            var at = 0
            return try body(deltas.map { delta in
                defer { at += delta.count }
                return UnsafeRawBufferPointer(rebasing: all[at..<(at + delta.count)])
            })
        }
    }

    static func merged(_ deltas: [[UInt8]]) throws -> (SettledFills, [Int]) {
        try withDeltas(deltas) { deltas in
            var merger = SettledFills.Merger()
            let totals = try deltas.map { try merger.add(delta: $0) }
            return (try merger.finish(), totals)
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func mergedDeltasEqualTheFoldedSet(seed: UInt64) throws {
        let (straight, deltas) = Self.settledWithDeltas(count: 3_000, seed: seed)
        #expect(deltas.count > 20)
        let (merged, totals) = try Self.merged(deltas)
        #expect(totals.last == 3_000)
        #expect(merged.count == 3_000)
        #expect(merged == straight && straight == merged)
        for i in 0..<3_000 { #expect(merged["f\(i)"] == Self.digest(i)) }
        for i in 3_000..<3_100 { #expect(merged["f\(i)"] == nil) }
        var w = ByteWriter(capacity: 64)
        var v = ByteWriter(capacity: 64)
        merged.encode(merged.sortedKeys, into: &w)
        straight.encode(straight.sortedKeys, into: &v)
        #expect(w.bytes == v.bytes)
    }

    /// The merge cut into key ranges gives the set the single merge gives,
    /// however many ranges and in whatever order they run; keys repeated across
    /// deltas (damage or a rewrite) leave a range short, and the gaps close.
    @Test(arguments: [2, 3, 4, 7, 64])
    func aMergeInPartsEqualsTheWholeMerge(parts: Int) throws {
        var (straight, deltas) = Self.settledWithDeltas(count: 3_000, seed: 4)
        // Every 50th fill of the set again in a late delta, with another digest.
        var again = SettledFills()
        for i in stride(from: 0, to: 3_000, by: 50) { again.settle("f\(i)", Self.digest(i, 7)) }
        deltas.append(again.encodedDelta(since: 0))
        var ran: [Int] = []
        let (inParts, inOne) = try Self.withDeltas(deltas) { deltas in
            var whole = SettledFills.Merger(), cut = SettledFills.Merger()
            for d in deltas {
                _ = try whole.add(delta: d)
                _ = try cut.add(delta: d)
            }
            let inParts = try cut.finish(parts: parts) { n, work in
                for part in (0..<n).reversed() {
                    ran.append(part)
                    work(part)
                }
            }
            return (inParts, try whole.finish())
        }
        #expect(ran == Array((0..<parts).reversed()))
        #expect(inParts.count == 3_000 && inOne.count == 3_000)
        #expect(inParts == straight && inParts == inOne)
        #expect(inParts["f50"] == Self.digest(50), "a repeated key keeps the earlier delta's digest")
        straight.settle("f3000", Self.digest(3_000))
        #expect(inParts != straight)
        #expect(try SettledFills.Merger().finish(parts: parts).count == 0)
    }

    /// Fills settled after a merge: a key already in the base keeps its digest,
    /// new ones are what the next delta stores, and the whole stays equal to the
    /// set folded from the start.
    @Test func settlingOnTopOfAMergedBase() throws {
        let (straightBase, deltas) = Self.settledWithDeltas(count: 500, seed: 9)
        var (merged, _) = try Self.merged(deltas)
        var straight = straightBase
        for i in 450..<700 {
            merged.settle("f\(i)", Self.digest(i, 99))
            straight.settle("f\(i)", Self.digest(i, 99))
        }
        #expect(merged["f460"] == Self.digest(460), "the first digest stays")
        #expect(merged["f650"] == Self.digest(650, 99))
        #expect(merged == straight)
        let delta = merged.encodedDelta(since: 500)
        var fromDelta = SettledFills()
        #expect(try delta.withUnsafeBytes { try fromDelta.merge(delta: $0) } == 700)
        #expect(fromDelta.count == 200 && fromDelta["f650"] != nil && fromDelta["f460"] == nil)
        #expect(delta == straight.encodedDelta(since: 500))
    }

    /// Keys crowding one run of slots: all of them share their `low` half (so
    /// every probe starts at the same slot), and half share the 32 bits a slot
    /// keeps of the `high` half with another key. Each is found with its own
    /// digest, a repeat keeps the first, and an absent key from the run is absent.
    @Test func keysCrowdingOneRunOfSlots() {
        typealias Key = SettledFills.Key
        func key(_ i: Int) -> Key { Key(high: UInt64(i / 2) << 32 | UInt64(i % 2), low: 42) }
        var set = SettledFills()
        for i in 0..<600 { set.insert(key: key(i), digest: Self.digest(i)) }
        for i in 0..<600 { set.insert(key: key(i), digest: Self.digest(i, 7)) }
        #expect(set.count == 600)
        #expect((0..<600).allSatisfy { set[key($0)] == Self.digest($0) })
        #expect(set[key(600)] == nil && set[Key(high: 1 << 32 | 2, low: 42)] == nil && set[Key(high: 0, low: 43)] == nil)
        #expect(set.keysAdded(since: 590) == (590..<600).map(key))
    }

    /// More fills than a chunk of the recent entries holds: each found, the
    /// keys added since a count given in order across a chunk's edge, and the
    /// set equal to the same fills settled in the opposite order.
    @Test func settlingAcrossChunks() {
        let count = 2 * (SettledFills.Recent.chunkMask + 1) + 100
        var forward = SettledFills(), backward = SettledFills()
        for i in 0..<count { forward.settle("f\(i)", Self.digest(i)) }
        for i in (0..<count).reversed() { backward.settle("f\(i)", Self.digest(i)) }
        #expect(forward.count == count)
        #expect((0..<count).allSatisfy { forward["f\($0)"] == Self.digest($0) })
        #expect(forward["f\(count)"] == nil)
        let edge = SettledFills.Recent.chunkMask + 1
        #expect(forward.keysAdded(since: edge - 3) == (edge - 3..<count).map { SettledFills.Key("f\($0)") })
        #expect(forward.keysAdded(since: count).isEmpty)
        #expect(forward == backward)
        #expect(forward.sortedKeys == backward.sortedKeys)
    }

    /// A key in two deltas keeps the earlier delta's digest; a delta whose keys
    /// are not increasing is damage, wherever the disorder lies against the
    /// ranges a merge is cut into.
    @Test(arguments: [1, 2, 4]) func repeatsAndDisorder(parts: Int) throws {
        var first = SettledFills(), second = SettledFills()
        first.settle("a", Self.digest(1))
        first.settle("b", Self.digest(2))
        second.settle("b", Self.digest(2, 5))
        second.settle("c", Self.digest(3))
        let (merged, _) = try Self.merged([first.encodedDelta(since: 0), second.encodedDelta(since: 0)])
        #expect(merged.count == 3)
        #expect(merged["b"] == Self.digest(2))
        // Each pair of neighbours of a sorted delta swapped in turn, the first
        // and last too: every disorder is refused, whichever range it falls in.
        let (straight, deltas) = Self.settledWithDeltas(count: 400, seed: 6)
        let sorted = straight.encodedDelta(since: 0)
        let size = SettledFills.storedEntrySize
        let header = sorted.count - 400 * size
        #expect(try Self.merged([sorted]).0 == straight)
        for i in 0..<400 {
            let (a, b) = (i, (i + 1) % 400)
            var bytes = sorted
            bytes.replaceSubrange((header + a * size)..<(header + (a + 1) * size), with: sorted[(header + b * size)..<(header + (b + 1) * size)])
            bytes.replaceSubrange((header + b * size)..<(header + (b + 1) * size), with: sorted[(header + a * size)..<(header + (a + 1) * size)])
            #expect(throws: CodecError.self, "entries \(a) and \(b) swapped") {
                try Self.withDeltas(deltas + [bytes]) { deltas in
                    var merger = SettledFills.Merger()
                    for d in deltas { _ = try merger.add(delta: d) }
                    return try merger.finish(parts: parts)
                }
            }
        }
        // A delta cut short, or with bytes after its entries.
        #expect(throws: CodecError.self) { try Self.merged([Array(sorted.dropLast())]) }
        #expect(throws: CodecError.self) { try Self.merged([sorted + [0]]) }
    }
}
