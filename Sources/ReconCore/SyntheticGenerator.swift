/// Faults the generator can inject, each modelled on a real incident.
public enum FaultKind: String, Sendable, CaseIterable {
    /// The venue fills an order; the bot never hears of it.
    case missedFill = "missed_fill"
    /// A fill is delivered again under a new envelope with a changed price.
    case duplicateFill = "duplicate_fill"
    /// The bot submits an order the venue never receives (outage).
    case lostOrder = "lost_order"
    /// Someone trades by hand on the venue, outside the bot.
    case manualTrade = "manual_trade"
    /// The venue starts charging VIP0 while the schedule says otherwise.
    case feeTierMismatch = "fee_tier_mismatch"
    /// A fill after the snapshot's time is logged before the snapshot: not a fault
    /// of the bot, and a correct engine reports nothing for it.
    case snapshotRace = "snapshot_race"
    /// The venue books a funding payment the bot never records.
    case balanceDrift = "balance_drift"
}

/// A requested fault: its kind and, optionally, the event index to inject at.
public struct FaultRequest: Sendable, Equatable {
    public var kind: FaultKind
    public var atEvent: Int?

    public init(kind: FaultKind, atEvent: Int? = nil) {
        self.kind = kind
        self.atEvent = atEvent
    }

    /// Parses `missed_fill` or `missed_fill@4000`.
    public init?(parsing text: Substring) {
        let parts = text.split(separator: "@", maxSplits: 1)
        guard let kind = FaultKind(rawValue: String(parts[0])) else { return nil }
        self.kind = kind
        if parts.count == 2 {
            guard let at = Int(parts[1]), at >= 1 else { return nil }
            atEvent = at
        }
    }
}

/// Where a fault went in, so tests and operators can find it again.
public struct InjectedFault: Sendable, Equatable {
    public var kind: FaultKind
    public var account: String
    /// The seq (in a fresh log) of the event the fault is in or first affects.
    public var seq: UInt64
    /// The first remote event after it for that account (where a run can see it).
    public var revealedAtSeq: UInt64?
    /// The fill id, order id or asset it concerns.
    public var subject: String
    public var symbol: String?
    public var note: String
}

/// Options of a generated session.
public struct GeneratorOptions: Sendable {
    public var events = 10_000
    public var seed: UInt64 = 1
    public var accounts = 1
    public var symbols = 10
    public var faults: [FaultRequest] = []
    public var startMs: Int64 = 1_763_000_000_000
    public var venue = "simex"
    /// The tier the bot believes in and the venue charges (until a
    /// fee_tier_mismatch fault makes the venue charge VIP0).
    public var feeTier = FeeRates.vip2
    /// Percent of steps that emit an exchange snapshot / a trade-history window.
    public var snapshotPercent = 7
    public var fillsWindowPercent = 3

    public init() {}

    /// Account names: `acct1`, `acct2`, …
    public var accountNames: [String] { (1...max(accounts, 1)).map { "acct\($0)" } }
}

/// A deterministic market-making session: a simulated venue holds the truth, the
/// bot's events describe what it believed, and the venue's snapshots and trade
/// history describe what really happened. Without faults the two agree exactly.
///
/// The venue's position arithmetic is ``PerpPosition``, the same the reducer
/// uses, so that agreement is exact rather than approximate.
public final class SyntheticGenerator: IteratorProtocol {
    public let options: GeneratorOptions
    public private(set) var faults: [InjectedFault] = []
    /// Events emitted so far (= the seq of the last one in a fresh log).
    public private(set) var emitted = 0

    private var rng: SeededRandom
    private var now: Int64
    private var mids: [ExactDecimal]
    private var accounts: [AccountSim]
    private var queue: [Event] = []
    private var schedule: [(request: FaultRequest, at: Int, account: Int)]
    private var nextScheduled = 0
    /// A market maker quotes a bounded book: past two orders a symbol it cancels
    /// rather than adds, so snapshots stay the size real ones are.
    private var maxOpenOrders: Int { max(10, 2 * options.symbols) }
    private let tick: ExactDecimal = "0.01"
    private let lot: ExactDecimal = "0.001"

    private struct VenueOrder {
        var orderId: String
        var symbol: Int
        var side: Side
        var qty: ExactDecimal
        var remaining: ExactDecimal
        var price: ExactDecimal
    }

    private struct AccountSim {
        var name: String
        var venueOrders: [VenueOrder] = []
        /// Orders the bot believes open but must not act on (lost, or filled unseen).
        var ghostOrders: [String] = []
        var positions: [Int: PerpPosition] = [:]
        var usdt: ExactDecimal = 100_000
        var trades: [FillRecord] = []
        var windowStartMs: Int64
        var orderCounter = 0
        var fillCounter = 0
        var eventCounter = 0
        var lastFill: FillRecord?
        /// What the venue charges; the bot always computes its fee at `feeTier`.
        var charged: FeeRates
        /// Faults waiting for the remote event that shows them (window-only ones
        /// show only in trade history, e.g. a fee the venue charged differently).
        var pendingReveal: [(fault: Int, windowOnly: Bool)] = []
        var pendingFeeFault: Int?
    }

    public init(options: GeneratorOptions) {
        self.options = options
        rng = SeededRandom(seed: options.seed)
        now = options.startMs
        mids = (0..<max(options.symbols, 1)).map { k in ExactDecimal(100 + 37 * k) }
        accounts = options.accountNames.map {
            AccountSim(name: $0, windowStartMs: options.startMs, charged: options.feeTier)
        }
        // Unplaced faults spread over the first 60% of the session, so later
        // snapshots see them persist.
        let count = options.faults.count
        schedule = options.faults.enumerated().map { index, request in
            let at = request.atEvent ?? max(2 * options.accounts + 1, options.events * 6 * (index + 1) / (10 * (count + 1)))
            return (request, at, index % max(options.accounts, 1))
        }.sorted { $0.at < $1.at }
        // Every account starts with a deposit the venue also holds.
        for index in accounts.indices {
            queue.append(makeEvent(index, tsMs: now, body: .transfer(Transfer(asset: "USDT", amount: 100_000, kind: .deposit))))
        }
    }

    public func symbolName(_ k: Int) -> String { "SYM\(k)-PERP" }

    /// The next event, nil after `options.events`.
    public func next() -> Event? {
        guard emitted < options.events else { return nil }
        while queue.isEmpty { step() }
        emitted += 1
        return queue.removeFirst()
    }

    /// All remaining events.
    public func all() -> [Event] {
        var events: [Event] = []
        events.reserveCapacity(options.events)
        while let event = next() { events.append(event) }
        return events
    }

    // MARK: Steps

    private func step() {
        now += 20 + Int64(rng.below(300))
        let k = rng.below(mids.count)
        mids[k] = max(mids[k] + ExactDecimal(rng.below(5) - 2) * tick, 1)
        let a = rng.below(accounts.count)
        let seqOfNext = UInt64(emitted + queue.count + 1)
        if nextScheduled < schedule.count, emitted + queue.count + 1 >= schedule[nextScheduled].at {
            let fault = schedule[nextScheduled]
            nextScheduled += 1
            inject(fault.request.kind, account: fault.account, seq: seqOfNext)
            return
        }
        let roll = rng.below(100)
        let snapshotCut = options.snapshotPercent
        let windowCut = snapshotCut + options.fillsWindowPercent
        if roll < snapshotCut {
            emitSnapshot(a, validAt: now)
        } else if roll < windowCut {
            emitFillsWindow(a)
        } else if roll < windowCut + 30 && !accounts[a].venueOrders.isEmpty {
            let orderIndex = rng.below(accounts[a].venueOrders.count)
            fill(a, orderIndex: orderIndex, tsMs: now, emit: true)
        } else if (roll < windowCut + 48 || accounts[a].venueOrders.count >= maxOpenOrders) && !accounts[a].venueOrders.isEmpty {
            let orderIndex = rng.below(accounts[a].venueOrders.count)
            let order = accounts[a].venueOrders.remove(at: orderIndex)
            queue.append(makeEvent(a, tsMs: now, body: .orderCanceled(OrderCanceled(orderId: order.orderId))))
        } else if roll < windowCut + 51 && !accounts[a].venueOrders.isEmpty,
                  let last = accounts[a].venueOrders.last, last.remaining == last.qty {
            accounts[a].venueOrders.removeLast()
            queue.append(makeEvent(a, tsMs: now, body: .orderRejected(OrderRejected(orderId: last.orderId, reason: "post-only would cross"))))
        } else {
            submit(a, symbol: k, reachesVenue: true)
        }
    }

    private func inject(_ kind: FaultKind, account a: Int, seq: UInt64) {
        let name = accounts[a].name
        func record(subject: String, symbol: String?, note: String) {
            faults.append(InjectedFault(kind: kind, account: name, seq: seq, revealedAtSeq: nil, subject: subject, symbol: symbol, note: note))
            accounts[a].pendingReveal.append((faults.count - 1, kind == .feeTierMismatch))
        }
        switch kind {
        case .missedFill:
            if accounts[a].venueOrders.isEmpty { submit(a, symbol: rng.below(mids.count), reachesVenue: true); return retry(kind, a) }
            let order = accounts[a].venueOrders[0]
            let fillRecord = fill(a, orderIndex: 0, tsMs: now, emit: false, full: true)
            accounts[a].ghostOrders.append(order.orderId)
            record(subject: fillRecord.fillId, symbol: symbolName(order.symbol), note: "the venue filled \(order.orderId) in full; the bot never received fill \(fillRecord.fillId)")
            emitSnapshot(a, validAt: now)
        case .duplicateFill:
            guard let last = accounts[a].lastFill else {
                if accounts[a].venueOrders.isEmpty { submit(a, symbol: rng.below(mids.count), reachesVenue: true) }
                else { fill(a, orderIndex: 0, tsMs: now, emit: true) }
                return retry(kind, a)
            }
            var changed = last
            changed.price = last.price + tick
            changed.tsMs = nil
            queue.append(makeEvent(a, tsMs: now, body: .fill(changed)))
            record(subject: last.fillId, symbol: last.symbol, note: "fill \(last.fillId) redelivered with price \(changed.price) instead of \(last.price)")
        case .lostOrder:
            let order = submit(a, symbol: rng.below(mids.count), reachesVenue: false)
            record(subject: order, symbol: nil, note: "order \(order) was submitted during an outage and never reached the venue")
        case .manualTrade:
            let k = rng.below(mids.count)
            accounts[a].fillCounter += 1
            let fillId = "\(name)-manual-\(accounts[a].fillCounter)"
            let trade = FillRecord(fillId: fillId, orderId: "\(name)-manual-order-\(accounts[a].fillCounter)", symbol: symbolName(k),
                                   side: .buy, qty: lot * 50, price: mids[k], fee: fee(lot * 50 * mids[k], .taker, accounts[a].charged),
                                   feeAsset: "USDT", liquidity: .taker, tsMs: now)
            applyAtVenue(a, trade, symbol: k)
            record(subject: fillId, symbol: trade.symbol, note: "a manual buy of \(trade.qty) \(trade.symbol) on the venue, outside the bot")
            emitSnapshot(a, validAt: now)
        case .feeTierMismatch:
            accounts[a].charged = options.feeTier == .vip0 ? .vip1 : .vip0
            accounts[a].pendingFeeFault = faults.count
            record(subject: "fees", symbol: nil, note: "the venue charges another tier from here on; the bot still books its own")
            if accounts[a].venueOrders.isEmpty { submit(a, symbol: rng.below(mids.count), reachesVenue: true) }
            else { fill(a, orderIndex: 0, tsMs: now, emit: true) }
        case .snapshotRace:
            if accounts[a].venueOrders.isEmpty { submit(a, symbol: rng.below(mids.count), reachesVenue: true); return retry(kind, a) }
            // The snapshot is taken now; a fill 2.5 s later reaches the log first.
            let snapshot = snapshotEvent(a, validAt: now)
            let record0 = fill(a, orderIndex: 0, tsMs: now + 2500, emit: true)
            queue.append(snapshot)
            now += 2600
            record(subject: record0.fillId, symbol: record0.symbol, note: "fill \(record0.fillId) at +2.5 s is logged before the snapshot it postdates: not a discrepancy")
        case .balanceDrift:
            let amount: ExactDecimal = "-7.77"
            accounts[a].usdt += amount
            record(subject: "USDT", symbol: nil, note: "a funding payment of \(amount) USDT the bot never recorded")
            emitSnapshot(a, validAt: now)
        }
    }

    /// Puts a fault back at the front of the schedule after a setup step.
    private func retry(_ kind: FaultKind, _ a: Int) {
        nextScheduled -= 1
        schedule[nextScheduled].at = emitted + queue.count + 1
        schedule[nextScheduled].account = a
    }

    @discardableResult
    private func submit(_ a: Int, symbol k: Int, reachesVenue: Bool) -> String {
        accounts[a].orderCounter += 1
        let orderId = "\(accounts[a].name)-o-\(accounts[a].orderCounter)"
        let side: Side = rng.chance(50) ? .buy : .sell
        let offset = ExactDecimal(1 + rng.below(20)) * tick
        let price = side == .buy ? max(mids[k] - offset, tick) : mids[k] + offset
        let qty = lot * ExactDecimal(1 + rng.below(200))
        if reachesVenue {
            accounts[a].venueOrders.append(VenueOrder(orderId: orderId, symbol: k, side: side, qty: qty, remaining: qty, price: price))
        } else {
            accounts[a].ghostOrders.append(orderId)
        }
        queue.append(makeEvent(a, tsMs: now, body: .orderSubmitted(OrderSubmitted(
            orderId: orderId, symbol: symbolName(k), side: side, qty: qty, price: price, orderType: .limit, postOnly: true))))
        return orderId
    }

    @discardableResult
    private func fill(_ a: Int, orderIndex: Int, tsMs: Int64, emit: Bool, full: Bool = false) -> FillRecord {
        var order = accounts[a].venueOrders[orderIndex]
        var qty = order.remaining
        if !full && rng.chance(50) {
            let lots = (order.remaining.divided(by: lot, scale: 0))
            let part = ExactDecimal(1 + rng.below(max(Int(lots.significand) , 1)))
            qty = min(order.remaining, part * lot)
        }
        let liquidity: Liquidity = rng.chance(90) ? .maker : .taker
        accounts[a].fillCounter += 1
        let record = FillRecord(fillId: "\(accounts[a].name)-f-\(accounts[a].fillCounter)", orderId: order.orderId,
                                symbol: symbolName(order.symbol), side: order.side, qty: qty, price: order.price,
                                fee: fee(qty * order.price, liquidity, accounts[a].charged), feeAsset: "USDT", liquidity: liquidity, tsMs: tsMs)
        order.remaining -= qty
        if order.remaining.isZero {
            accounts[a].venueOrders.remove(at: orderIndex)
        } else {
            accounts[a].venueOrders[orderIndex] = order
        }
        applyAtVenue(a, record, symbol: order.symbol)
        if emit {
            var local = record
            local.tsMs = nil
            // The bot books the fee it expects; the venue's record has what it charged.
            local.fee = fee(qty * order.price, liquidity, options.feeTier)
            accounts[a].lastFill = local
            queue.append(makeEvent(a, tsMs: tsMs, body: .fill(local)))
            if let faultIndex = accounts[a].pendingFeeFault {
                faults[faultIndex].seq = UInt64(emitted + queue.count)
                faults[faultIndex].subject = record.fillId
                faults[faultIndex].symbol = record.symbol
                accounts[a].pendingFeeFault = nil
            }
        }
        return record
    }

    private func fee(_ notional: ExactDecimal, _ liquidity: Liquidity, _ rates: FeeRates) -> ExactDecimal {
        (notional * rates.netBps(liquidity)).divided(by: 10_000, scale: 8)
    }

    private func applyAtVenue(_ a: Int, _ record: FillRecord, symbol k: Int) {
        var position = accounts[a].positions[k] ?? PerpPosition()
        let change = position.apply(side: record.side, qty: record.qty, price: record.price)
        accounts[a].positions[k] = position
        accounts[a].usdt += change.realizedPnl - (record.fee ?? 0)
        accounts[a].trades.append(record)
    }

    private func snapshotEvent(_ a: Int, validAt: Int64) -> Event {
        let account = accounts[a]
        var positions: [RemotePosition] = []
        var prices: [MarkPrice] = []
        var equity = account.usdt
        for k in account.positions.keys.sorted() {
            guard let p = account.positions[k], !p.isFlat else { continue }
            positions.append(RemotePosition(symbol: symbolName(k), qty: p.qty, entryPrice: p.entryPrice))
            prices.append(MarkPrice(symbol: symbolName(k), mark: mids[k]))
            equity += unrealized(p, mark: mids[k])
        }
        let orders = account.venueOrders.sorted { $0.orderId < $1.orderId }.map {
            RemoteOrder(orderId: $0.orderId, symbol: symbolName($0.symbol), side: $0.side, qty: $0.qty, remaining: $0.remaining, price: $0.price)
        }
        return makeEvent(a, tsMs: validAt, body: .exchangeSnapshot(ExchangeSnapshot(
            positions: positions, openOrders: orders, balances: [RemoteBalance(asset: "USDT", total: account.usdt)],
            equity: equity, prices: prices)))
    }

    private func unrealized(_ p: PerpPosition, mark: ExactDecimal) -> ExactDecimal {
        p.qty.isPositive ? p.qty * mark - p.cost : p.cost + p.qty * mark
    }

    private func emitSnapshot(_ a: Int, validAt: Int64) {
        queue.append(snapshotEvent(a, validAt: validAt))
        reveal(a, window: false)
    }

    private func emitFillsWindow(_ a: Int) {
        let from = accounts[a].windowStartMs
        let trades = accounts[a].trades.filter { ($0.tsMs ?? 0) <= now }
        accounts[a].trades.removeAll { ($0.tsMs ?? 0) <= now }
        accounts[a].windowStartMs = now + 1
        queue.append(makeEvent(a, tsMs: now, body: .exchangeFills(ExchangeFills(fromMs: from, toMs: now, fills: trades))))
        reveal(a, window: true)
    }

    private func reveal(_ a: Int, window: Bool) {
        let seq = UInt64(emitted + queue.count)
        revealAll(a, seq: seq, window: window)
    }

    private func revealAll(_ a: Int, seq: UInt64, window: Bool) {
        accounts[a].pendingReveal.removeAll { pending in
            guard window || !pending.windowOnly else { return false }
            if faults[pending.fault].revealedAtSeq == nil { faults[pending.fault].revealedAtSeq = seq }
            return true
        }
    }

    private func makeEvent(_ a: Int, tsMs: Int64, body: EventBody) -> Event {
        accounts[a].eventCounter += 1
        return Event(id: "\(accounts[a].name)-\(accounts[a].eventCounter)", account: accounts[a].name, tsMs: tsMs,
                     venue: options.venue, body: body)
    }
}
