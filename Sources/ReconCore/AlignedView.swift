/// The bot's view of one account restricted to local events with `ts_ms` ≤ a
/// cutoff (the latest snapshot's time + clock skew), kept up to date as events
/// arrive rather than rebuilt for each run.
///
/// `prefix` folds, in seq order, every local event before the first one later
/// than the cutoff; `tail` holds that event and everything after it. The cutoff
/// only rises (it follows the newest snapshot), so the prefix only grows: a run
/// costs the tail (usually the few events logged while the snapshot was on its
/// way), not the history. The view is exact: the same as folding, in seq order,
/// exactly the events with `ts_ms` ≤ cutoff.
struct AlignedView: Sendable {
    private(set) var prefix = LocalProjection()
    private var tail: [LoggedEvent] = []
    /// Index of the tail's first event (consumed ones are dropped in batches).
    private var head = 0
    /// The cutoff the prefix was built to.
    private var cutoff: Int64 = .min
    /// The last view built with tail events: valid while cutoff and head stay.
    private var cached: (cutoff: Int64, head: Int, through: Int, local: LocalProjection)?
    /// A tail longer than this (a far-future `ts_ms`, say) is folded into the
    /// prefix regardless; the view is then approximate until the cutoff passes
    /// the latest such event's time.
    static let maxTail = 50_000
    private var forcedMaxTsMs: Int64 = .min

    /// Takes a local event arriving in seq order, with the cutoff as it stands
    /// (nil before the first snapshot: the event waits in the tail, since the
    /// first snapshot's time decides whether it counts).
    mutating func append(_ logged: LoggedEvent, cutoff now: Int64?) {
        let limit = now ?? .min
        if head == tail.count && logged.event.tsMs <= limit {
            prefix.apply(logged.event, seq: logged.seq)
            return
        }
        tail.append(logged)
        if tail.count - head > Self.maxTail {
            advance(to: limit)
            while tail.count - head > Self.maxTail {
                forcedMaxTsMs = max(forcedMaxTsMs, tail[head].event.tsMs)
                consumeHead()
            }
        }
    }

    /// The view at `limit`, and whether it is exact.
    mutating func view(cutoff limit: Int64) -> (local: LocalProjection, exact: Bool) {
        advance(to: limit)
        let exact = forcedMaxTsMs <= limit
        guard tail[head...].contains(where: { $0.event.tsMs <= limit }) else { return (prefix, exact) }
        // Taken out while it is extended, so it is uniquely referenced and grows in place.
        if var hit = cached.take(), hit.cutoff == limit, hit.head == head {
            for e in tail[hit.through...] where e.event.tsMs <= limit { hit.local.apply(e.event, seq: e.seq) }
            hit.through = tail.count
            cached = hit
            return (hit.local, exact)
        }
        var local = prefix
        for e in tail[head...] where e.event.tsMs <= limit { local.apply(e.event, seq: e.seq) }
        cached = (limit, head, tail.count, local)
        return (local, exact)
    }

    /// Moves tail events into the prefix while the first is within the cutoff.
    private mutating func advance(to limit: Int64) {
        guard limit > cutoff else { return }
        cutoff = limit
        while head < tail.count, tail[head].event.tsMs <= limit { consumeHead() }
    }

    private mutating func consumeHead() {
        prefix.apply(tail[head].event, seq: tail[head].seq)
        head += 1
        cached = nil
        if head == tail.count {
            tail.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4_096 && head * 2 >= tail.count {
            tail.removeFirst(head)
            head = 0
        }
    }
}

/// The bot's views a run compares each section of the venue's data with: each
/// at its own section's report time (a balances-only snapshot must not move the
/// cutoff of an older positions list).
public struct AlignedSections: Sendable {
    public var orders: LocalProjection
    public var positions: LocalProjection
    public var balances: LocalProjection

    public init(_ one: LocalProjection) {
        orders = one
        positions = one
        balances = one
    }
}

/// The sections of a snapshot, each with its own report time.
enum SnapshotSection: Int, CaseIterable, Sendable {
    case orders, positions, balances

    /// The newest report time of this section (nil: never reported).
    func reportTime(_ remote: RemoteProjection) -> Int64? {
        switch self {
        case .orders: return remote.openOrders.latestAsOfMs
        case .positions: return remote.positions.latestAsOfMs
        case .balances: return remote.balances != nil ? remote.balancesAsOfMs : (remote.equity != nil ? remote.equityAsOfMs : nil)
        }
    }
}
