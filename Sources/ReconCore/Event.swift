/// One fact in the log: what the bot did, what the exchange said, or a control action.
///
/// The envelope (`id`, `account`, `tsMs`, `venue`) is common to every type; `body`
/// holds the type's own fields. The engine adds `seq` and `ingestMs` when the event
/// is appended (see ``LoggedEvent``).
///
/// The log's decoder writes each stored property in place (``EventCodec``'s
/// `decode(_:into:)`, `EventFields`): a property added here, or to
/// ``LoggedEvent``, must be written there too.
public struct Event: Sendable, Equatable {
    /// Unique in the log; the idempotency key.
    public var id: String
    /// The trading account or bot the event belongs to.
    public var account: String
    /// When it happened, by its source's clock (the bot's or the exchange's).
    public var tsMs: Int64
    /// The exchange, when known.
    public var venue: String?
    public var body: EventBody

    public init(id: String, account: String, tsMs: Int64, venue: String? = nil, body: EventBody) {
        self.id = id
        self.account = account
        self.tsMs = tsMs
        self.venue = venue
        self.body = body
    }

    public var type: EventType { body.type }
}

/// An event as stored: with the position and time the log learned it at.
public struct LoggedEvent: Sendable, Equatable {
    /// 1, 2, 3 … with no gaps: the order of knowledge.
    public var seq: UInt64
    /// When the log learned of it (the appender's clock, never decreasing).
    public var ingestMs: Int64
    public var event: Event

    public init(seq: UInt64, ingestMs: Int64, event: Event) {
        self.seq = seq
        self.ingestMs = ingestMs
        self.event = event
    }
}

/// The event types of the contract. Raw values are the codec's type tags: once
/// shipped they never change meaning.
public enum EventType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case instrument = 1
    case orderSubmitted = 2
    case orderCanceled = 3
    case orderRejected = 4
    case fill = 5
    case transfer = 6
    case exchangeSnapshot = 7
    case exchangeFills = 8
    case exchangePositionHistory = 9
    case reconRequested = 10
    case correction = 11

    /// The name used in JSON (`order_submitted`).
    public var name: String {
        switch self {
        case .instrument: return "instrument"
        case .orderSubmitted: return "order_submitted"
        case .orderCanceled: return "order_canceled"
        case .orderRejected: return "order_rejected"
        case .fill: return "fill"
        case .transfer: return "transfer"
        case .exchangeSnapshot: return "exchange_snapshot"
        case .exchangeFills: return "exchange_fills"
        case .exchangePositionHistory: return "exchange_position_history"
        case .reconRequested: return "recon_requested"
        case .correction: return "correction"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// Local events describe what the bot believes; remote ones what the venue said.
    public var isRemote: Bool {
        switch self {
        case .exchangeSnapshot, .exchangeFills, .exchangePositionHistory: return true
        default: return false
        }
    }
}

/// The type-specific fields of an event.
public enum EventBody: Sendable, Equatable {
    case instrument(Instrument)
    case orderSubmitted(OrderSubmitted)
    case orderCanceled(OrderCanceled)
    case orderRejected(OrderRejected)
    case fill(FillRecord)
    case transfer(Transfer)
    case exchangeSnapshot(ExchangeSnapshot)
    case exchangeFills(ExchangeFills)
    case exchangePositionHistory(ExchangePositionHistory)
    case reconRequested(ReconRequested)
    case correction(Correction)

    public var type: EventType {
        switch self {
        case .instrument: return .instrument
        case .orderSubmitted: return .orderSubmitted
        case .orderCanceled: return .orderCanceled
        case .orderRejected: return .orderRejected
        case .fill: return .fill
        case .transfer: return .transfer
        case .exchangeSnapshot: return .exchangeSnapshot
        case .exchangeFills: return .exchangeFills
        case .exchangePositionHistory: return .exchangePositionHistory
        case .reconRequested: return .reconRequested
        case .correction: return .correction
        }
    }
}

// MARK: - Enumerations

public enum Side: String, Sendable, CaseIterable {
    case buy, sell

    /// +1 for buy, -1 for sell.
    public var sign: ExactDecimal { self == .buy ? 1 : -1 }
}

public enum Liquidity: String, Sendable, CaseIterable {
    case maker, taker
}

public enum InstrumentKind: String, Sendable, CaseIterable {
    case spot, perp
}

public enum OrderType: String, Sendable, CaseIterable {
    case limit, market
}

public enum TransferKind: String, Sendable, CaseIterable {
    case deposit, withdrawal, funding, adjustment
}

public enum PositionSide: String, Sendable, CaseIterable {
    case long, short
}

// MARK: - Local events

/// Declares a symbol. Undeclared symbols are linear perps settled in the fill's fee asset.
public struct Instrument: Sendable, Equatable {
    public var symbol: String
    public var kind: InstrumentKind
    public var base: String
    public var quote: String
    public var contractSize: ExactDecimal

    public init(symbol: String, kind: InstrumentKind, base: String, quote: String, contractSize: ExactDecimal = 1) {
        self.symbol = symbol
        self.kind = kind
        self.base = base
        self.quote = quote
        self.contractSize = contractSize
    }
}

public struct OrderSubmitted: Sendable, Equatable {
    public var orderId: String
    public var symbol: String
    public var side: Side
    public var qty: ExactDecimal
    /// Absent for market orders.
    public var price: ExactDecimal?
    public var orderType: OrderType
    public var postOnly: Bool
    public var reduceOnly: Bool

    public init(orderId: String, symbol: String, side: Side, qty: ExactDecimal, price: ExactDecimal?,
                orderType: OrderType, postOnly: Bool = false, reduceOnly: Bool = false) {
        self.orderId = orderId
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.price = price
        self.orderType = orderType
        self.postOnly = postOnly
        self.reduceOnly = reduceOnly
    }
}

public struct OrderCanceled: Sendable, Equatable {
    public var orderId: String
    public init(orderId: String) { self.orderId = orderId }
}

public struct OrderRejected: Sendable, Equatable {
    public var orderId: String
    public var reason: String
    public init(orderId: String, reason: String) {
        self.orderId = orderId
        self.reason = reason
    }
}

/// The content of a fill: what identifies a trade and what it did.
///
/// Two deliveries with equal content are the same fill; the same `fillId` with
/// different content is a conflict.
public struct FillRecord: Sendable, Equatable {
    public var fillId: String
    public var orderId: String
    public var symbol: String
    public var side: Side
    public var qty: ExactDecimal
    public var price: ExactDecimal
    /// Positive is a charge, negative a rebate. Nil only in venue records whose fee
    /// the venue did not report (unknown, never zero).
    public var fee: ExactDecimal?
    public var feeAsset: String?
    public var liquidity: Liquidity
    /// The venue's trade time; present on venue records, absent on the bot's own
    /// fills (whose time is the envelope's `ts_ms`).
    public var tsMs: Int64?

    public init(fillId: String, orderId: String, symbol: String, side: Side, qty: ExactDecimal, price: ExactDecimal,
                fee: ExactDecimal?, feeAsset: String?, liquidity: Liquidity, tsMs: Int64? = nil) {
        self.fillId = fillId
        self.orderId = orderId
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.price = price
        self.fee = fee
        self.feeAsset = feeAsset
        self.liquidity = liquidity
        self.tsMs = tsMs
    }

    /// Equal trade content (the contract's fill identity), ignoring delivery time.
    public func sameContent(as other: FillRecord) -> Bool {
        fillId == other.fillId && orderId == other.orderId && symbol == other.symbol && side == other.side
            && qty == other.qty && price == other.price && fee == other.fee && feeAsset == other.feeAsset
            && liquidity == other.liquidity
    }

    /// `qty × price`.
    public var notional: ExactDecimal { qty * price }
}

public struct Transfer: Sendable, Equatable {
    public var asset: String
    /// Signed: positive credits the account.
    public var amount: ExactDecimal
    public var kind: TransferKind

    public init(asset: String, amount: ExactDecimal, kind: TransferKind) {
        self.asset = asset
        self.amount = amount
        self.kind = kind
    }
}

// MARK: - Remote events

/// What the venue reported at one moment. A present list is complete for its
/// scope (`symbols` when given, else everything); an absent list is unknown.
public struct ExchangeSnapshot: Sendable, Equatable {
    public var positions: [RemotePosition]? {
        get { positionList?.items }
        set { positionList = newValue.map(SnapshotList.init) }
    }
    public var openOrders: [RemoteOrder]? {
        get { openOrderList?.items }
        set { openOrderList = newValue.map(SnapshotList.init) }
    }
    /// The same two lists as held: read from the log, they are decoded at
    /// their first read (see ``SnapshotList``), and the reducer keeps them so.
    public var positionList: SnapshotList<RemotePosition>?
    public var openOrderList: SnapshotList<RemoteOrder>?
    public var balances: [RemoteBalance]?
    public var equity: ExactDecimal?
    public var prices: [MarkPrice]? {
        get { priceList?.items }
        set { priceList = newValue.map(SnapshotList.init) }
    }
    /// The marks as held: read from the log, kept as bytes like the two lists
    /// above. The reducer decodes them only when its marks are read (see
    /// `MarkBook`): decoding a snapshot's 50 marks was a tenth of decoding a log.
    public var priceList: SnapshotList<MarkPrice>?
    /// The symbols the position and order lists cover; nil means all.
    public var symbols: [String]?

    public init(positions: [RemotePosition]? = nil, openOrders: [RemoteOrder]? = nil, balances: [RemoteBalance]? = nil,
                equity: ExactDecimal? = nil, prices: [MarkPrice]? = nil, symbols: [String]? = nil) {
        self.init(positionList: positions.map(SnapshotList.init), openOrderList: openOrders.map(SnapshotList.init),
                  balances: balances, equity: equity, priceList: prices.map(SnapshotList.init), symbols: symbols)
    }

    public init(positionList: SnapshotList<RemotePosition>?, openOrderList: SnapshotList<RemoteOrder>?,
                balances: [RemoteBalance]?, equity: ExactDecimal?, priceList: SnapshotList<MarkPrice>?, symbols: [String]?) {
        self.positionList = positionList
        self.openOrderList = openOrderList
        self.balances = balances
        self.equity = equity
        self.priceList = priceList
        self.symbols = symbols
    }
}

public struct RemotePosition: Sendable, Equatable {
    public var symbol: String
    /// Signed: negative is short.
    public var qty: ExactDecimal
    public var entryPrice: ExactDecimal

    public init(symbol: String, qty: ExactDecimal, entryPrice: ExactDecimal) {
        self.symbol = symbol
        self.qty = qty
        self.entryPrice = entryPrice
    }
}

public struct RemoteOrder: Sendable, Equatable {
    public var orderId: String
    public var symbol: String
    public var side: Side
    public var qty: ExactDecimal
    public var remaining: ExactDecimal
    public var price: ExactDecimal?

    public init(orderId: String, symbol: String, side: Side, qty: ExactDecimal, remaining: ExactDecimal, price: ExactDecimal?) {
        self.orderId = orderId
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.remaining = remaining
        self.price = price
    }

    /// The fields a reconcile compares with the bot's order.
    @inline(__always) var compared: (Side, ExactDecimal, ExactDecimal, ExactDecimal?) { (side, qty, remaining, price) }
}

public struct RemoteBalance: Sendable, Equatable {
    public var asset: String
    public var total: ExactDecimal

    public init(asset: String, total: ExactDecimal) {
        self.asset = asset
        self.total = total
    }
}

public struct MarkPrice: Sendable, Equatable {
    public var symbol: String
    public var mark: ExactDecimal

    public init(symbol: String, mark: ExactDecimal) {
        self.symbol = symbol
        self.mark = mark
    }
}

/// The venue's complete trade history for `[fromMs, toMs]`.
public struct ExchangeFills: Sendable, Equatable {
    public var fromMs: Int64
    public var toMs: Int64
    public var fills: [FillRecord]

    public init(fromMs: Int64, toMs: Int64, fills: [FillRecord]) {
        self.fromMs = fromMs
        self.toMs = toMs
        self.fills = fills
    }
}

/// The positions the venue closed in `[fromMs, toMs]` (round trips).
public struct ExchangePositionHistory: Sendable, Equatable {
    public var fromMs: Int64
    public var toMs: Int64
    public var positions: [ClosedPositionRecord]

    public init(fromMs: Int64, toMs: Int64, positions: [ClosedPositionRecord]) {
        self.fromMs = fromMs
        self.toMs = toMs
        self.positions = positions
    }
}

public struct ClosedPositionRecord: Sendable, Equatable {
    public var positionId: String
    public var symbol: String
    public var side: PositionSide
    public var qty: ExactDecimal
    public var entryPrice: ExactDecimal
    public var entryTsMs: Int64
    public var closePrice: ExactDecimal
    public var closeTsMs: Int64
    public var realizedPnl: ExactDecimal
    public var commission: ExactDecimal
    public var netPnl: ExactDecimal

    public init(positionId: String, symbol: String, side: PositionSide, qty: ExactDecimal, entryPrice: ExactDecimal,
                entryTsMs: Int64, closePrice: ExactDecimal, closeTsMs: Int64, realizedPnl: ExactDecimal,
                commission: ExactDecimal, netPnl: ExactDecimal) {
        self.positionId = positionId
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.entryPrice = entryPrice
        self.entryTsMs = entryTsMs
        self.closePrice = closePrice
        self.closeTsMs = closeTsMs
        self.realizedPnl = realizedPnl
        self.commission = commission
        self.netPnl = netPnl
    }
}

// MARK: - Control events

public struct ReconRequested: Sendable, Equatable {
    public var requestedBy: String
    public init(requestedBy: String) { self.requestedBy = requestedBy }
}

/// An operator-approved answer to a discrepancy, applied like a local event.
public struct Correction: Sendable, Equatable {
    /// The discrepancy key it answers.
    public var key: String
    public var sourceRunId: String
    public var approvedBy: String
    public var effect: CorrectionEffect

    public init(key: String, sourceRunId: String, approvedBy: String, effect: CorrectionEffect) {
        self.key = key
        self.sourceRunId = sourceRunId
        self.approvedBy = approvedBy
        self.effect = effect
    }
}

public enum CorrectionEffect: Sendable, Equatable {
    /// Adopt a fill record (e.g. the venue's record of a fill the bot missed).
    case fill(FillRecord)
    case positionAdjustment(symbol: String, qtyDelta: ExactDecimal, price: ExactDecimal)
    case balanceAdjustment(asset: String, amount: ExactDecimal)
}
