import Synchronization

/// What the venue said about one account: the latest report of each section,
/// honouring scope, plus its trade history and closed positions.
///
/// A section never reported is unknown (nil), never "empty": an absent list says
/// nothing. A list scoped to `symbols` replaces only those symbols' entries.
public struct RemoteProjection: Sendable, Equatable {
    public var positions = ScopedSection<RemotePosition>()
    public var openOrders = ScopedSection<RemoteOrder>()
    /// The latest balances list (complete when present), by asset.
    public var balances: [String: RemoteBalance]?
    public var balancesSeq: UInt64 = 0
    public var balancesAsOfMs: Int64 = 0
    public var equity: ExactDecimal?
    public var equitySeq: UInt64 = 0
    public var equityAsOfMs: Int64 = 0
    /// Latest mark per symbol.
    public internal(set) var marks: [String: MarkState] {
        get { markBook.marks }
        set { markBook = MarkBook(marks: newValue) }
    }
    private var markBook = MarkBook()

    /// The latest mark of `symbol` (`marks[symbol]`, without writing them all out).
    public func mark(of symbol: String) -> MarkState? { markBook.mark(of: symbol) }
    /// The venue's trade history, by `fill_id`; a later window's record replaces an earlier one.
    public var fills: [IDKey: RemoteFill] = [:]
    /// Covered time ranges of trade history, merged, in order.
    public var fillCoverage: [TimeRange] = []
    /// The venue's closed positions, by `position_id`: a collector re-polling an
    /// overlapping window replaces a record instead of listing it twice.
    public var positionHistory: [String: RemoteClosedPosition] = [:]
    public var positionHistoryCoverage: [TimeRange] = []
    /// The newest `ts_ms` of any remote event (the exchange time its data is valid at).
    public var latestAsOfMs: Int64?
    public var latestSeq: UInt64 = 0
    /// The latest `exchange_snapshot`'s validity time: the reference of time alignment.
    public var latestSnapshotMs: Int64?
    public var lastSeq: UInt64 = 0

    public init() {}
}

/// What a snapshot section lists: an item held under a key (a position under
/// its symbol, an order under its id) that belongs to one symbol.
public protocol SectionItem: Sendable, Equatable {
    var sectionKey: String { get }
    var symbol: String { get }
}

extension RemotePosition: SectionItem {
    public var sectionKey: String { symbol }
}

extension MarkPrice: SectionItem {
    public var sectionKey: String { symbol }
}

extension RemoteOrder: SectionItem {
    public var sectionKey: String { orderId }
}

/// A section of snapshots that may be reported for all symbols or for some.
public struct ScopedSection<Item: SectionItem>: Sendable, Equatable {
    /// Entries by key (symbol or order id). The latest complete list is indexed
    /// at its first read, not when it folds (see `latestList`).
    public var items: [String: Entry] {
        get { latestList?.entries ?? indexedItems }
        set {
            indexedItems = newValue
            latestList = nil
        }
    }
    /// The entries when `latestList` is nil.
    private var indexedItems: [String: Entry] = [:]
    /// The latest complete list while no scoped list has changed it, held as the
    /// snapshot reported it. Most complete lists are replaced by the next snapshot
    /// before anything reads them, so hashing their keys into a table at every
    /// snapshot was a third of a full replay's reducer time.
    private var latestList: ReportedList?
    /// A full (unscoped) list has been seen: everything is covered.
    public var coversAll = false
    public var allSeq: UInt64 = 0
    public var allAsOfMs: Int64 = 0
    /// Symbols covered by scoped lists (when not all are): the seq and time of the list.
    public var coveredSymbols: [String: Coverage] = [:]

    public struct Entry: Sendable, Equatable {
        public var item: Item
        public var symbol: String
        public var seq: UInt64
        public var asOfMs: Int64
    }

    public struct Coverage: Sendable, Equatable {
        public var seq: UInt64
        public var asOfMs: Int64
    }

    /// A complete list and its entries, indexed once at the first read. A class
    /// so that the index built by one reader (a run's order pass splits over
    /// threads) serves every copy of the projection; the list never changes.
    final class ReportedList: Sendable {
        /// Still encoded when it came from the log and nothing has read it.
        let reported: SnapshotList<Item>
        let seq: UInt64
        let asOfMs: Int64
        /// The indexes below, built at their first read (type-erased: see `once`).
        private let positionIndex = Mutex<AnyObject?>(nil)
        private let entryIndex = Mutex<AnyObject?>(nil)

        init(_ reported: SnapshotList<Item>, seq: UInt64, asOfMs: Int64) {
            self.reported = reported
            self.seq = seq
            self.asOfMs = asOfMs
        }

        var list: [Item] { reported.items }

        /// Where each key's item lies in the list (a key listed twice: its last).
        /// Cheaper than `entries` by the size of an entry: nothing is copied.
        var positions: [String: Int] {
            positionIndex.once {
                let list = self.list
                var positions: [String: Int] = [:]
                positions.reserveCapacity(list.count)
                for (at, item) in list.enumerated() { positions[item.sectionKey] = at }
                return positions
            }
        }

        var entries: [String: Entry] {
            entryIndex.once {
                let list = self.list
                var entries: [String: Entry] = [:]
                entries.reserveCapacity(list.count)
                // A key listed twice keeps its last item, as the list's order says.
                for item in list {
                    entries[item.sectionKey] = Entry(item: item, symbol: item.symbol, seq: seq, asOfMs: asOfMs)
                }
                return entries
            }
        }
    }

    public init() {}

    /// Equal when they list the same entries with the same coverage, whether or
    /// not a list has been indexed yet.
    public static func == (lhs: ScopedSection, rhs: ScopedSection) -> Bool {
        lhs.coversAll == rhs.coversAll && lhs.allSeq == rhs.allSeq && lhs.allAsOfMs == rhs.allAsOfMs
            && lhs.coveredSymbols == rhs.coveredSymbols && lhs.items == rhs.items
    }

    /// The time of the newest list of this section (nil: never reported).
    public var latestAsOfMs: Int64? {
        guard isKnown else { return nil }
        // A loop, not `map(_:).max()`: every run asks, and the map allocated.
        var latest = coversAll ? allAsOfMs : .min
        for coverage in coveredSymbols.values where coverage.asOfMs > latest { latest = coverage.asOfMs }
        return latest
    }

    /// Whether this section speaks for `symbol`, and if so since which report.
    public func coverage(of symbol: String) -> Coverage? {
        if let scoped = coveredSymbols[symbol], !coversAll || scoped.seq > allSeq { return scoped }
        return coversAll ? Coverage(seq: allSeq, asOfMs: allAsOfMs) : nil
    }

    public var isKnown: Bool { coversAll || !coveredSymbols.isEmpty }

    /// Entries found by key without copying a complete list into a table of
    /// entries; see ``Finder``.
    var finder: Finder {
        if let latestList {
            if latestList.reported.count <= Finder.positionsUpTo {
                return Finder(storage: .list(latestList, latestList.list, latestList.positions))
            }
            return Finder(storage: .table(latestList.entries))
        }
        return Finder(storage: .table(indexedItems))
    }

    /// The item listed under `key`, found without building the table of entries;
    /// in a short complete list, without building any index (a key's history
    /// asks once per snapshot, of a list nothing else reads).
    public func item(forKey key: String) -> Item? {
        if let latestList, latestList.reported.count <= Finder.walkedUpTo {
            return latestList.reported.lastItem(keyed: key)
        }
        let finder = self.finder
        return finder.position(of: key).map(finder.item(at:))
    }

    /// Reads entries by key where they lie. The order pass probes the venue's
    /// list once per bot order at every run: indexing a complete list as
    /// whole entries copied every order into a table first (6 % of a drift);
    /// an index of positions copies nothing.
    struct Finder {
        /// Lists up to this long are read through positions; longer ones through
        /// whole entries. A probe by position reads the key's slot, then the item
        /// in the list: two cache misses once the list outgrows the cache, where an
        /// entry lies beside its key (one reconcile of 100,000 orders: 20–23 ms by
        /// entries, 24–30 ms by positions).
        static var positionsUpTo: Int { 4_096 }
        /// A single key is looked up in a complete list up to this long by a walk
        /// over it: an index built for one lookup hashes every key, and a list
        /// that came from the log would be decoded whole first.
        static var walkedUpTo: Int { 256 }

        enum Storage {
            case list(ReportedList, [Item], [String: Int])
            case table([String: Entry])
        }
        enum Position {
            case list(Int)
            case table(Dictionary<String, Entry>.Index)
        }
        let storage: Storage

        /// Distinct keys listed.
        var count: Int {
            switch storage {
            case .list(_, _, let positions): positions.count
            case .table(let entries): entries.count
            }
        }

        /// Each distinct key and where its entry lies, in no particular order.
        func forEach(_ body: (String, Position) -> Void) {
            switch storage {
            case .list(_, _, let positions): for (key, at) in positions { body(key, .list(at)) }
            case .table(let entries):
                var at = entries.startIndex
                while at != entries.endIndex {
                    body(entries.keys[at], .table(at))
                    entries.formIndex(after: &at)
                }
            }
        }

        @inline(__always) func position(of key: String) -> Position? {
            switch storage {
            case .list(_, _, let positions): positions[key].map(Position.list)
            case .table(let entries): entries.index(forKey: key).map(Position.table)
            }
        }

        @inline(__always) func item(at position: Position) -> Item {
            switch (storage, position) {
            case (.list(_, let items, _), .list(let at)): items[at]
            case (.table(let entries), .table(let at)): entries.values[at].item
            default: preconditionFailure("a position from another finder")
            }
        }

        func entry(at position: Position) -> Entry {
            switch (storage, position) {
            case (.list(let reported, let items, _), .list(let at)):
                let item = items[at]
                return Entry(item: item, symbol: item.symbol, seq: reported.seq, asOfMs: reported.asOfMs)
            case (.table(let entries), .table(let at)): return entries.values[at]
            default: preconditionFailure("a position from another finder")
            }
        }
    }

    /// Applies a list, complete for `scope` (all symbols when nil). A complete
    /// list is kept as it came; a scoped one changes the indexed entries.
    mutating func replace(with list: SnapshotList<Item>, scope: [String]?, seq: UInt64, asOfMs: Int64) {
        if let scope {
            let scoped = Set(scope)
            var kept = items.filter { !scoped.contains($0.value.symbol) }
            for s in scope { coveredSymbols[s] = Coverage(seq: seq, asOfMs: asOfMs) }
            for item in list.items where scoped.contains(item.symbol) {
                kept[item.sectionKey] = Entry(item: item, symbol: item.symbol, seq: seq, asOfMs: asOfMs)
            }
            items = kept
        } else {
            latestList = ReportedList(list, seq: seq, asOfMs: asOfMs)
            if !indexedItems.isEmpty { indexedItems = [:] }
            coversAll = true
            allSeq = seq
            allAsOfMs = asOfMs
            if !coveredSymbols.isEmpty { coveredSymbols = [:] }
        }
    }
}

public struct MarkState: Sendable, Equatable {
    public var mark: ExactDecimal
    public var seq: UInt64
}

public struct RemoteFill: Sendable, Equatable {
    public var record: FillRecord
    /// The `exchange_fills` event that carried it.
    public var seq: UInt64
}

public struct RemoteClosedPosition: Sendable, Equatable {
    public var record: ClosedPositionRecord
    public var seq: UInt64
}

/// A closed interval of exchange time.
public struct TimeRange: Sendable, Equatable {
    public var fromMs: Int64
    public var toMs: Int64

    public func contains(_ t: Int64) -> Bool { t >= fromMs && t <= toMs }
}

/// The marks: those written out, under the latest prices list, which is kept as
/// it came (bytes, when read from the log) and decoded only when the marks are
/// read. A venue lists the same symbols in the same order every time, so the
/// next list replaces it whole, and a replay decodes none of the tens of
/// thousands of lists it folds (their 50 marks each were a tenth of decoding a
/// log). A list naming other symbols first writes the latest one out.
struct MarkBook: Sendable, Equatable {
    private var written: [String: MarkState] = [:]
    private var latest: (list: SnapshotList<MarkPrice>, seq: UInt64)?

    init() {}

    init(marks: [String: MarkState]) {
        written = marks
    }

    /// Each listed symbol's mark becomes the listed one (a symbol listed twice:
    /// its later mark).
    mutating func update(_ prices: SnapshotList<MarkPrice>, seq: UInt64) {
        if let latest, !latest.list.hasSameKeys(as: prices) {
            Self.write(latest.list, seq: latest.seq, into: &written)
        }
        latest = (prices, seq)
    }

    /// One symbol's mark, found without writing the marks out.
    func mark(of symbol: String) -> MarkState? {
        if let latest, let price = latest.list.lastItem(keyed: symbol) { return MarkState(mark: price.mark, seq: latest.seq) }
        return written[symbol]
    }

    var marks: [String: MarkState] {
        var marks = written
        if let latest { Self.write(latest.list, seq: latest.seq, into: &marks) }
        return marks
    }

    private static func write(_ prices: SnapshotList<MarkPrice>, seq: UInt64, into marks: inout [String: MarkState]) {
        for price in prices.items { marks[price.symbol] = MarkState(mark: price.mark, seq: seq) }
    }

    /// Equal when they give the same marks, however they are held.
    static func == (lhs: MarkBook, rhs: MarkBook) -> Bool {
        lhs.marks == rhs.marks
    }
}

extension [TimeRange] {
    /// Adds a range, merging overlapping and adjacent ones.
    mutating func merge(_ range: TimeRange) {
        var merged = range
        var kept: [TimeRange] = []
        for r in self {
            if r.toMs + 1 < merged.fromMs || merged.toMs + 1 < r.fromMs {
                kept.append(r)
            } else {
                merged = TimeRange(fromMs: Swift.min(r.fromMs, merged.fromMs), toMs: Swift.max(r.toMs, merged.toMs))
            }
        }
        kept.append(merged)
        self = kept.sorted { $0.fromMs < $1.fromMs }
    }

    func covers(_ t: Int64) -> Bool { contains { $0.contains(t) } }
}

extension RemoteProjection {
    /// Folds one remote event; other events are not this reducer's.
    public mutating func apply(_ event: Event, seq: UInt64) {
        let asOf = event.tsMs
        switch event.body {
        case .exchangeSnapshot(let x):
            if let list = x.positionList {
                positions.replace(with: list, scope: x.symbols, seq: seq, asOfMs: asOf)
            }
            if let list = x.openOrderList {
                openOrders.replace(with: list, scope: x.symbols, seq: seq, asOfMs: asOf)
            }
            if let list = x.balances {
                var byAsset: [String: RemoteBalance] = [:]
                for b in list { byAsset[b.asset] = b }
                balances = byAsset
                balancesSeq = seq
                balancesAsOfMs = asOf
            }
            if let value = x.equity {
                equity = value
                equitySeq = seq
                equityAsOfMs = asOf
            }
            if let prices = x.priceList { markBook.update(prices, seq: seq) }
            latestSnapshotMs = max(latestSnapshotMs ?? .min, asOf)
        case .exchangeFills(let x):
            for f in x.fills { fills[f.fillId] = RemoteFill(record: f, seq: seq) }
            noteFillsWindow(x, seq: seq, asOfMs: asOf)
            return
        case .exchangePositionHistory(let x):
            for p in x.positions { positionHistory[p.positionId] = RemoteClosedPosition(record: p, seq: seq) }
            positionHistoryCoverage.merge(TimeRange(fromMs: x.fromMs, toMs: x.toMs))
        default:
            return
        }
        noteSeq(seq, asOfMs: asOf)
    }

    /// What a window of the venue's trade history says besides its records: the
    /// time it covers. Its records are stored by the caller (`apply` stores them
    /// all; an account's projection stores those its bot's fills do not settle).
    mutating func noteFillsWindow(_ x: ExchangeFills, seq: UInt64, asOfMs: Int64) {
        fillCoverage.merge(TimeRange(fromMs: x.fromMs, toMs: x.toMs))
        noteSeq(seq, asOfMs: asOfMs)
    }

    private mutating func noteSeq(_ seq: UInt64, asOfMs: Int64) {
        lastSeq = seq
        latestSeq = seq
        latestAsOfMs = max(latestAsOfMs ?? .min, asOfMs)
    }
}
