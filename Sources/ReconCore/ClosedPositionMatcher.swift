/// Pairs the bot's round trips with the venue's closed-position records.
///
/// Never by id: venues give one position different ids in different APIs. Two
/// trips match when symbol and side agree, entry times are within the window and
/// entry prices within the percentage. Each side is sorted once by entry time and
/// every bot trip looks only at the venue records inside its time window, so the
/// work is O((n + m) log m) rather than n × m.
public enum ClosedPositionMatcher {
    public struct Window: Sendable, Equatable {
        public var timeMs: Int64
        /// Percent of the venue's entry price.
        public var pricePct: ExactDecimal

        public init(timeMs: Int64, pricePct: ExactDecimal) {
            self.timeMs = timeMs
            self.pricePct = pricePct
        }
    }

    public struct Result: Sendable, Equatable {
        /// Pairs of indices into the inputs: (bot trip, venue record).
        public var pairs: [(local: Int, remote: Int)] = []
        public var unmatchedLocal: [Int] = []
        public var unmatchedRemote: [Int] = []

        public static func == (a: Result, b: Result) -> Bool {
            a.pairs.elementsEqual(b.pairs) { $0 == $1 } && a.unmatchedLocal == b.unmatchedLocal && a.unmatchedRemote == b.unmatchedRemote
        }
    }

    private struct Group: Hashable {
        var symbol: String
        var side: PositionSide
    }

    /// Matches greedily in the bot's entry-time order; each bot trip takes the
    /// nearest free venue record in time (then in price) that fits both windows.
    /// `window` is asked once per symbol.
    public static func match(local: [ClosedPosition], remote: [ClosedPositionRecord], window: (String) -> Window) -> Result {
        var groups: [Group: [Int]] = [:]
        for (i, r) in remote.enumerated() { groups[Group(symbol: r.symbol, side: r.side), default: []].append(i) }
        for key in groups.keys {
            groups[key]!.sort { (remote[$0].entryTsMs, remote[$0].positionId) < (remote[$1].entryTsMs, remote[$1].positionId) }
        }
        var windows: [String: Window] = [:]
        var taken = [Bool](repeating: false, count: remote.count)
        var result = Result()
        let order = local.indices.sorted { (local[$0].entryTsMs, local[$0].openSeq, $0) < (local[$1].entryTsMs, local[$1].openSeq, $1) }
        for li in order {
            let l = local[li]
            guard let candidates = groups[Group(symbol: l.symbol, side: l.side)] else {
                result.unmatchedLocal.append(li)
                continue
            }
            let w = windows[l.symbol] ?? window(l.symbol)
            windows[l.symbol] = w
            // First venue record not earlier than the window's start.
            let earliest = l.entryTsMs - w.timeMs
            var best: (index: Int, dt: Int64, dp: ExactDecimal)?
            var i = candidates.indices.firstIndexNotBelow { remote[candidates[$0]].entryTsMs < earliest }
            while i < candidates.count, remote[candidates[i]].entryTsMs <= l.entryTsMs + w.timeMs {
                let ri = candidates[i]
                i += 1
                guard !taken[ri] else { continue }
                let r = remote[ri]
                let dp = (l.entryPrice - r.entryPrice).magnitude
                // Within pct percent of the venue's price, without a division.
                guard dp * 100 <= w.pricePct * r.entryPrice.magnitude else { continue }
                let dt = abs(l.entryTsMs - r.entryTsMs)
                if let b = best, (b.dt, b.dp) <= (dt, dp) { continue }
                best = (ri, dt, dp)
            }
            if let best {
                taken[best.index] = true
                result.pairs.append((li, best.index))
            } else {
                result.unmatchedLocal.append(li)
            }
        }
        result.unmatchedRemote = remote.indices.filter { !taken[$0] }
        result.unmatchedLocal.sort()
        return result
    }
}
