/// One value of an account's projection that an operator follows through the
/// log: a position by symbol, an order by id, a balance by asset. Written
/// `position:BTC-PERP`, `order:o-17`, `balance:USDT`.
public enum ProjectionKey: Sendable, Equatable, CustomStringConvertible {
    case position(String)
    case order(String)
    case balance(String)

    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = String(text[text.index(after: colon)...])
        guard !name.isEmpty else { return nil }
        switch text[..<colon] {
        case "position": self = .position(name)
        case "order": self = .order(name)
        case "balance": self = .balance(name)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .position(let s): "position:\(s)"
        case .order(let o): "order:\(o)"
        case .balance(let a): "balance:\(a)"
        }
    }

    /// The bot's value, as the timeline shows it; nil while it has none.
    public func localValue(_ p: LocalProjection) -> String? {
        switch self {
        case .position(let symbol):
            return p.positions[symbol].map { "qty \($0.position.qty), entry \($0.position.entryPrice.rounded(scale: 8)), realized \($0.realizedPnl.rounded(scale: 8))" }
        case .order(let id):
            if let o = p.openOrders[id] { return "open, filled \(o.filled) of \(o.qty)" }
            return p.closedOrders[id].map { "\($0.status.rawValue), filled \($0.filled) of \($0.qty)" }
        case .balance(let asset):
            return p.balances[asset].map { "\($0.amount)" }
        }
    }

    /// The venue's value, as the timeline shows it; nil while no report speaks
    /// for it (unknown), "flat" or "not open" when a report covers it without it.
    /// An order's symbol, which decides whether a scoped list covers it, is the
    /// bot's (a list of all symbols covers any order).
    public func remoteValue(_ p: AccountProjection) -> String? {
        let remote = p.remote
        switch self {
        case .position(let symbol):
            guard remote.positions.coverage(of: symbol) != nil else { return nil }
            return remote.positions.item(forKey: symbol).map { "qty \($0.qty), entry \($0.entryPrice)" } ?? "flat"
        case .order(let id):
            if let o = remote.openOrders.item(forKey: id) { return "open, remaining \(o.remaining) of \(o.qty)" }
            let symbol = p.local.openOrders[id]?.symbol ?? p.local.closedOrders[id]?.symbol
            let covered = symbol.map { remote.openOrders.coverage(of: $0) != nil } ?? remote.openOrders.coversAll
            return covered ? "not open" : nil
        case .balance(let asset):
            guard let balances = remote.balances else { return nil }
            return "\(balances[asset]?.total ?? .zero)"
        }
    }

    /// Whether folding `event` can change the bot's value: events that name the
    /// key, and for a balance every fill and correction (any fill may move any
    /// asset: base, quote, fee or realized PnL).
    func mayChangeLocal(_ event: Event) -> Bool {
        switch (self, event.body) {
        case (.position(let s), .fill(let f)): return f.symbol == s
        case (.order(let o), .fill(let f)): return f.orderId == o
        case (.balance, .fill): return true
        case (.order(let o), .orderSubmitted(let x)): return x.orderId == o
        case (.order(let o), .orderCanceled(let x)): return x.orderId == o
        case (.order(let o), .orderRejected(let x)): return x.orderId == o
        case (.balance(let a), .transfer(let x)): return x.asset == a
        case (_, .correction(let c)):
            switch (self, c.effect) {
            case (.position(let s), .fill(let f)): return f.symbol == s
            case (.order(let o), .fill(let f)): return f.orderId == o
            case (.position(let s), .positionAdjustment(let symbol, _, _)): return symbol == s
            // Any correction may move a balance (a fill's assets, an adjustment's
            // realized PnL); they are few.
            case (.balance, _): return true
            default: return false
            }
        default: return false
        }
    }
}

/// How one key of an account came to be what it is: each event that changed its
/// value on either side, with the value after it. Fed the account's events in
/// order with the projection after each; pure.
public struct KeyHistory: Sendable {
    public struct Change: Sendable, Equatable {
        public var seq: UInt64
        public var eventId: String
        public var type: EventType
        public var tsMs: Int64
        /// "local" (the bot's value) or "remote" (the venue's).
        public var side: String
        /// The value after the event; nil when the side no longer has one.
        public var value: String?
    }

    public let key: ProjectionKey
    public private(set) var changes: [Change] = []
    private var local: String?
    private var remote: String?

    /// Starting from `projection` (empty, or a checkpoint's).
    public init(key: ProjectionKey, from projection: AccountProjection) {
        self.key = key
        local = key.localValue(projection.local)
        remote = key.remoteValue(projection)
    }

    /// Notes `event` (at `seq`) given the projection just after it.
    public mutating func note(_ event: Event, seq: UInt64, after projection: AccountProjection) {
        if event.type == .exchangeSnapshot {
            let value = key.remoteValue(projection)
            if value != remote { changes.append(Change(seq: seq, eventId: event.id, type: event.type, tsMs: event.tsMs, side: "remote", value: value)) }
            remote = value
        } else if key.mayChangeLocal(event) {
            let value = key.localValue(projection.local)
            if value != local { changes.append(Change(seq: seq, eventId: event.id, type: event.type, tsMs: event.tsMs, side: "local", value: value)) }
            local = value
        }
    }
}
