/// The orders no longer open (filled, canceled, rejected) that a projection still
/// remembers, to judge late fills: every order among the last `generationSize`
/// closings, and up to as many before them.
///
/// Two generations rather than an exact window: closings go into the recent one;
/// when it is full it becomes the older one and the older is dropped whole. An
/// exact window dropped its oldest order at every closing, a hash-table deletion
/// that moves the deleted slot's neighbours back, and kept a second list of ids in
/// closing order: about a sixth of a full fold and half of each checkpoint's closed
/// orders. Here a closing is one insertion, and the entries themselves are the
/// closing order.
///
/// Entries are only ever appended: a change to a remembered order (a late fill)
/// is a changed copy appended to the recent generation, which shadows the entry
/// before and is asked first. So an older generation never changes, and the
/// recent one only grows until it rotates. Checkpoints store each older
/// generation once and the recent one as the entries each group added
/// (`CheckpointStore`), not whole in every group; a projection read from one
/// carries them as `olderStoredApart` and `recentStoredApart` until the store
/// attaches them.
public struct ClosedOrders: Sendable, Equatable {
    /// Orders per generation (a changed order counts where its latest copy is): a
    /// fill for an order closed fewer closings ago than this is always judged
    /// against the order.
    public static let generationSize = 20_000

    public struct Entry: Sendable, Equatable {
        public var orderId: String
        public var order: ClosedOrder
    }

    /// One generation: entries in closing order, where each id is, and which ids
    /// it may hold.
    struct Generation: Sendable {
        var entries: [Entry] = []
        /// Where each id's latest entry lies: an open-addressing table probed
        /// linearly, each slot 0 (empty) or `tag << 32 | (position + 1)`, the tag
        /// being the top half of the id's hash under `seed`. At most 5/8 full: a
        /// recent generation's 20,000 ids in 32,768 slots (256 KB), where at half
        /// full they took 512 KB and a closing's insertion missed the cache more.
        ///
        /// Not a dictionary of ids to positions: inserting into one hashed and
        /// stored the id again and was most of rebuilding a recent generation
        /// read from a checkpoint (a sixth of an as-of read's restore). Here an
        /// id is kept once, in its entry, and read only when 32 bits of hash
        /// match.
        private(set) var table: [UInt64] = []
        /// Ids held (an id changed since it closed counts once).
        private(set) var orders = 0
        /// The seed of an id's one hash, which both the table and the filter take
        /// (`IDHash.processSeed()`: ids chosen to crowd one run of slots cannot
        /// be chosen ahead of time). The same in every generation of a process,
        /// so one hash serves a lookup in both.
        let seed = IDHash.processSeed()
        /// Nearly every order submitted asks for its id, which neither generation
        /// holds; finding that in their tables (20,000 ids each) cost a cache miss
        /// per table, a twelfth of a full fold. The filter (32 KB, made at the
        /// first closing) answers from one word.
        var filter = MembershipFilter()

        static var filterWords: Int { 1 << 12 }

        init() {}

        init(_ entries: [Entry]) {
            self.entries = entries
            reserve(entries.capacity)
        }

        /// Room in the table for `count` ids without growing (the entries held
        /// placed again).
        mutating func reserve(_ count: Int) {
            guard count > 0 else { return }
            var size = 64
            while !Self.holds(count, slots: size) { size *= 2 }
            if size > table.count { remakeTable(size: size) }
        }

        mutating func append(_ orderId: String, _ order: ClosedOrder) {
            place(orderId, hash: hash(orderId), at: entries.count)
            entries.append(Entry(orderId: orderId, order: order))
        }

        /// The order closed as `orderId`, `hash` being `hash(orderId)`.
        func order(_ orderId: String, hash: UInt64) -> ClosedOrder? {
            guard filter.mayHold(hash), case .found(_, let position) = probe(orderId, hash: hash) else { return nil }
            return entries[position].order
        }

        /// An id's hash, for the table and the filter.
        @inline(__always) func hash(_ orderId: String) -> UInt64 {
            IDHash.hash(orderId, seed: seed)
        }

        private enum Probe {
            case found(slot: Int, position: Int)
            case absent(slot: Int)
        }

        /// Points `orderId`'s slot at `position`: its own slot when it has one (a
        /// changed copy shadows the entry before), else an empty one; and adds
        /// it to the filter.
        private mutating func place(_ orderId: String, hash: UInt64, at position: Int) {
            precondition(position < Int(UInt32.max), "more closed-order entries than a slot can number")
            if !Self.holds(orders + 1, slots: table.count) { remakeTable(size: max(64, 2 * table.count)) }
            let slot: Int
            switch probe(orderId, hash: hash) {
            case .found(let own, _):
                slot = own
            case .absent(let empty):
                slot = empty
                orders += 1
            }
            table[slot] = hash & 0xFFFF_FFFF_0000_0000 | UInt64(position + 1)
            if filter.isEmpty { filter = MembershipFilter(words: Self.filterWords) }
            filter.insert(hash)
        }

        private func probe(_ orderId: String, hash: UInt64) -> Probe {
            table.withUnsafeBufferPointer { table in
                guard !table.isEmpty else { return .absent(slot: 0) }
                let mask = table.count - 1
                let tag = hash >> 32
                var slot = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let value = table[slot]
                    if value == 0 { return .absent(slot: slot) }
                    if value >> 32 == tag {
                        let position = Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
                        if IDKey(entries[position].orderId) == IDKey(orderId) { return .found(slot: slot, position: position) }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }

        /// Whether `slots` slots hold `ids` ids at the table's most load (5/8).
        @inline(__always) private static func holds(_ ids: Int, slots: Int) -> Bool {
            8 * ids <= 5 * slots
        }

        /// A table of `size` slots with every id placed again, at its latest
        /// entry (the entries are read in order, a later one taking the slot).
        private mutating func remakeTable(size: Int) {
            table = [UInt64](repeating: 0, count: size)
            orders = 0
            for position in entries.indices {
                let orderId = entries[position].orderId
                place(orderId, hash: hash(orderId), at: position)
            }
        }
    }

    /// The older generation when it rotated here (empty when it is `olderStored`).
    private var older = Generation()
    /// The older generation when it was attached from a checkpoint: searched in its
    /// stored bytes (`StoredGeneration`). Two fields rather than an enum, so that a
    /// lookup (every order submitted asks) reads the table in place, not a copy.
    private var olderStored: StoredGeneration?
    private var recent = Generation()
    /// How many times the recent generation became the older one: names the older
    /// generation (0: there is none).
    public private(set) var rotations = 0
    /// Decoded from a checkpoint that keeps the older generation apart, and not
    /// attached yet: the older orders are missing.
    public private(set) var olderStoredApart = false
    /// Decoded from a checkpoint that keeps the recent generation apart, and not
    /// attached yet: how many entries it has (nil: it is here).
    public private(set) var recentStoredApart: Int?

    public init() {}

    /// Room for a recent generation read back from a checkpoint: what its first
    /// append would have grown it to (twice its size, up to a whole generation),
    /// made at once. Growing it on the first closing copied every entry and
    /// rehashed every id: 4 % of the fold of an as-of read.
    public static func recentCapacity(holding count: Int) -> Int {
        max(count, min(generationSize, 2 * count))
    }

    /// From the entries of each generation in closing order, as `generations`
    /// lists them; `older` nil when it is stored apart (see `attachOlder`),
    /// `recent` nil when its `recentCount` entries are (see `attachRecent`).
    public init(older: [Entry]?, recent: [Entry]?, recentCount: Int = 0, rotations: Int) {
        self.older = Generation(older ?? [])
        self.recent = Generation(recent ?? [])
        self.rotations = rotations
        olderStoredApart = older == nil && rotations > 0
        recentStoredApart = recent == nil ? recentCount : nil
    }

    /// Supplies the older generation of a projection decoded without it (the
    /// codec's `attachOlder(encoded:)` checks that it is the right one first).
    mutating func attachOlder(_ stored: StoredGeneration) {
        precondition(olderStoredApart, "the older generation is already here")
        olderStored = stored
        olderStoredApart = false
    }

    /// Supplies the recent generation of a projection decoded without it (the
    /// codec's `attachRecent(encoded:)` checks that the entries are all of it).
    mutating func attachRecent(_ entries: [Entry]) {
        precondition(recentStoredApart == entries.count, "the recent generation is already here")
        recent = Generation(entries)
        recentStoredApart = nil
    }

    /// Entries held (a changed order counts once more per change).
    public var count: Int { olderCount + recent.entries.count }

    private var olderCount: Int { olderStored?.count ?? older.entries.count }

    /// The recent generation's entries, in closing order.
    public var recentEntries: [Entry] { recent.entries }

    /// The two generations' entries, older first, each in closing order (an older
    /// generation attached from a checkpoint is decoded for it).
    public var generations: (older: [Entry], recent: [Entry]) { (olderStored?.entries() ?? older.entries, recent.entries) }

    public subscript(orderId: String) -> ClosedOrder? {
        // Both generations hash under the process's seed: one hash for both.
        let hash = recent.hash(orderId)
        if let order = recent.order(orderId, hash: hash) { return order }
        if olderStored != nil { return olderStored?.order(orderId) }
        return older.order(orderId, hash: hash)
    }

    /// The older generation as a checkpoint stores it apart (see `StoredGeneration`).
    public func encodedOlder() -> [UInt8] {
        olderStored?.bytes ?? StoredGeneration.encode(older.entries, number: rotations)
    }

    /// Changes a remembered order by appending a changed copy to the recent
    /// generation, which shadows the entry before. False if it is not remembered.
    ///
    /// Not in place even when the order is in the recent generation: entries that
    /// never change once written are what lets a checkpoint group store only those
    /// added since the group before. Changes are rare (late fills, an order
    /// arriving after its cancel), so the copies cost little.
    @discardableResult
    public mutating func update(_ orderId: String, _ change: (inout ClosedOrder) -> Void) -> Bool {
        guard var order = self[orderId] else { return false }
        change(&order)
        recent.append(orderId, order)
        return true
    }

    /// Remembers the closing of an order it does not hold: the reducer closes an
    /// order once (from open, or unknown), and changes a remembered one with
    /// `update`. So a closing costs one insertion, not a lookup first. (Were an id
    /// inserted twice, the later entry would shadow the earlier: `recent` is asked
    /// first.)
    public mutating func insert(_ orderId: String, _ order: ClosedOrder) {
        // Orders, not entries: a changed order's copies do not hasten the rotation.
        if recent.orders >= Self.generationSize {
            older = recent
            olderStored = nil
            rotations += 1
            recent = Generation()
            recent.reserve(Self.generationSize)
            recent.entries.reserveCapacity(Self.generationSize)
        }
        recent.append(orderId, order)
    }

    public static func == (a: ClosedOrders, b: ClosedOrders) -> Bool {
        a.rotations == b.rotations && a.olderStoredApart == b.olderStoredApart && a.recentStoredApart == b.recentStoredApart
            && a.generations.older == b.generations.older && a.recent.entries == b.recent.entries
    }
}
