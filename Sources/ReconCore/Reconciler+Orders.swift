import Dispatch
import Synchronization

/// The bot's open orders paired with the venue's list by id: what each run of
/// a large account spends most of its time on.
///
/// The work is reading two tables at random places (the bot's order, the
/// venue's entry for the same id), so it is bound by memory latency, not
/// arithmetic: both sides' fields are read where they lie (copying whole
/// entries out was most of a run), and a large account is split over the
/// cores, whose misses then overlap. Findings do not depend on the split: they
/// are sorted once at the end of a run.
struct OrderPass: Sendable {
    /// Bot orders the venue also lists (compared or not).
    var paired = 0
    /// Side, quantity and price differences.
    var mismatches: [Discrepancy] = []
    /// Orders open locally that the venue's list should show and does not.
    var localOnly: [Discrepancy] = []

    /// Below this many open orders a run stays on its thread: a split costs
    /// more than it saves.
    static let splitAbove = 16_384

    /// `parts`: how many pieces to split the bot's orders into (by default 4
    /// above `splitAbove`, else 1; a test sets it to hold both to one answer).
    static func run(_ orders: [IDKey: LocalOrder], against remote: ScopedSection<RemoteOrder>, thresholds t: Thresholds,
                    config: ReconConfig, account: String, parts: Int? = nil) -> OrderPass {
        let parts = min(max(1, orders.count), parts ?? (orders.count > splitAbove ? 4 : 1))
        guard parts > 1 else {
            return pass(orders, orders.startIndex..<orders.endIndex, remote, t, config, account)
        }
        var cuts = [orders.startIndex]
        for k in 1..<parts {
            cuts.append(orders.index(cuts[k - 1], offsetBy: orders.count / parts))
        }
        cuts.append(orders.endIndex)
        let bounds = cuts
        let results = Mutex([OrderPass?](repeating: nil, count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { k in
            let part = pass(orders, bounds[k]..<bounds[k + 1], remote, t, config, account)
            results.withLock { $0[k] = part }
        }
        return results.withLock { parts in
            parts.reduce(into: OrderPass()) { total, part in
                total.paired += part!.paired
                total.mismatches += part!.mismatches
                total.localOnly += part!.localOnly
            }
        }
    }

    private static func pass(_ orders: [IDKey: LocalOrder], _ range: Range<Dictionary<IDKey, LocalOrder>.Index>,
                             _ remote: ScopedSection<RemoteOrder>, _ t: Thresholds, _ config: ReconConfig, _ account: String) -> OrderPass {
        var out = OrderPass()
        let remoteOrders = remote.finder
        // Both sides' fields are read where they lie; an order is copied out only
        // to describe a finding.
        var at = range.lowerBound
        while at != range.upperBound {
            defer { orders.formIndex(after: &at) }
            let id = orders.keys[at].string
            let slot = remoteOrders.position(of: id)
            if slot != nil { out.paired += 1 }
            let (symbol, submittedTsMs, localSide, localQty, filled, localPrice) = orders.values[at].compared
            guard let coverage = remote.coverage(of: symbol) else { continue }
            // An order the venue's list could not yet know is not missing.
            if submittedTsMs > coverage.asOfMs + t.clockSkewMs { continue }
            if let slot {
                let (side, qty, remoteRemaining, price) = remoteOrders.item(at: slot).compared
                if side == localSide && qty == localQty && remoteRemaining == localQty - filled
                    && (localPrice == nil || price == nil || localPrice == price) { continue }
            }
            let o = orders.values[at]
            guard let slot else {
                let ts = config.thresholds(account: account, symbol: o.symbol)
                var d = Discrepancy(type: .orderMissingRemote, severity: .warning, account: account, subject: id,
                                    message: "order \(id) (\(o.side.rawValue) \(o.remaining) \(o.symbol)) is open locally but not on the venue")
                d.orderId = id
                d.symbol = o.symbol
                d.local = o.json
                d.localSeq = o.lastSeq
                d.remoteSeq = coverage.seq
                d.impactQuote = o.price.map { o.remaining * $0 }
                d.thresholds = [("order_missing_remote_critical_count", .number("\(ts.orderMissingRemoteCriticalCount)")),
                                ("escalate_after_runs", .number("\(ts.escalateAfterRuns)"))]
                out.localOnly.append(d)
                continue
            }
            let remaining = o.remaining
            let r = remoteOrders.entry(at: slot)
            let ri = r.item
            if ri.side != o.side {
                var d = Reconciler.orderDiff(.orderSideMismatch, .critical, id, o, r, account, "side \(o.side.rawValue) locally, \(ri.side.rawValue) on the venue")
                d.identity.append(("field", "side"))
                out.mismatches.append(d)
            }
            if ri.qty != o.qty || ri.remaining != remaining {
                var d = Reconciler.orderDiff(.orderQtyMismatch, .warning, id, o, r, account,
                                             ri.qty != o.qty ? "qty \(o.qty) locally, \(ri.qty) on the venue" : "remaining \(remaining) locally, \(ri.remaining) on the venue")
                d.delta = ri.qty != o.qty ? ri.qty - o.qty : ri.remaining - remaining
                d.identity.append(("field", ri.qty != o.qty ? "qty" : "remaining"))
                d.impactQuote = (o.price ?? ri.price).map { d.delta!.magnitude * $0 }
                out.mismatches.append(d)
            }
            if let lp = o.price, let rp = ri.price, lp != rp {
                var d = Reconciler.orderDiff(.orderPriceMismatch, .warning, id, o, r, account, "price \(lp) locally, \(rp) on the venue")
                d.delta = rp - lp
                d.identity.append(("field", "price"))
                out.mismatches.append(d)
            }
        }
        return out
    }
}
