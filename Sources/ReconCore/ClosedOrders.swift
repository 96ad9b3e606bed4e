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
/// A generation never changes once it is the older one: a change to one of its
/// orders (a late fill) is written to the recent generation, which is asked
/// first. So checkpoints store each older generation once, not in every group
/// (`CheckpointStore`), and a projection read from one carries it as
/// `olderStoredApart` until the store attaches it.
public struct ClosedOrders: Sendable, Equatable {
    /// Closings per generation: a fill for an order closed fewer closings ago than
    /// this is always judged against the order.
    public static let generationSize = 20_000

    public struct Entry: Sendable, Equatable {
        public var orderId: String
        public var order: ClosedOrder
    }

    /// One generation: entries in closing order, and where each id is.
    struct Generation: Sendable {
        var entries: [Entry] = []
        var slots: [IDKey: Int] = [:]

        init() {}

        init(_ entries: [Entry]) {
            self.entries = entries
            slots.reserveCapacity(entries.capacity)
            for (slot, entry) in entries.enumerated() { slots[entry.orderId] = slot }
        }

        mutating func append(_ orderId: String, _ order: ClosedOrder) {
            slots[orderId] = entries.count
            entries.append(Entry(orderId: orderId, order: order))
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

    public init() {}

    /// Room for a recent generation read back from a checkpoint: what its first
    /// append would have grown it to (twice its size, up to a whole generation),
    /// made at once. Growing it on the first closing copied every entry and
    /// rehashed every id: 4 % of the fold of an as-of read.
    public static func recentCapacity(holding count: Int) -> Int {
        max(count, min(generationSize, 2 * count))
    }

    /// From the entries of each generation in closing order, as `generations`
    /// lists them; `older` nil when it is stored apart (see `attachOlder`).
    public init(older: [Entry]?, recent: [Entry], rotations: Int) {
        self.older = Generation(older ?? [])
        self.recent = Generation(recent)
        self.rotations = rotations
        olderStoredApart = older == nil && rotations > 0
    }

    /// Supplies the older generation of a projection decoded without it (the
    /// codec's `attachOlder(encoded:)` checks that it is the right one first).
    mutating func attachOlder(_ stored: StoredGeneration) {
        precondition(olderStoredApart, "the older generation is already here")
        olderStored = stored
        olderStoredApart = false
    }

    /// Entries held (an order changed after its generation became the older one
    /// counts twice).
    public var count: Int { olderCount + recent.entries.count }

    private var olderCount: Int { olderStored?.count ?? older.entries.count }

    /// The recent generation's entries, in closing order.
    public var recentEntries: [Entry] { recent.entries }

    /// The two generations' entries, older first, each in closing order (an older
    /// generation attached from a checkpoint is decoded for it).
    public var generations: (older: [Entry], recent: [Entry]) { (olderStored?.entries() ?? older.entries, recent.entries) }

    public subscript(orderId: String) -> ClosedOrder? {
        if let slot = recent.slots.valueIfAny(forKey: orderId) { return recent.entries[slot].order }
        return olderOrder(orderId)
    }

    private func olderOrder(_ orderId: String) -> ClosedOrder? {
        if olderStored != nil { return olderStored?.order(orderId) }
        guard let slot = older.slots.valueIfAny(forKey: orderId) else { return nil }
        return older.entries[slot].order
    }

    /// The older generation as a checkpoint stores it apart (see `StoredGeneration`).
    public func encodedOlder() -> [UInt8] {
        olderStored?.bytes ?? StoredGeneration.encode(older.entries, number: rotations)
    }

    /// Changes a remembered order: in place in the recent generation, by a changed
    /// copy in the recent generation for an older one. False if it is not remembered.
    @discardableResult
    public mutating func update(_ orderId: String, _ change: (inout ClosedOrder) -> Void) -> Bool {
        if let slot = recent.slots.valueIfAny(forKey: orderId) {
            change(&recent.entries[slot].order)
            return true
        }
        if var order = olderOrder(orderId) {
            // The older generation stays as it was stored: the changed order goes
            // to the recent one, which shadows it.
            change(&order)
            recent.append(orderId, order)
            return true
        }
        return false
    }

    /// Remembers the closing of an order it does not hold: the reducer closes an
    /// order once (from open, or unknown), and changes a remembered one with
    /// `update`. So a closing costs one insertion, not a lookup first. (Were an id
    /// inserted twice, the later entry would shadow the earlier: `recent` is asked
    /// first.)
    public mutating func insert(_ orderId: String, _ order: ClosedOrder) {
        if recent.entries.count >= Self.generationSize {
            older = recent
            olderStored = nil
            rotations += 1
            recent = Generation()
            recent.slots.reserveCapacity(Self.generationSize)
            recent.entries.reserveCapacity(Self.generationSize)
        }
        recent.append(orderId, order)
    }

    public static func == (a: ClosedOrders, b: ClosedOrders) -> Bool {
        a.rotations == b.rotations && a.olderStoredApart == b.olderStoredApart
            && a.generations.older == b.generations.older && a.recent.entries == b.recent.entries
    }
}
