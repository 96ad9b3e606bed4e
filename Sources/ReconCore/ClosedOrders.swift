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
        var slots: [String: Int] = [:]

        init() {}

        init(_ entries: [Entry]) {
            self.entries = entries
            slots.reserveCapacity(entries.count)
            for (slot, entry) in entries.enumerated() { slots[entry.orderId] = slot }
        }

        mutating func append(_ orderId: String, _ order: ClosedOrder) {
            slots[orderId] = entries.count
            entries.append(Entry(orderId: orderId, order: order))
        }
    }

    private var older = Generation()
    private var recent = Generation()

    public init() {}

    /// From the entries of each generation in closing order, as `generations` lists them.
    public init(older: [Entry], recent: [Entry]) {
        self.older = Generation(older)
        self.recent = Generation(recent)
    }

    public var count: Int { older.entries.count + recent.entries.count }

    /// The two generations' entries, older first, each in closing order.
    public var generations: (older: [Entry], recent: [Entry]) { (older.entries, recent.entries) }

    public subscript(orderId: String) -> ClosedOrder? {
        if let slot = recent.slots.valueIfAny(forKey: orderId) { return recent.entries[slot].order }
        if let slot = older.slots.valueIfAny(forKey: orderId) { return older.entries[slot].order }
        return nil
    }

    /// Changes the order in place, where it is; false if it is not remembered.
    @discardableResult
    public mutating func update(_ orderId: String, _ change: (inout ClosedOrder) -> Void) -> Bool {
        if let slot = recent.slots.valueIfAny(forKey: orderId) {
            change(&recent.entries[slot].order)
            return true
        }
        if let slot = older.slots.valueIfAny(forKey: orderId) {
            change(&older.entries[slot].order)
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
            recent = Generation()
            recent.slots.reserveCapacity(Self.generationSize)
            recent.entries.reserveCapacity(Self.generationSize)
        }
        recent.append(orderId, order)
    }

    public static func == (a: ClosedOrders, b: ClosedOrders) -> Bool {
        a.older.entries == b.older.entries && a.recent.entries == b.recent.entries
    }
}
