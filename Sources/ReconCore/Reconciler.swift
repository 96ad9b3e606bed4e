/// Why a run happened. Raw values are part of the report contract.
public enum Trigger: String, Sendable, CaseIterable {
    case snapshot, periodic
    case postFill = "post_fill"
    case startup
    case onDemand = "on_demand"
    case replay
}

/// The run's context: its trigger and the event behind it.
public struct RunContext: Sendable, Equatable {
    public var trigger: Trigger
    public var seq: UInt64?
    public var id: String?
    public var orderId: String?
    public var fillId: String?
    public var symbol: String?
    public var requestedBy: String?

    public init(trigger: Trigger, seq: UInt64? = nil, id: String? = nil) {
        self.trigger = trigger
        self.seq = seq
        self.id = id
    }

    /// The context of a run triggered by a logged event.
    public static func triggered(by event: LoggedEvent, replay: Bool) -> RunContext {
        var context = RunContext(trigger: .snapshot, seq: event.seq, id: event.event.id)
        switch event.event.body {
        case .exchangeSnapshot, .exchangeFills, .exchangePositionHistory: context.trigger = replay ? .replay : .snapshot
        case .reconRequested(let r):
            context.trigger = replay ? .replay : .onDemand
            context.requestedBy = r.requestedBy
        case .fill(let f):
            context.trigger = .postFill
            context.orderId = f.orderId
            context.fillId = f.fillId
            context.symbol = f.symbol
        default:
            context.trigger = replay ? .replay : .periodic
        }
        return context
    }
}

/// Where a run looks: the account, the point, and the log's identity there.
public struct RunPoint: Sendable, Equatable {
    public var account: String
    public var atSeq: UInt64
    /// The ingest time of `atSeq`: when the log knew what the run saw.
    public var atMs: Int64
    /// The log's content chain at `atSeq`.
    public var chain: UInt64
    public var context: RunContext

    public init(account: String, atSeq: UInt64, atMs: Int64, chain: UInt64, context: RunContext) {
        self.account = account
        self.atSeq = atSeq
        self.atMs = atMs
        self.chain = chain
        self.context = context
    }

    /// Derived, never random: the same question gets the same id.
    public func runId(configHash: String) -> String {
        var h = SHA256()
        h.update("recon-run/v1|\(account)|\(atSeq)|\(String(chain, radix: 16))|\(configHash)|\(context.trigger.rawValue)|\(context.seq ?? 0)")
        return "run-" + String(h.finalize().hexString.prefix(24))
    }
}

/// What one reconciliation found, before lifecycle fields are filled in.
public struct Findings: Sendable {
    public var discrepancies: [Discrepancy] = []
    public var ordersLocalOnly: [String] = []
    public var ordersRemoteOnly: [String] = []
    public var positionDeltas: [(String, ExactDecimal)] = []
    public var positionsChecked = 0
    public var fees = FeesReport()
    public var remoteAsOfMs: Int64?
    /// Each check: "ran", "off" (switched off), or why it could not run.
    public var checks: [(String, String)] = []
    public var sectionAges: [(String, Int64?)] = []
    public var corrections: [ProposedCorrection] = []
}

/// The fee figures of a run: what the fills report and what the schedule expects.
public struct FeesReport: Sendable, Equatable {
    public var grossNotional: ExactDecimal = 0
    public var makerNotional: ExactDecimal = 0
    public var takerNotional: ExactDecimal = 0
    public var makerCount = 0
    public var takerCount = 0
    public var feesAbsolute: ExactDecimal = 0
    public var rebatesAbsolute: ExactDecimal = 0
    public var netAbsolute: ExactDecimal = 0
    public var feesBps: ExactDecimal = 0
    public var rebatesBps: ExactDecimal = 0
    public var netBps: ExactDecimal = 0
    public var makerTakerRatio: ExactDecimal = 0
    /// From the schedule; nil when no schedule is configured for some traded symbol.
    public var expectedFeesAbsolute: ExactDecimal?
    public var expectedRebatesAbsolute: ExactDecimal?
    public var expectedNetAbsolute: ExactDecimal?
    public var expectedNetBps: ExactDecimal?
    /// Reported net minus expected net.
    public var feeDeltaAbsolute: ExactDecimal?

    /// Digits kept in bps and ratios.
    public static let ratioScale = 6
}

/// A correction a run proposes; an operator (or bounded auto-correct) applies it.
public struct ProposedCorrection: Sendable, Equatable {
    public var key: String
    public var effect: CorrectionEffect
    /// Within the configured auto-correction limits (never for critical position deltas).
    public var autoApplicable: Bool
    public var reason: String
}

/// The reconciler: a pure function of the projections, the config and the point.
public enum Reconciler {
    /// Compares `aligned` (the bot's view restricted to events the venue's data
    /// could know) with the venue's view in `projection`.
    ///
    /// `projection` is the full fold at the run's point; `aligned` is its local
    /// side without local events later than the latest snapshot + clock skew.
    public static func run(projection: AccountProjection, aligned: LocalProjection, config: ReconConfig, point: RunPoint) -> Findings {
        run(projection: projection, aligned: AlignedSections(aligned), config: config, point: point)
    }

    /// As above, with each section of the venue's data compared with the bot's
    /// view at that section's own report time.
    public static func run(projection: AccountProjection, aligned views: AlignedSections, config: ReconConfig, point: RunPoint) -> Findings {
        var f = Findings()
        let account = projection.account
        let t = config.thresholds(account: account)
        let remote = projection.remote
        f.remoteAsOfMs = remote.latestAsOfMs
        let marks = remote.marks

        func quoteValue(_ qty: ExactDecimal, symbol: String?, fallback: ExactDecimal?) -> ExactDecimal? {
            if let symbol, let mark = marks[symbol]?.mark { return qty.magnitude * mark }
            return fallback.map { qty.magnitude * $0 }
        }

        // Orders.
        if !t.checks.orders {
            f.checks.append(("orders", "off"))
        } else if !remote.openOrders.isKnown {
            f.checks.append(("orders", "no remote open orders reported"))
        } else {
            f.checks.append(("orders", "ran"))
            let aligned = views.orders
            let pass = OrderPass.run(aligned.openOrders, against: remote.openOrders, thresholds: t, config: config, account: account)
            f.discrepancies += pass.mismatches
            var localOnly = pass.localOnly
            if localOnly.count > t.orderMissingRemoteCriticalCount {
                for i in localOnly.indices {
                    localOnly[i].severity = .critical
                    localOnly[i].baseSeverity = .critical
                }
            }
            f.ordersLocalOnly = localOnly.compactMap(\.orderId).sorted()
            f.discrepancies += localOnly
            // `index(forKey:)`: a presence test that does not copy the order out.
            // Only when the venue lists an order the bot does not hold open is its whole list read.
            for (id, r) in pass.paired == remote.openOrders.finder.count ? [:] : remote.openOrders.items where aligned.openOrders.index(forKey: id) == nil {
                // Closed locally after the venue's list was taken: the list is behind, not wrong.
                if let closed = aligned.closedOrders[id], closed.closedTsMs > r.asOfMs + t.clockSkewMs { continue }
                var d = Discrepancy(type: .orderMissingLocal, severity: .critical, account: account, subject: id,
                                    message: "order \(id) (\(r.item.side.rawValue) \(r.item.remaining) \(r.item.symbol)) is open on the venue but "
                                        + (aligned.closedOrders[id].map { "\($0.status.rawValue) locally" } ?? "unknown locally"))
                d.orderId = id
                d.symbol = r.item.symbol
                d.local = aligned.closedOrders[id].map { .object(JSONObject([("status", .string($0.status.rawValue))])) }
                d.localSeq = aligned.closedOrders[id]?.closedSeq
                d.remote = r.item.json
                d.remoteSeq = r.seq
                d.impactQuote = r.item.price.map { r.item.remaining * $0 }
                f.ordersRemoteOnly.append(id)
                f.discrepancies.append(d)
            }
            f.ordersRemoteOnly.sort()
        }

        // Positions.
        if !t.checks.positions {
            f.checks.append(("positions", "off"))
        } else if !remote.positions.isKnown {
            f.checks.append(("positions", "no remote positions reported"))
        } else {
            f.checks.append(("positions", "ran"))
            let bySymbolPositions = config.hasSymbolOverrides(account: account)
            let aligned = views.positions
            // The venue's entries in table order, then the bot's open positions it
            // does not list; deltas and findings are sorted once at the end. The
            // bot's position is read in place and copied out only for a finding.
            let venue = remote.positions.finder
            func check(_ symbol: String, _ at: ScopedSection<RemotePosition>.Finder.Position?) {
                guard let coverage = remote.positions.coverage(of: symbol) else { return }
                f.positionsChecked += 1
                let slot = aligned.positions.index(forKey: symbol)
                let local = slot.map { aligned.positions.values[$0].position } ?? PerpPosition()
                let lq = local.qty
                let rEntry = at.map { venue.entry(at: $0) }
                let rq = rEntry?.item.qty ?? 0
                if lq == rq && lq.isZero { return }
                let delta = rq - lq
                if !delta.isZero { f.positionDeltas.append((symbol, delta)) }
                if delta.isZero && !lq.isZero, let rEntry {
                    // The common case: same size on both sides; only the entry price can differ.
                    // (One field read, not the thresholds copied: this runs for every symbol of every run.)
                    let le = local.entryPrice, re = rEntry.item.entryPrice
                    guard !re.isZero else { return }
                    let tolerance = bySymbolPositions ? config.thresholds(account: account, symbol: symbol).positionCostTolerancePct : t.positionCostTolerancePct
                    let pct = ((le - re).magnitude * 100).divided(by: re, scale: 8)
                    guard pct > tolerance else { return }
                }
                let ts = bySymbolPositions ? config.thresholds(account: account, symbol: symbol) : t
                let lp = slot.map { aligned.positions.values[$0] }
                let price = marks[symbol]?.mark ?? rEntry?.item.entryPrice ?? lp?.position.entryPrice
                func make(_ type: DiscrepancyType, _ severity: Severity, _ message: String) -> Discrepancy {
                    var d = Discrepancy(type: type, severity: severity, account: account, subject: symbol, message: message)
                    d.symbol = symbol
                    d.local = lp.map { $0.json } ?? .decimal(0)
                    d.remote = rEntry.map { $0.item.json } ?? .decimal(0)
                    d.delta = delta
                    d.localSeq = lp?.lastSeq
                    d.remoteSeq = rEntry?.seq ?? coverage.seq
                    d.impactQuote = price.map { delta.magnitude * $0 }
                    return d
                }
                if lq.isZero {
                    f.discrepancies.append(make(.positionMissingLocal, .critical, "the venue holds \(rq) \(symbol); the bot holds nothing"))
                } else if rq.isZero {
                    f.discrepancies.append(make(.positionMissingRemote, .critical, "the bot holds \(lq) \(symbol); the venue holds nothing"))
                } else if lq.signum != rq.signum {
                    f.discrepancies.append(make(.positionSideMismatch, .critical, "the bot is \(lq.isPositive ? "long" : "short") \(lq.magnitude) \(symbol); the venue is \(rq.isPositive ? "long" : "short") \(rq.magnitude)"))
                } else if !delta.isZero {
                    let size = delta.magnitude
                    if size >= ts.positionQtyIgnore {
                        let severity: Severity = size < ts.positionQtyCritical ? .warning : .critical
                        var d = make(.positionQtyMismatch, severity, "\(symbol): the bot holds \(lq), the venue \(rq) (delta \(delta))")
                        d.thresholds = [("ignore_below", .decimal(ts.positionQtyIgnore)), ("critical_at", .decimal(ts.positionQtyCritical))]
                        f.discrepancies.append(d)
                    }
                } else if let rEntry {
                    // Same size, entry prices beyond the tolerance (checked above).
                    let le = local.entryPrice, re = rEntry.item.entryPrice
                    var d = make(.positionCostMismatch, .info, "\(symbol): entry \(le.rounded(scale: 8)) locally, \(re) on the venue")
                    d.delta = re - le
                    d.impactQuote = (re - le).magnitude * lq.magnitude
                    d.thresholds = [("position_cost_tolerance_pct", .decimal(ts.positionCostTolerancePct))]
                    f.discrepancies.append(d)
                }
            }
            venue.forEach(check)
            for (symbol, p) in aligned.positions where !p.position.isFlat && venue.position(of: symbol.string) == nil { check(symbol.string, nil) }
        }

        // Balances and equity.
        if !t.checks.balances {
            f.checks.append(("balances", "off"))
        } else if remote.balances == nil && remote.equity == nil {
            f.checks.append(("balances", "no remote balances reported"))
        } else {
            f.checks.append(("balances", "ran"))
            let aligned = views.balances
            if let rb = remote.balances {
                let assets = Set(rb.keys).union(aligned.balances.keys.lazy.map(\.string)).sorted()
                for asset in assets {
                    let ta = config.thresholds(account: account, asset: asset)
                    let l = aligned.balances[asset]?.amount ?? 0
                    let r = rb[asset]?.total ?? 0
                    let delta = r - l
                    guard delta.magnitude > ta.cashTolerance else { continue }
                    var d = Discrepancy(type: .balanceMismatch, severity: .warning, account: account, subject: asset,
                                        message: "\(asset): \(l) locally, \(r) on the venue (delta \(delta))")
                    d.asset = asset
                    d.local = .decimal(l)
                    d.remote = .decimal(r)
                    d.delta = delta
                    d.localSeq = aligned.balances[asset]?.lastSeq
                    d.remoteSeq = remote.balancesSeq
                    d.thresholds = [("cash_tolerance", .decimal(ta.cashTolerance))]
                    d.impactQuote = asset == t.quoteAsset ? delta.magnitude : spotMark(asset, aligned, marks).map { delta.magnitude * $0 }
                    f.discrepancies.append(d)
                }
            }
            if let re = remote.equity, let le = localEquity(aligned, marks: marks, quote: t.quoteAsset) {
                let delta = re - le
                let pct = re.isZero ? (delta.isZero ? ExactDecimal.zero : 100) : (delta.magnitude * 100).divided(by: re.magnitude, scale: 8)
                if pct > t.equityTolerancePct {
                    var d = Discrepancy(type: .equityMismatch, severity: .warning, account: account, subject: "equity",
                                        message: "equity \(le.rounded(scale: 8)) locally, \(re) on the venue (\(pct.rounded(scale: 4))%)")
                    d.local = .decimal(le)
                    d.remote = .decimal(re)
                    d.delta = delta
                    d.remoteSeq = remote.equitySeq
                    d.localSeq = aligned.lastSeq
                    d.thresholds = [("equity_tolerance_pct", .decimal(t.equityTolerancePct))]
                    d.impactQuote = delta.magnitude
                    f.discrepancies.append(d)
                }
            }
        }

        // Fills: the pairing the fold kept, and the findings it made.
        if !t.checks.fills {
            f.checks.append(("fills", "off"))
        } else {
            f.checks.append(("fills", remote.fillCoverage.isEmpty ? "ran (no venue trade history yet)" : "ran"))
            var feeGroups: [FeeKey: FeeMismatchGroup] = [:]
            // Unordered on purpose: the findings are sorted once at the end.
            for (fillId, issue) in projection.fillIssues {
                f.discrepancies += fillDiscrepancies(fillId.string, issue, projection, config, feeGroups: &feeGroups)
            }
            for key in feeGroups.keys.sorted() {
                f.discrepancies.append(feeGroups[key]!.discrepancy(account: account, key: key, config: config))
            }
            for finding in projection.local.findings {
                f.discrepancies.append(findingDiscrepancy(finding, account))
            }
        }

        // Fees.
        f.fees = feesReport(projection.local, config: config, account: account)
        if !t.checks.fees {
            f.checks.append(("fees", "off"))
        } else {
            let scheduled = config.hasFeeSchedule(account: account)
                && projection.local.fees.keys.allSatisfy { config.feeRates(account: account, symbol: $0.symbol) != nil }
            f.checks.append(("fees", scheduled ? "ran" : "ran (no fee schedule configured: fills not compared with a schedule)"))
            f.discrepancies += feeDiscrepancies(projection.local, fees: f.fees, config: config, account: account)
        }

        for (name, check) in [("closed_positions", closedPositionChecks(projection, config: config)),
                              ("inventory", inventoryChecks(projection, config: config)),
                              ("accounting", accountingChecks(projection, config: config))] {
            f.checks.append((name, check.state))
            f.discrepancies += check.discrepancies
        }

        // Freshness: measured in event time from the newest local event, never the wall clock.
        let newestLocal = projection.local.maxTsMs
        if newestLocal != .min {
            let remoteAge = remote.latestAsOfMs.map { newestLocal - $0 }
            // How far each section's data trails the newest local event; 0 when it is newer.
            func age(_ asOf: Int64) -> Int64 { max(0, newestLocal - asOf) }
            f.sectionAges = [
                ("positions", remote.positions.latestAsOfMs.map(age)),
                ("open_orders", remote.openOrders.latestAsOfMs.map(age)),
                ("balances", remote.balances != nil ? age(remote.balancesAsOfMs) : nil),
                ("equity", remote.equity != nil ? age(remote.equityAsOfMs) : nil),
                ("trade_history", remote.fillCoverage.last.map { age($0.toMs) }),
                ("position_history", remote.positionHistoryCoverage.last.map { age($0.toMs) }),
            ]
            if remoteAge == nil || remoteAge! > t.maxRemoteAgeMs {
                var d = Discrepancy(type: .remoteStale, severity: .warning, account: account, subject: "remote",
                                    message: remoteAge.map { "the newest venue data is \($0 / 1000) s older than the newest local event" }
                                        ?? "the venue has reported nothing for this account")
                d.local = .number("\(newestLocal)")
                d.remote = remote.latestAsOfMs.map { .number("\($0)") }
                d.delta = remoteAge.map { ExactDecimal(Int($0)) }
                d.localSeq = projection.local.lastSeq
                d.remoteSeq = remote.latestAsOfMs == nil ? nil : remote.latestSeq
                d.thresholds = [("max_remote_age_ms", .number("\(t.maxRemoteAgeMs)"))]
                f.discrepancies.append(d)
            }
        }

        f.positionDeltas.sort { $0.0 < $1.0 }
        if let impact = impactCheck(f.discrepancies, account: account, config: config) { f.discrepancies.append(impact) }
        f.discrepancies.sort { ($0.severity.rank, $1.key) > ($1.severity.rank, $0.key) }
        f.corrections = proposeCorrections(f.discrepancies, projection: projection, config: config)
        return f
    }

    static func orderDiff(_ type: DiscrepancyType, _ severity: Severity, _ id: String, _ o: LocalOrder,
                                  _ r: ScopedSection<RemoteOrder>.Entry, _ account: String, _ what: String) -> Discrepancy {
        var d = Discrepancy(type: type, severity: severity, account: account, subject: id, message: "order \(id): \(what)")
        d.orderId = id
        d.symbol = o.symbol
        d.local = o.json
        d.remote = r.item.json
        d.localSeq = o.lastSeq
        d.remoteSeq = r.seq
        return d
    }

    static func spotMark(_ asset: String, _ local: LocalProjection, _ marks: [String: MarkState]) -> ExactDecimal? {
        for (symbol, state) in local.instruments.sorted(by: { $0.key < $1.key }) where state.instrument.kind == .spot && state.instrument.base == asset {
            if let m = marks[symbol]?.mark { return m }
        }
        return nil
    }

    /// Quote balance + unrealized PnL of perps settled in it + spot holdings at
    /// mark. Nil when a held position has no mark (equity would be a guess).
    public static func localEquity(_ local: LocalProjection, marks: [String: MarkState], quote: String) -> ExactDecimal? {
        var equity = local.balances[quote]?.amount ?? 0
        // In table order: exact sums do not depend on the order of their terms.
        for (symbol, p) in local.positions {
            guard !p.position.isFlat, p.settlementAsset == quote else { continue }
            guard let mark = marks[symbol.string]?.mark else { return nil }
            let qty = p.position.qty
            equity += qty * mark - (qty.isPositive ? p.position.cost : -p.position.cost)
        }
        for (symbol, state) in local.instruments {
            let i = state.instrument
            guard i.kind == .spot, i.quote == quote, let held = local.balances[i.base]?.amount, !held.isZero else { continue }
            guard let mark = marks[symbol]?.mark else { return nil }
            equity += held * mark
        }
        return equity
    }

    /// Fee differences between the bot's fills and the venue's records, summed
    /// per symbol and liquidity: a venue that bills another tier differs on every
    /// fill, and one finding that says so (since which fill, how many, how much)
    /// serves better than thousands.
    struct FeeMismatchGroup {
        var count = 0
        var localFees: ExactDecimal = 0
        var venueFees: ExactDecimal = 0
        var first: (seq: UInt64, fillId: String)
        var last: (seq: UInt64, fillId: String)
        var remoteSeq: UInt64 = 0
        var feeAsset: String?

        mutating func add(fillId: String, local: LocalFill, venue: RemoteFill) {
            count += 1
            localFees += local.record.fee ?? 0
            venueFees += venue.record.fee ?? 0
            if local.seq < first.seq || (local.seq == first.seq && fillId < first.fillId) { first = (local.seq, fillId) }
            if local.seq > last.seq || (local.seq == last.seq && fillId > last.fillId) { last = (local.seq, fillId) }
            remoteSeq = max(remoteSeq, venue.seq)
        }

        func discrepancy(account: String, key: FeeKey, config: ReconConfig) -> Discrepancy {
            let t = config.thresholds(account: account, symbol: key.symbol)
            let delta = venueFees - localFees
            var d = Discrepancy(type: .fillFeeMismatch, severity: .warning, account: account, subject: "\(key.symbol):\(key.liquidity.rawValue)",
                                message: "\(count) \(key.liquidity.rawValue) fill\(count == 1 ? "" : "s") on \(key.symbol) since \(first.fillId) (seq \(first.seq)): the venue charged \(venueFees), the bot booked \(localFees) (delta \(delta))")
            d.symbol = key.symbol
            d.fillId = first.fillId
            d.identity = [("liquidity", key.liquidity.rawValue), ("basis", "venue"), ("fills", "\(count)"), ("last_fill_id", last.fillId)]
            d.local = .decimal(localFees)
            d.remote = .decimal(venueFees)
            d.delta = delta
            d.localSeq = last.seq
            d.remoteSeq = remoteSeq
            d.impactQuote = delta.magnitude
            d.thresholds = [("fee_tolerance", .decimal(t.feeTolerance))]
            return d
        }
    }

    private static func fillDiscrepancies(_ fillId: String, _ issue: AccountProjection.FillIssue, _ p: AccountProjection,
                                          _ config: ReconConfig, feeGroups: inout [FeeKey: FeeMismatchGroup]) -> [Discrepancy] {
        let account = p.account
        switch issue {
        case .missingLocal:
            guard let r = p.remote.fills[fillId] else { return [] }
            var d = Discrepancy(type: .fillMissingLocal, severity: .critical, account: account, subject: fillId,
                                message: "the venue lists fill \(fillId) (\(r.record.summary)) that the bot never recorded")
            d.fillId = fillId
            d.orderId = r.record.orderId
            d.symbol = r.record.symbol
            d.remote = r.record.json
            d.remoteSeq = r.seq
            d.impactQuote = r.record.notional
            return [d]
        case .missingRemote:
            guard let l = p.local.fills[fillId] else { return [] }
            var d = Discrepancy(type: .fillMissingRemote, severity: .critical, account: account, subject: fillId,
                                message: "the bot recorded fill \(fillId) (\(l.record.summary)) that the venue's trade history lacks")
            d.fillId = fillId
            d.orderId = l.record.orderId
            d.symbol = l.record.symbol
            d.local = l.record.json
            d.localSeq = l.seq
            d.impactQuote = l.record.notional
            return [d]
        case .differs:
            guard let r = p.remote.fills[fillId] else { return [] }
            let b = r.record
            let t = config.thresholds(account: account, symbol: b.symbol)
            guard let l = p.local.fills[fillId] else {
                let seq = p.local.settledFills[fillId]?.seq
                var d = Discrepancy(type: .fillQtyMismatch, severity: .critical, account: account, subject: fillId,
                                    message: "the venue's record of fill \(fillId) changed after it matched the bot's (seq \(seq ?? 0))")
                d.fillId = fillId
                d.symbol = b.symbol
                d.remote = b.json
                d.remoteSeq = r.seq
                d.localSeq = seq
                return [d]
            }
            let a = l.record
            var out: [Discrepancy] = []
            func make(_ type: DiscrepancyType, _ severity: Severity, _ message: String) -> Discrepancy {
                var d = Discrepancy(type: type, severity: severity, account: account, subject: fillId, message: "fill \(fillId): \(message)")
                d.fillId = fillId
                d.orderId = a.orderId
                d.symbol = a.symbol
                d.local = a.json
                d.remote = b.json
                d.localSeq = l.seq
                d.remoteSeq = r.seq
                return d
            }
            if a.qty != b.qty || a.side != b.side || a.symbol != b.symbol || a.orderId != b.orderId {
                var d = make(.fillQtyMismatch, .critical, a.qty != b.qty ? "qty \(a.qty) locally, \(b.qty) on the venue"
                             : "\(a.side.rawValue) \(a.symbol) order \(a.orderId) locally, \(b.side.rawValue) \(b.symbol) order \(b.orderId) on the venue")
                d.delta = b.qty - a.qty
                d.impactQuote = (b.qty - a.qty).magnitude * b.price
                out.append(d)
            }
            if a.price != b.price {
                var d = make(.fillPriceMismatch, .warning, "price \(a.price) locally, \(b.price) on the venue")
                d.delta = b.price - a.price
                d.impactQuote = (b.price - a.price).magnitude * b.qty
                out.append(d)
            }
            if let bf = b.fee, let af = a.fee, (bf - af).magnitude > t.feeTolerance || a.feeAsset != b.feeAsset || a.liquidity != b.liquidity {
                let key = FeeKey(symbol: a.symbol, liquidity: b.liquidity)
                feeGroups[key, default: FeeMismatchGroup(first: (l.seq, fillId), last: (l.seq, fillId))].add(fillId: fillId, local: l, venue: r)
            }
            if let bt = b.tsMs, abs(bt - l.tsMs) > t.fillTimeToleranceMs {
                var d = make(.fillTimeMismatch, .info, "time \(l.tsMs) locally, \(bt) on the venue")
                d.delta = ExactDecimal(Int(bt - l.tsMs))
                d.thresholds = [("fill_time_tolerance_ms", .number("\(t.fillTimeToleranceMs)"))]
                out.append(d)
            }
            return out
        }
    }

    private static func findingDiscrepancy(_ x: IntegrityFinding, _ account: String) -> Discrepancy {
        let type: DiscrepancyType
        let severity: Severity
        let message: String
        switch x.kind {
        case .fillOverfill:
            type = .fillOverfill; severity = .critical
            message = "fill \(x.fillId) takes order \(x.orderId) to \(x.other) filled of \(x.local)"
        case .fillUnknownOrder:
            type = .fillUnknownOrder; severity = .warning
            message = "fill \(x.fillId) names order \(x.orderId), which the bot never submitted"
        case .fillDuplicateConflict:
            type = .fillDuplicateConflict; severity = .critical
            message = "fill \(x.fillId) was delivered again with different content (\(x.other)); the first delivery (seq \(x.firstSeq)) stays in force"
        case .fillAfterCancel:
            type = .fillAfterCancel; severity = .warning
            message = "fill \(x.fillId) arrived for order \(x.orderId) after it was \(x.local)"
        }
        var d = Discrepancy(type: type, severity: severity, account: account, subject: x.fillId, message: message)
        d.fillId = x.fillId
        d.orderId = x.orderId
        d.symbol = x.symbol
        // Nothing local to show for an order the bot never submitted.
        d.local = x.local.isEmpty ? nil : .string(x.local)
        d.remote = nil
        d.localSeq = x.seq
        if x.kind == .fillDuplicateConflict {
            d.local = .object(JSONObject([("first", .string(x.local)), ("first_seq", .number("\(x.firstSeq)")), ("redelivered", .string(x.other))]))
        }
        return d
    }

    /// The fees report from the local fee aggregates and the schedule.
    public static func feesReport(_ local: LocalProjection, config: ReconConfig, account: String) -> FeesReport {
        var r = FeesReport()
        let tenThousand: ExactDecimal = 10_000
        var expectedFees: ExactDecimal? = 0
        var expectedRebates: ExactDecimal = 0
        // Sums are exact and commutative: no ordering needed.
        for (key, a) in local.fees {
            let rates = config.feeRates(account: account, symbol: key.symbol)
            if rates == nil { expectedFees = nil }
            r.grossNotional += a.notional
            if key.liquidity == .maker {
                r.makerNotional += a.notional
                r.makerCount += a.count
                if let rates, let e = expectedFees {
                    expectedFees = e + a.feeNotional * rates.makerBps
                    expectedRebates += a.feeNotional * rates.makerRebateBps
                }
            } else {
                r.takerNotional += a.notional
                r.takerCount += a.count
                if let rates, let e = expectedFees { expectedFees = e + a.feeNotional * rates.takerBps }
            }
            r.feesAbsolute += a.charged
            r.rebatesAbsolute += a.rebated
        }
        r.netAbsolute = r.feesAbsolute - r.rebatesAbsolute
        let s = FeesReport.ratioScale
        if let expectedFees {
            r.expectedFeesAbsolute = expectedFees.divided(by: tenThousand, scale: 12)
            r.expectedRebatesAbsolute = expectedRebates.divided(by: tenThousand, scale: 12)
            r.expectedNetAbsolute = r.expectedFeesAbsolute! - r.expectedRebatesAbsolute!
            r.feeDeltaAbsolute = r.netAbsolute - r.expectedNetAbsolute!
            r.expectedNetBps = r.grossNotional.isZero ? 0 : (r.expectedNetAbsolute! * tenThousand).divided(by: r.grossNotional, scale: s)
        }
        if !r.grossNotional.isZero {
            r.feesBps = (r.feesAbsolute * tenThousand).divided(by: r.grossNotional, scale: s)
            r.rebatesBps = (r.rebatesAbsolute * tenThousand).divided(by: r.grossNotional, scale: s)
            r.netBps = (r.netAbsolute * tenThousand).divided(by: r.grossNotional, scale: s)
            r.makerTakerRatio = r.makerNotional.divided(by: r.grossNotional, scale: s)
        }
        return r
    }

    private static func feeDiscrepancies(_ local: LocalProjection, fees: FeesReport, config: ReconConfig, account: String) -> [Discrepancy] {
        var out: [Discrepancy] = []
        let t = config.thresholds(account: account)
        // Each symbol and liquidity against its schedule: a venue charging another
        // tier shows here even when every fill agrees with the venue's record.
        for key in config.hasFeeSchedule(account: account) ? local.fees.keys.sorted() : [] {
            let a = local.fees[key]!
            guard let rates = config.feeRates(account: account, symbol: key.symbol) else { continue }
            let ts = config.thresholds(account: account, symbol: key.symbol)
            let expected = (a.feeNotional * rates.netBps(key.liquidity)).divided(by: 10_000, scale: 12)
            let allowed = ts.feeTolerance * ExactDecimal(max(a.count - a.otherAssetFees, 1))
            guard a.count > a.otherAssetFees, (a.feeSum - expected).magnitude > allowed else { continue }
            let subject = "\(key.symbol):\(key.liquidity.rawValue)"
            let chargedBps = a.feeNotional.isZero ? ExactDecimal.zero : (a.feeSum * 10_000).divided(by: a.feeNotional, scale: 4)
            var d = Discrepancy(type: .fillFeeMismatch, severity: .warning, account: account, subject: "schedule:\(subject)",
                                message: "\(a.count) \(key.liquidity.rawValue) fills on \(key.symbol) paid \(a.feeSum) (\(chargedBps) bps); the schedule (\(config.feeRateSource(account: account, symbol: key.symbol))) expects \(expected.rounded(scale: 8)) (\(rates.netBps(key.liquidity)) bps)")
            d.symbol = key.symbol
            d.identity = [("liquidity", key.liquidity.rawValue), ("basis", "schedule")]
            d.local = .decimal(a.feeSum)
            d.remote = .decimal(expected)
            d.delta = expected - a.feeSum
            d.localSeq = a.lastSeq
            d.impactQuote = (a.feeSum - expected).magnitude
            d.thresholds = [("fee_tolerance_per_fill", .decimal(ts.feeTolerance)), ("maker_bps", .decimal(rates.makerBps)),
                            ("taker_bps", .decimal(rates.takerBps)), ("maker_rebate_bps", .decimal(rates.makerRebateBps))]
            out.append(d)
        }
        guard !fees.grossNotional.isZero else { return out }
        func metric(_ type: DiscrepancyType, _ severity: Severity, _ value: ExactDecimal, _ name: String, _ limit: ExactDecimal, _ message: String) -> Discrepancy {
            var d = Discrepancy(type: type, severity: severity, account: account, subject: "fees", message: message)
            d.local = .decimal(value)
            d.remote = nil
            d.thresholds = [(name, .decimal(limit))]
            d.localSeq = local.lastSeq
            return d
        }
        if fees.makerTakerRatio < t.makerRatioMin {
            out.append(metric(.feeMakerRatioLow, .warning, fees.makerTakerRatio, "maker_ratio_min", t.makerRatioMin,
                              "maker share of notional is \(fees.makerTakerRatio), below \(t.makerRatioMin)"))
        }
        if fees.netBps > t.netBpsMax {
            out.append(metric(.feeNetBpsHigh, .warning, fees.netBps, "net_bps_max", t.netBpsMax,
                              "net fees are \(fees.netBps) bps of notional, above \(t.netBpsMax)"))
        } else if fees.netBps < t.netBpsRebate {
            out.append(metric(.feeNetBpsRebate, .info, fees.netBps, "net_bps_rebate", t.netBpsRebate,
                              "net fees are \(fees.netBps) bps: earning rebates"))
        }
        if fees.feesBps > t.feesBpsMax {
            out.append(metric(.feeBpsHigh, .warning, fees.feesBps, "fees_bps_max", t.feesBpsMax,
                              "fees charged are \(fees.feesBps) bps of notional, above \(t.feesBpsMax)"))
        }
        return out
    }

    /// Corrections for what a correction can answer: adopt a missed fill, adjust
    /// a position or a balance. Never for critical position deltas automatically.
    static func proposeCorrections(_ discrepancies: [Discrepancy], projection: AccountProjection, config: ReconConfig) -> [ProposedCorrection] {
        var out: [ProposedCorrection] = []
        // Positions explained by a missing fill are answered by adopting the fill.
        let adoptedSymbols = Set(discrepancies.filter { $0.type == .fillMissingLocal }.compactMap(\.symbol))
        for d in discrepancies {
            // Looked up only for the types answered here: most findings are not.
            func thresholds() -> Thresholds { config.thresholds(account: d.account, symbol: d.symbol, asset: d.asset) }
            switch d.type {
            case .fillMissingLocal:
                guard let id = d.fillId, let r = projection.remote.fills[id] else { continue }
                let t = thresholds()
                let auto = t.autoCorrect && r.record.qty <= t.maxAutoCorrectionSize && r.record.notional <= t.maxAutoCorrectionAmount
                out.append(ProposedCorrection(key: d.key, effect: .fill(r.record), autoApplicable: auto,
                                              reason: "adopt the venue's record of fill \(id)"))
            case .positionQtyMismatch, .positionMissingLocal, .positionMissingRemote:
                guard let symbol = d.symbol, let delta = d.delta, !adoptedSymbols.contains(symbol) else { continue }
                let price = projection.remote.mark(of: symbol)?.mark ?? projection.remote.positions.item(forKey: symbol)?.entryPrice ?? 0
                let t = thresholds()
                let auto = t.autoCorrect && d.baseSeverity != .critical && delta.magnitude <= t.maxAutoCorrectionSize
                    && delta.magnitude * price <= t.maxAutoCorrectionAmount
                out.append(ProposedCorrection(key: d.key, effect: .positionAdjustment(symbol: symbol, qtyDelta: delta, price: price),
                                              autoApplicable: auto, reason: "adjust \(symbol) by \(delta) to the venue's quantity"))
            case .balanceMismatch:
                guard let asset = d.asset, let delta = d.delta, adoptedSymbols.isEmpty else { continue }
                let t = thresholds()
                let auto = t.autoCorrect && delta.magnitude <= t.maxAutoCorrectionAmount
                out.append(ProposedCorrection(key: d.key, effect: .balanceAdjustment(asset: asset, amount: delta), autoApplicable: auto,
                                              reason: "adjust \(asset) by \(delta) to the venue's balance"))
            default:
                continue
            }
        }
        return out
    }
}

extension LocalOrder {
    var json: JSONValue {
        var entries: [(key: String, value: JSONValue)] = [("symbol", .string(symbol)), ("side", .string(side.rawValue)),
                                                          ("qty", .decimal(qty)), ("remaining", .decimal(remaining))]
        if let price { entries.append(("price", .decimal(price))) }
        return .object(JSONObject(entries))
    }
}

extension RemoteOrder {
    var json: JSONValue {
        var entries: [(key: String, value: JSONValue)] = [("symbol", .string(symbol)), ("side", .string(side.rawValue)),
                                                          ("qty", .decimal(qty)), ("remaining", .decimal(remaining))]
        if let price { entries.append(("price", .decimal(price))) }
        return .object(JSONObject(entries))
    }
}

extension LocalPosition {
    var json: JSONValue {
        .object(JSONObject([("qty", .decimal(position.qty)), ("entry_price", .decimal(position.entryPrice))]))
    }
}

extension RemotePosition {
    var json: JSONValue {
        .object(JSONObject([("qty", .decimal(qty)), ("entry_price", .decimal(entryPrice))]))
    }
}

extension FillRecord {
    var json: JSONValue {
        var entries: [(key: String, value: JSONValue)] = [
            ("fill_id", .string(fillId)), ("order_id", .string(orderId)), ("symbol", .string(symbol)),
            ("side", .string(side.rawValue)), ("qty", .decimal(qty)), ("price", .decimal(price)),
            ("fee", fee.map { .decimal($0) } ?? .null),
        ]
        if let feeAsset { entries.append(("fee_asset", .string(feeAsset))) }
        entries.append(("liquidity", .string(liquidity.rawValue)))
        if let tsMs { entries.append(("ts_ms", .number("\(tsMs)"))) }
        return .object(JSONObject(entries))
    }
}
