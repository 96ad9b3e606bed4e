/// What the bot believes about one account: orders, positions, balances, fills,
/// fee totals, closed round trips, and the integrity findings met while folding.
///
/// Every value remembers the `seq` of the event that last changed it.
public struct LocalProjection: Sendable, Equatable {
    public var instruments: [String: InstrumentState] = [:]
    public var openOrders: [IDKey: LocalOrder] = [:]
    /// Orders no longer open (filled, canceled, rejected): enough to judge late
    /// fills. Bounded (see `ClosedOrders`); a fill for an order no longer
    /// remembered reads as `fill_unknown_order`.
    public var closedOrders = ClosedOrders()
    public var positions: [IDKey: LocalPosition] = [:]
    public var balances: [IDKey: LocalBalance] = [:]
    /// Fills not yet confirmed by the venue's history, by `fill_id`, in full.
    /// The first delivery stays in force.
    public var fills: [IDKey: LocalFill] = [:]
    /// Fills the venue confirmed, kept as digests: enough to recognise a
    /// redelivery, small enough that checkpoints stay small on long histories.
    public var settledFills = SettledFills()
    /// Fee aggregates by symbol and liquidity (expected fees are linear in notional).
    public var fees: [FeeKey: FeeAggregate] = [:]
    public var findings: [IntegrityFinding] = []
    /// Round trips, in closing order. Only ever appended to, so checkpoint groups
    /// store those closed since the group before (`CheckpointStore`).
    public var closedPositions: [ClosedPosition] = []
    /// Decoded from a checkpoint that keeps the closed positions apart, and not
    /// attached yet: how many there were (nil: they are here).
    public internal(set) var closedPositionsStoredApart: Int?
    /// Filled quantity of fills that arrived before their order, by order id: a
    /// bot's fill stream can overtake its order acknowledgements. When the order
    /// arrives it starts with this much filled, and its `fill_unknown_order`
    /// findings go.
    public var earlyFills: [IDKey: ExactDecimal] = [:]
    /// Identical redeliveries ignored so far.
    public var duplicateFillsIgnored = 0
    /// The largest `ts_ms` of any local event folded (for time alignment and staleness).
    public var maxTsMs: Int64 = .min
    public var lastSeq: UInt64 = 0

    public init() {}
}

public struct InstrumentState: Sendable, Equatable {
    public var instrument: Instrument
    public var seq: UInt64
}

public enum OrderStatus: String, Sendable, Equatable {
    case open, partiallyFilled = "partially_filled", filled, canceled, rejected
}

public struct LocalOrder: Sendable, Equatable {
    public var orderId: String
    public var symbol: String
    public var side: Side
    public var qty: ExactDecimal
    public var price: ExactDecimal?
    public var orderType: OrderType
    public var postOnly: Bool
    public var reduceOnly: Bool
    public var filled: ExactDecimal = .zero
    public var submittedSeq: UInt64
    public var submittedTsMs: Int64
    public var lastSeq: UInt64

    public var remaining: ExactDecimal { qty - filled }
    public var status: OrderStatus { filled.isZero ? .open : .partiallyFilled }

    /// The fields a reconcile reads for every open order.
    @inline(__always) var compared: (String, Int64, Side, ExactDecimal, ExactDecimal, ExactDecimal?) {
        (symbol, submittedTsMs, side, qty, filled, price)
    }
}

public struct ClosedOrder: Sendable, Equatable {
    public var status: OrderStatus
    public var symbol: String
    public var qty: ExactDecimal
    public var filled: ExactDecimal
    public var closedSeq: UInt64
    /// The bot's time of the closing event.
    public var closedTsMs: Int64

    /// Closed before the bot's `order_submitted` arrived (symbol and size still unknown).
    public var arrivedBeforeItsOrder: Bool { symbol.isEmpty && qty.isZero }
}

public struct LocalPosition: Sendable, Equatable {
    public var symbol: String
    public var position = PerpPosition()
    /// Where realized PnL is booked.
    public var settlementAsset: String
    /// Cumulative realized PnL over the position's life.
    public var realizedPnl: ExactDecimal = .zero
    public var firstSeq: UInt64
    public var lastSeq: UInt64
    public var fillCount = 0
    /// Built (in part) by a correction rather than by fills.
    public var synthetic = false
    /// The round trip in progress: when it opened, its side, fees and PnL so far.
    public var tripEntryTsMs: Int64?
    public var tripOpenSeq: UInt64 = 0
    public var tripFees: ExactDecimal = .zero
    public var tripRealized: ExactDecimal = .zero
    public var tripEntryPrice: ExactDecimal = .zero
    public var tripMaxQty: ExactDecimal = .zero
    public var tripExitNotional: ExactDecimal = .zero
    public var tripExitQty: ExactDecimal = .zero
}

public struct LocalBalance: Sendable, Equatable {
    public var amount: ExactDecimal = .zero
    public var lastSeq: UInt64
    public var synthetic = false

    mutating func credit(_ delta: ExactDecimal, seq: UInt64, synthetic byCorrection: Bool) {
        amount += delta
        lastSeq = seq
        synthetic = synthetic || byCorrection
    }
}

public struct LocalFill: Sendable, Equatable {
    public var record: FillRecord
    public var seq: UInt64
    /// The bot's time of the fill (its envelope's `ts_ms`, or the record's for corrections).
    public var tsMs: Int64
    public var synthetic: Bool
    /// `record.contentHashes` when known already (worked out by the decoding
    /// thread, or read from a checkpoint); nil: worked out when needed (the fill
    /// settles, or a checkpoint stores it). Not worked out at once: the
    /// reconciler's time-aligned views fold every fill and never settle one.
    private var knownContentHashes: FillContentHashes?

    /// `contentHashes` are the record's, when the caller has them already.
    public init(record: FillRecord, seq: UInt64, tsMs: Int64, synthetic: Bool, contentHashes: FillContentHashes? = nil) {
        self.record = record
        self.seq = seq
        self.tsMs = tsMs
        self.synthetic = synthetic
        knownContentHashes = contentHashes
    }

    /// The record's content hashes (what a `FillDigest` keeps of it).
    public var contentHashes: FillContentHashes { knownContentHashes ?? record.contentHashes }

    /// Equal fills have equal hashes whether worked out ahead or not; a stored
    /// one that differs from its record's makes them unequal.
    public static func == (a: LocalFill, b: LocalFill) -> Bool {
        a.record == b.record && a.seq == b.seq && a.tsMs == b.tsMs && a.synthetic == b.synthetic && a.contentHashes == b.contentHashes
    }
}

/// What remains of a confirmed fill: its content hashes, seq and time.
///
/// 32 bytes: `synthetic` is kept in the top bit of the seq's word (a seq never
/// reaches 2^63), as checkpoints store it. A separate flag padded the digest to
/// 40 bytes and each settled fill to 56, and settled fills are most of what a
/// long replay allocates and an as-of read merges.
public struct FillDigest: Sendable, Equatable {
    /// FNV-1a of the fill's content (without delivery time).
    public var contentHash: UInt64
    /// The same without `fee` and `fee_asset`, for venue records with an unknown fee.
    public var contentHashWithoutFee: UInt64
    /// The seq, with `synthetic` in its top bit.
    var seqAndSynthetic: UInt64
    public var tsMs: Int64

    static let syntheticBit: UInt64 = 1 << 63

    public var seq: UInt64 {
        get { seqAndSynthetic & ~Self.syntheticBit }
        set {
            precondition(newValue < Self.syntheticBit, "a seq beyond 2^63")
            seqAndSynthetic = newValue | (seqAndSynthetic & Self.syntheticBit)
        }
    }

    public var synthetic: Bool {
        get { seqAndSynthetic & Self.syntheticBit != 0 }
        set { seqAndSynthetic = seq | (newValue ? Self.syntheticBit : 0) }
    }

    public init(contentHash: UInt64, contentHashWithoutFee: UInt64, seq: UInt64, tsMs: Int64, synthetic: Bool) {
        precondition(seq < Self.syntheticBit, "a seq beyond 2^63")
        self.contentHash = contentHash
        self.contentHashWithoutFee = contentHashWithoutFee
        seqAndSynthetic = seq | (synthetic ? Self.syntheticBit : 0)
        self.tsMs = tsMs
    }

    /// As checkpoints store it (`SettledFills.storedEntry`): the seq's word with
    /// the flag in its top bit. Any word is a valid digest.
    init(contentHash: UInt64, contentHashWithoutFee: UInt64, seqAndSynthetic: UInt64, tsMs: Int64) {
        self.contentHash = contentHash
        self.contentHashWithoutFee = contentHashWithoutFee
        self.seqAndSynthetic = seqAndSynthetic
        self.tsMs = tsMs
    }

    public init(_ fill: LocalFill) {
        let (withFee, withoutFee) = fill.contentHashes
        self.init(contentHash: withFee, contentHashWithoutFee: withoutFee, seq: fill.seq, tsMs: fill.tsMs, synthetic: fill.synthetic)
    }
}

/// A fill's two content hashes (see `FillRecord.contentHashes`).
public typealias FillContentHashes = (includingFee: UInt64, withoutFee: UInt64)

extension FillRecord {
    /// A hash of the trade content (not the delivery time): FNV-1a of the fill's
    /// stored form with no `ts_ms`, and with no fee either unless `includingFee`.
    /// Checkpoints keep these values, so the bytes hashed must not change.
    /// Only redeliveries of settled fills ask for one; settling asks for both.
    public func contentHash(includingFee: Bool) -> UInt64 {
        includingFee ? contentHashes.includingFee : contentHashes.withoutFee
    }

    /// Both content hashes from one encoding: FNV-1a runs byte by byte, so the
    /// hash of the shared trade fields seeds the hash of each ending.
    public var contentHashes: FillContentHashes {
        withUnsafeTemporaryAllocation(byteCount: 192, alignment: 8) { contentHashes(writingInto: $0) }
    }

    private func contentHashes(writingInto memory: UnsafeMutableRawBufferPointer) -> FillContentHashes {
        var w = ByteWriter(into: memory)
        w.fillTrade(self)
        let tradeBytes = w.count
        w.fillCharges(fee: fee, feeAsset: feeAsset, liquidity: liquidity, tsMs: nil)
        let chargesBytes = w.count
        w.fillCharges(fee: nil, feeAsset: nil, liquidity: liquidity, tsMs: nil)
        return w.withUnsafeBytes { bytes in
            let trade = FNV1a64.hash(UnsafeRawBufferPointer(rebasing: bytes[..<tradeBytes]))
            return (FNV1a64.hash(UnsafeRawBufferPointer(rebasing: bytes[tradeBytes..<chargesBytes]), seed: trade),
                    FNV1a64.hash(UnsafeRawBufferPointer(rebasing: bytes[chargesBytes...]), seed: trade))
        }
    }
}

public struct FeeKey: Sendable, Hashable, Comparable {
    public var symbol: String
    public var liquidity: Liquidity

    public static func < (a: FeeKey, b: FeeKey) -> Bool {
        (a.symbol, a.liquidity.rawValue) < (b.symbol, b.liquidity.rawValue)
    }

    // Symbols compared and hashed as `IDKey`s: every fill updates an aggregate.
    public static func == (a: FeeKey, b: FeeKey) -> Bool {
        a.liquidity == b.liquidity && IDKey(a.symbol) == IDKey(b.symbol)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(IDKey(symbol))
        hasher.combine(liquidity)
    }

    public func _rawHashValue(seed: Int) -> Int {
        IDKey(symbol)._rawHashValue(seed: seed ^ (liquidity == .maker ? 0 : 0x5BD1_E995))
    }
}

public struct FeeAggregate: Sendable, Equatable {
    public var count = 0
    public var notional: ExactDecimal = .zero
    /// Σ fee in the quote asset (net: charges positive, rebates negative). A fee
    /// in the base asset is valued at its fill's price, which is exact.
    public var feeSum: ExactDecimal = .zero
    /// Notional of the fills whose fee is in `feeSum` (the schedule's base).
    public var feeNotional: ExactDecimal = .zero
    /// Σ of positive fees and of |negative fees|.
    public var charged: ExactDecimal = .zero
    public var rebated: ExactDecimal = .zero
    /// Fills whose fee was paid in a third asset (neither quote nor base) are kept
    /// out of `feeSum`, having no price here, and counted here.
    public var otherAssetFees = 0
    public var firstSeq: UInt64 = 0
    public var lastSeq: UInt64 = 0
    public var firstFillId = ""

    /// A fill's fee as the aggregate counts it.
    enum FillFee {
        case unknown
        /// In the quote (settlement) asset, or a base-asset fee valued at the fill's price.
        case inQuote(ExactDecimal)
        /// In a third asset, which has no price here.
        case inOtherAsset
    }

    /// Counts one fill.
    mutating func add(notional fillNotional: ExactDecimal, fee: FillFee, seq: UInt64) {
        count += 1
        notional += fillNotional
        switch fee {
        case .inQuote(let fee):
            feeSum += fee
            feeNotional += fillNotional
            if fee.isPositive { charged += fee } else { rebated -= fee }
        case .inOtherAsset:
            otherAssetFees += 1
        case .unknown:
            break
        }
        lastSeq = seq
    }
}

/// A fact about the local log itself, found while folding (not a diff with the venue).
public struct IntegrityFinding: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case fillOverfill = "fill_overfill"
        case fillUnknownOrder = "fill_unknown_order"
        case fillDuplicateConflict = "fill_duplicate_conflict"
        case fillAfterCancel = "fill_after_cancel"
    }

    public var kind: Kind
    public var seq: UInt64
    public var fillId: String
    public var orderId: String
    public var symbol: String
    /// The first known value and the new one, for a conflict; the order's size and
    /// fills for an overfill.
    public var local: String
    public var other: String
    /// For a conflict: the seq of the first delivery, which stays in force.
    public var firstSeq: UInt64
}

/// A round trip: from leaving flat to returning to flat (or flipping).
public struct ClosedPosition: Sendable, Equatable {
    public var symbol: String
    public var side: PositionSide
    /// The largest size the position reached.
    public var qty: ExactDecimal
    public var entryTsMs: Int64
    public var entryPrice: ExactDecimal
    public var closePrice: ExactDecimal
    public var closeTsMs: Int64
    public var realizedPnl: ExactDecimal
    public var commission: ExactDecimal
    public var netPnl: ExactDecimal
    public var openSeq: UInt64
    public var closeSeq: UInt64
    public var synthetic: Bool

    public init(symbol: String, side: PositionSide, qty: ExactDecimal, entryTsMs: Int64, entryPrice: ExactDecimal, closePrice: ExactDecimal,
                closeTsMs: Int64, realizedPnl: ExactDecimal, commission: ExactDecimal, netPnl: ExactDecimal, openSeq: UInt64, closeSeq: UInt64,
                synthetic: Bool) {
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.entryTsMs = entryTsMs
        self.entryPrice = entryPrice
        self.closePrice = closePrice
        self.closeTsMs = closeTsMs
        self.realizedPnl = realizedPnl
        self.commission = commission
        self.netPnl = netPnl
        self.openSeq = openSeq
        self.closeSeq = closeSeq
        self.synthetic = synthetic
    }
}

// MARK: - Folding

extension LocalProjection {
    /// Folds one local or control event. Remote events are not this reducer's.
    /// `facts` are the event's, when worked out ahead (see `EventFacts`).
    public mutating func apply(_ event: Event, seq: UInt64, facts: EventFacts = EventFacts()) {
        lastSeq = seq
        maxTsMs = max(maxTsMs, event.tsMs)
        switch event.body {
        case .instrument(let x):
            instruments[x.symbol] = InstrumentState(instrument: x, seq: seq)
        case .orderSubmitted(let x):
            if let closed = closedOrders[x.orderId] {
                // A repeat of a closed order changes nothing, unless its cancel or
                // reject overtook it: then the order arrives closed.
                guard closed.arrivedBeforeItsOrder else { return }
                let early = earlyFills.removeValueIfAny(forKey: x.orderId)
                closedOrders.update(x.orderId) { closed in
                    closed.symbol = x.symbol
                    closed.qty = x.qty
                    closed.filled += early ?? 0
                }
                findings.removeAll { $0.kind == .fillUnknownOrder && $0.orderId == x.orderId }
                return
            }
            guard openOrders.index(forKey: x.orderId) == nil else { return }
            var order = LocalOrder(
                orderId: x.orderId, symbol: x.symbol, side: x.side, qty: x.qty, price: x.price, orderType: x.orderType,
                postOnly: x.postOnly, reduceOnly: x.reduceOnly, submittedSeq: seq, submittedTsMs: event.tsMs, lastSeq: seq)
            if let early = earlyFills.removeValueIfAny(forKey: x.orderId) {
                order.filled = early
                findings.removeAll { $0.kind == .fillUnknownOrder && $0.orderId == x.orderId }
            }
            if order.filled >= order.qty {
                closedOrders.insert(x.orderId, ClosedOrder(status: .filled, symbol: order.symbol, qty: order.qty, filled: order.filled,
                                                           closedSeq: seq, closedTsMs: event.tsMs))
            } else {
                openOrders[x.orderId] = order
            }
        case .orderCanceled(let x):
            close(x.orderId, as: .canceled, seq: seq, tsMs: event.tsMs)
        case .orderRejected(let x):
            close(x.orderId, as: .rejected, seq: seq, tsMs: event.tsMs)
        case .fill(let x):
            applyFill(x, seq: seq, tsMs: event.tsMs, synthetic: false, contentHashes: facts.fillContentHashes)
        case .transfer(let x):
            credit(x.asset, x.amount, seq: seq, synthetic: false)
        case .correction(let x):
            switch x.effect {
            case .fill(let record):
                applyFill(record, seq: seq, tsMs: record.tsMs ?? event.tsMs, synthetic: true)
            case .positionAdjustment(let symbol, let qtyDelta, let price):
                adjustPosition(symbol, by: qtyDelta, price: price, seq: seq, tsMs: event.tsMs)
            case .balanceAdjustment(let asset, let amount):
                credit(asset, amount, seq: seq, synthetic: true)
            }
        case .reconRequested, .exchangeSnapshot, .exchangeFills, .exchangePositionHistory:
            break
        }
    }

    private mutating func close(_ orderId: String, as status: OrderStatus, seq: UInt64, tsMs: Int64) {
        guard let order = openOrders.removeValue(forKey: orderId) else {
            // A cancel or reject that overtook its order: kept (bounded with the
            // closed orders) so the order, when it comes, arrives closed.
            if closedOrders[orderId] == nil {
                closedOrders.insert(orderId, ClosedOrder(status: status, symbol: "", qty: 0, filled: 0, closedSeq: seq, closedTsMs: tsMs))
            }
            return
        }
        closedOrders.insert(orderId, ClosedOrder(status: status, symbol: order.symbol, qty: order.qty, filled: order.filled, closedSeq: seq, closedTsMs: tsMs))
    }

    private mutating func credit(_ asset: String, _ amount: ExactDecimal, seq: UInt64, synthetic: Bool) {
        // Changed in place: one lookup, where a copy out and back took two.
        balances[asset, default: LocalBalance(lastSeq: seq)].credit(amount, seq: seq, synthetic: synthetic)
    }

    /// The kind of a symbol: declared, or a linear perp settled in the fee asset.
    public func settlement(of symbol: String, feeAsset: String?) -> (spot: Bool, base: String?, settlement: String) {
        if let declared = instruments.valueIfAny(forKey: symbol)?.instrument {
            return (declared.kind == .spot, declared.base, declared.quote)
        }
        return (false, nil, feeAsset ?? "USDT")
    }

    mutating func applyFill(_ x: FillRecord, seq: UInt64, tsMs: Int64, synthetic: Bool, contentHashes: FillContentHashes? = nil) {
        if let first = fills[x.fillId] {
            if first.record.sameContent(as: x) {
                duplicateFillsIgnored += 1
            } else {
                findings.append(IntegrityFinding(kind: .fillDuplicateConflict, seq: seq, fillId: x.fillId, orderId: x.orderId,
                                                 symbol: x.symbol, local: first.record.summary, other: x.summary, firstSeq: first.seq))
            }
            return
        }
        let settledKey = SettledFills.Key(x.fillId)
        if let first = settledFills[settledKey] {
            if first.contentHash == x.contentHash(includingFee: true) {
                duplicateFillsIgnored += 1
            } else {
                findings.append(IntegrityFinding(kind: .fillDuplicateConflict, seq: seq, fillId: x.fillId, orderId: x.orderId,
                                                 symbol: x.symbol, local: "the fill at seq \(first.seq)", other: x.summary, firstSeq: first.seq))
            }
            return
        }
        settledFills.prefetchSlot(of: settledKey)
        // Built whole, then its record's time cleared: changing a copy of the
        // record first and building from that copied the record three times
        // (169 bytes each), this twice.
        var fill = LocalFill(record: x, seq: seq, tsMs: tsMs, synthetic: synthetic, contentHashes: contentHashes)
        fill.record.tsMs = nil
        fills[x.fillId] = fill

        // The order's lifecycle.
        if let index = openOrders.index(forKey: x.orderId) {
            // Changed and read in place; moved out only when filled: a copy of the
            // order retained and released its strings.
            let (qty, filled, submittedSeq) = Self.addFill(x.qty, seq: seq, to: &openOrders.values[index])
            if filled > qty {
                findings.append(IntegrityFinding(kind: .fillOverfill, seq: seq, fillId: x.fillId, orderId: x.orderId, symbol: x.symbol,
                                                 local: "\(qty)", other: "\(filled)", firstSeq: submittedSeq))
            }
            if filled >= qty {
                let order = openOrders.remove(at: index).value
                closedOrders.insert(x.orderId, ClosedOrder(status: .filled, symbol: order.symbol, qty: qty, filled: filled, closedSeq: seq, closedTsMs: tsMs))
            }
        } else if var closed = closedOrders[x.orderId] {
            closed.filled += x.qty
            switch closed.status {
            case .canceled, .rejected:
                findings.append(IntegrityFinding(kind: .fillAfterCancel, seq: seq, fillId: x.fillId, orderId: x.orderId, symbol: x.symbol,
                                                 local: closed.status.rawValue, other: "\(x.qty)", firstSeq: closed.closedSeq))
            default:
                findings.append(IntegrityFinding(kind: .fillOverfill, seq: seq, fillId: x.fillId, orderId: x.orderId, symbol: x.symbol,
                                                 local: "\(closed.qty)", other: "\(closed.filled)", firstSeq: closed.closedSeq))
            }
            closedOrders.update(x.orderId) { $0 = closed }
        } else if !synthetic {
            findings.append(IntegrityFinding(kind: .fillUnknownOrder, seq: seq, fillId: x.fillId, orderId: x.orderId, symbol: x.symbol,
                                             local: "", other: "\(x.qty)", firstSeq: seq))
            earlyFills[x.orderId, default: 0] += x.qty
        }

        // Money: spot moves balances; perps move a position and book PnL.
        let kind = settlement(of: x.symbol, feeAsset: x.feeAsset)
        if kind.spot, let base = kind.base {
            let notional = x.qty * x.price
            credit(base, x.side == .buy ? x.qty : -x.qty, seq: seq, synthetic: synthetic)
            credit(kind.settlement, x.side == .buy ? -notional : notional, seq: seq, synthetic: synthetic)
        } else {
            let index = positionIndex(x.symbol, settlementAsset: kind.settlement, seq: seq)
            let change = trade(at: index, side: x.side, qty: x.qty, price: x.price, fee: x.fee ?? .zero, seq: seq, tsMs: tsMs, synthetic: synthetic)
            if !change.realizedPnl.isZero {
                credit(positions.values[index].settlementAsset, change.realizedPnl, seq: seq, synthetic: synthetic)
            }
        }
        if let fee = x.fee, let asset = x.feeAsset, !fee.isZero {
            credit(asset, -fee, seq: seq, synthetic: synthetic)
        }

        // Fee aggregates (a fee in another asset than the settlement one is counted apart).
        let fee: FeeAggregate.FillFee
        if let paid = x.fee {
            if x.feeAsset == nil || x.feeAsset == kind.settlement {
                fee = .inQuote(paid)
            } else if kind.base != nil && x.feeAsset == kind.base {
                fee = .inQuote(paid * x.price)
            } else {
                fee = .inOtherAsset
            }
        } else {
            fee = .unknown
        }
        fees[FeeKey(symbol: x.symbol, liquidity: x.liquidity), default: FeeAggregate(firstSeq: seq, firstFillId: x.fillId)]
            .add(notional: x.qty * x.price, fee: fee, seq: seq)
    }

    /// Adds a fill's quantity to an open order; its size, filled quantity and
    /// submission seq after.
    private static func addFill(_ qty: ExactDecimal, seq: UInt64, to order: inout LocalOrder) -> (ExactDecimal, ExactDecimal, UInt64) {
        order.filled += qty
        order.lastSeq = seq
        return (order.qty, order.filled, order.submittedSeq)
    }

    /// Where `symbol`'s position is in `positions`, made flat if it has none.
    private mutating func positionIndex(_ symbol: String, settlementAsset: String, seq: UInt64) -> [IDKey: LocalPosition].Index {
        if let index = positions.index(forKey: symbol) { return index }
        positions[symbol] = LocalPosition(symbol: symbol, settlementAsset: settlementAsset, firstSeq: seq, lastSeq: seq)
        return positions.index(forKey: symbol)!
    }

    /// Moves the position at `index` in place (a fill's common case costs no
    /// lookup by symbol) and books the round trip it closes.
    private mutating func trade(at index: [IDKey: LocalPosition].Index, side: Side, qty: ExactDecimal, price: ExactDecimal,
                                fee: ExactDecimal, seq: UInt64, tsMs: Int64, synthetic: Bool) -> PerpPosition.Change {
        let (change, closed) = Self.trade(&positions.values[index], side: side, qty: qty, price: price, fee: fee,
                                          seq: seq, tsMs: tsMs, synthetic: synthetic)
        if let closed { closedPositions.append(closed) }
        return change
    }

    /// Moves a position and keeps its round trip; returns what the fill did and
    /// the round trip it closed, if any.
    private static func trade(_ p: inout LocalPosition, side: Side, qty: ExactDecimal, price: ExactDecimal, fee: ExactDecimal,
                              seq: UInt64, tsMs: Int64, synthetic: Bool) -> (PerpPosition.Change, ClosedPosition?) {
        let wasFlat = p.position.isFlat
        let before = p.position.qty
        let change = p.position.apply(side: side, qty: qty, price: price)
        p.lastSeq = seq
        p.fillCount += 1
        p.synthetic = p.synthetic || synthetic
        p.realizedPnl += change.realizedPnl
        if wasFlat {
            startTrip(&p, seq: seq, tsMs: tsMs, price: price)
        }
        // Fees of the fill belong to the trip it closes, or to the one it opens.
        p.tripFees += change.flipped && !change.closedQty.isZero
            ? (fee * change.closedQty).divided(by: qty, scale: PerpPosition.costScale)
            : fee
        p.tripRealized += change.realizedPnl
        if !change.closedQty.isZero {
            p.tripExitNotional += change.closedQty * price
            p.tripExitQty += change.closedQty
        }
        var closedTrip: ClosedPosition?
        if change.closed {
            closedTrip = ClosedPosition(
                symbol: p.symbol, side: before.isPositive ? .long : .short, qty: p.tripMaxQty,
                entryTsMs: p.tripEntryTsMs ?? tsMs, entryPrice: p.tripEntryPrice,
                closePrice: p.tripExitQty.isZero ? price : p.tripExitNotional.divided(by: p.tripExitQty, scale: PerpPosition.entryPriceScale),
                closeTsMs: tsMs, realizedPnl: p.tripRealized, commission: p.tripFees, netPnl: p.tripRealized - p.tripFees,
                openSeq: p.tripOpenSeq, closeSeq: seq, synthetic: p.synthetic)
            p.tripEntryTsMs = nil
            if change.flipped {
                startTrip(&p, seq: seq, tsMs: tsMs, price: price)
                p.tripFees = fee - (fee * change.closedQty).divided(by: qty, scale: PerpPosition.costScale)
            }
        }
        if !p.position.isFlat {
            p.tripMaxQty = max(p.tripMaxQty, p.position.qty.magnitude)
            if p.tripEntryTsMs != nil && change.closedQty.isZero { p.tripEntryPrice = p.position.entryPrice }
        }
        return (change, closedTrip)
    }

    private static func startTrip(_ p: inout LocalPosition, seq: UInt64, tsMs: Int64, price: ExactDecimal) {
        p.tripEntryTsMs = tsMs
        p.tripOpenSeq = seq
        p.tripFees = .zero
        p.tripRealized = .zero
        p.tripEntryPrice = price
        p.tripMaxQty = .zero
        p.tripExitNotional = .zero
        p.tripExitQty = .zero
    }

    private mutating func adjustPosition(_ symbol: String, by delta: ExactDecimal, price: ExactDecimal, seq: UInt64, tsMs: Int64) {
        guard !delta.isZero else { return }
        let kind = settlement(of: symbol, feeAsset: nil)
        let index = positionIndex(symbol, settlementAsset: kind.settlement, seq: seq)
        let change = trade(at: index, side: delta.isPositive ? .buy : .sell, qty: delta.magnitude, price: price, fee: .zero,
                           seq: seq, tsMs: tsMs, synthetic: true)
        if !change.realizedPnl.isZero {
            credit(positions.values[index].settlementAsset, change.realizedPnl, seq: seq, synthetic: true)
        }
    }

    /// Checks the projection's internal consistency; tests and debug builds call it.
    public func checkInvariants() -> [String] {
        var problems: [String] = []
        for (id, order) in openOrders {
            if closedOrders[id.string] != nil { problems.append("order \(id) is both open and closed") }
            if order.filled >= order.qty { problems.append("open order \(id) is filled") }
            if order.lastSeq > lastSeq { problems.append("order \(id) changed after the last seq") }
        }
        for (symbol, p) in positions {
            if p.position.qty.isZero && !p.position.cost.isZero { problems.append("flat position \(symbol) has a cost basis") }
            if p.position.cost.isNegative { problems.append("position \(symbol) has a negative cost basis") }
            if p.lastSeq > lastSeq { problems.append("position \(symbol) changed after the last seq") }
        }
        for (asset, b) in balances where b.lastSeq > lastSeq {
            problems.append("balance \(asset) changed after the last seq")
        }
        return problems
    }
}

extension FillRecord {
    /// Compact human text, for findings and reports.
    public var summary: String {
        "\(side.rawValue) \(qty) \(symbol) @ \(price) fee \(fee.map { "\($0)" } ?? "unknown") \(feeAsset ?? "") \(liquidity.rawValue) order \(orderId)"
    }
}
