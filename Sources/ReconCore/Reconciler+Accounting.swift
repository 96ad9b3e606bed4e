/// The checks after the fee checks: closed positions (round trips), inventory,
/// and accounting sanity. Each returns the state the report shows for the check
/// ("ran", "off", or why it could not run) with its findings.
extension Reconciler {
    typealias CheckResult = (state: String, discrepancies: [Discrepancy])

    // MARK: Closed positions

    /// The bot's round trips against the venue's position history, matched by
    /// `ClosedPositionMatcher`. A venue record the bot lacks is reported and kept
    /// (a manual trade is never "fixed"); a bot trip is expected at the venue only
    /// when it closed inside a window the venue listed, at least the clock skew
    /// away from the window's edges.
    static func closedPositionChecks(_ projection: AccountProjection, config: ReconConfig) -> CheckResult {
        let account = projection.account
        guard config.thresholds(account: account).checks.closedPositions else { return ("off", []) }
        let coverage = projection.remote.positionHistoryCoverage
        guard !coverage.isEmpty else { return ("no venue position history reported", []) }
        let local = projection.local.closedPositions
        let venue = projection.remote.positionHistory.values.sorted { $0.record.positionId < $1.record.positionId }
        var thresholds: [String: Thresholds] = [:]
        func ts(_ symbol: String) -> Thresholds {
            if let t = thresholds[symbol] { return t }
            let t = config.thresholds(account: account, symbol: symbol)
            thresholds[symbol] = t
            return t
        }
        let matching = ClosedPositionMatcher.match(local: local, remote: venue.map(\.record)) { symbol in
            ClosedPositionMatcher.Window(timeMs: ts(symbol).positionMatchTimeMs, pricePct: ts(symbol).positionMatchPricePct)
        }
        var out: [Discrepancy] = []
        func windowThresholds(_ t: Thresholds) -> [(String, JSONValue)] {
            [("position_match_time_ms", .number("\(t.positionMatchTimeMs)")), ("position_match_price_pct", .decimal(t.positionMatchPricePct))]
        }
        for ri in matching.unmatchedRemote {
            let r = venue[ri]
            let x = r.record
            var d = Discrepancy(type: .closedPositionMissingLocal, severity: .warning, account: account,
                                subject: "\(x.symbol):\(x.side.rawValue):\(x.entryTsMs)",
                                message: "the venue closed a \(x.side.rawValue) \(x.qty) \(x.symbol) position (entry \(x.entryPrice) at \(x.entryTsMs), net \(x.netPnl)) that the bot never held; a manual trade?")
            d.symbol = x.symbol
            d.identity = [("side", x.side.rawValue), ("entry_ts_ms", "\(x.entryTsMs)"), ("position_id", x.positionId)]
            d.remote = x.json
            d.remoteSeq = r.seq
            d.impactQuote = x.netPnl.magnitude
            d.thresholds = windowThresholds(ts(x.symbol))
            out.append(d)
        }
        for li in matching.unmatchedLocal {
            let l = local[li]
            let skew = ts(l.symbol).clockSkewMs
            guard coverage.contains(where: { l.closeTsMs >= $0.fromMs + skew && l.closeTsMs <= $0.toMs - skew }) else { continue }
            var d = Discrepancy(type: .closedPositionMissingRemote, severity: .critical, account: account,
                                subject: "\(l.symbol):\(l.side.rawValue):\(l.entryTsMs)",
                                message: "the bot closed a \(l.side.rawValue) \(l.qty) \(l.symbol) position (entry \(l.entryPrice) at \(l.entryTsMs), net \(l.netPnl.rounded(scale: 8))) that the venue's history lacks")
            d.symbol = l.symbol
            d.identity = [("side", l.side.rawValue), ("entry_ts_ms", "\(l.entryTsMs)")]
            d.local = l.json
            d.localSeq = l.closeSeq
            d.impactQuote = l.netPnl.magnitude
            d.thresholds = windowThresholds(ts(l.symbol)) + [("clock_skew_ms", .number("\(skew)"))]
            out.append(d)
        }
        for (li, ri) in matching.pairs {
            let l = local[li], r = venue[ri], x = r.record
            let t = ts(l.symbol)
            let realized = x.realizedPnl - l.realizedPnl, commission = x.commission - l.commission, net = x.netPnl - l.netPnl
            guard realized.magnitude > t.pnlTolerance || commission.magnitude > t.pnlTolerance || net.magnitude > t.pnlTolerance else { continue }
            var d = Discrepancy(type: .closedPositionPnlMismatch, severity: .warning, account: account,
                                subject: "\(l.symbol):\(l.side.rawValue):\(l.entryTsMs)",
                                message: "\(l.symbol) \(l.side.rawValue) round trip entered at \(l.entryTsMs): net \(l.netPnl.rounded(scale: 8)) locally, \(x.netPnl) on the venue (realized \(realized), commission \(commission) apart)")
            d.symbol = l.symbol
            d.identity = [("side", l.side.rawValue), ("entry_ts_ms", "\(l.entryTsMs)"), ("position_id", x.positionId),
                          ("realized_pnl_delta", "\(realized)"), ("commission_delta", "\(commission)")]
            d.local = l.json
            d.remote = x.json
            d.delta = net
            d.localSeq = l.closeSeq
            d.remoteSeq = r.seq
            d.impactQuote = net.magnitude
            d.thresholds = [("pnl_tolerance", .decimal(t.pnlTolerance))] + windowThresholds(t)
            out.append(d)
        }
        return ("ran", out)
    }

    // MARK: Inventory and accounting

    /// An account's spot inventory: base holdings at mark against equity in the quote asset.
    struct Inventory {
        var baseValue: ExactDecimal
        var equity: ExactDecimal
        /// "venue" when the venue's balances were used, else "local".
        var basis: String
        var balancesSeq: UInt64?
        var basePct: ExactDecimal? { equity.isPositive ? baseValue.divided(by: equity, scale: 8) : nil }
    }

    /// The venue's balances when it has reported them (the inventory that is real),
    /// else the bot's. Nil with a reason when it cannot be valued.
    static func inventory(_ projection: AccountProjection, quote: String) -> (Inventory?, String) {
        let local = projection.local, remote = projection.remote
        let spot = local.instruments.values.map(\.instrument).filter { $0.kind == .spot && $0.quote == quote }
        guard !spot.isEmpty else { return (nil, "no spot instruments quoted in \(quote)") }
        let basis = remote.balances == nil ? "local" : "venue"
        func held(_ asset: String) -> ExactDecimal {
            remote.balances.map { $0[asset]?.total ?? 0 } ?? local.balances[asset]?.amount ?? 0
        }
        var baseValue: ExactDecimal = 0
        for i in spot.sorted(by: { $0.symbol < $1.symbol }) {
            let amount = held(i.base)
            guard !amount.isZero else { continue }
            guard let mark = remote.mark(of: i.symbol)?.mark else { return (nil, "no mark price for \(i.symbol)") }
            baseValue += amount * mark
        }
        let inventory = Inventory(baseValue: baseValue, equity: held(quote) + baseValue, basis: basis,
                                  balancesSeq: basis == "venue" ? remote.balancesSeq : local.lastSeq)
        return (inventory, "ran")
    }

    static func inventoryChecks(_ projection: AccountProjection, config: ReconConfig) -> CheckResult {
        let account = projection.account
        let t = config.thresholds(account: account)
        guard t.checks.inventory else { return ("off", []) }
        guard let target = t.targetBasePct else { return ("no target_base_pct configured", []) }
        let (found, reason) = inventory(projection, quote: t.quoteAsset)
        guard let inv = found else { return (reason, []) }
        guard let pct = inv.basePct else { return ("equity is not positive (see accounting)", []) }
        let drift = (pct - target).magnitude
        guard drift >= t.inventoryWarn else { return ("ran", []) }
        let severity: Severity = drift >= t.inventoryCritical ? .critical : .warning
        var d = Discrepancy(type: .inventoryDrift, severity: severity, account: account, subject: "inventory",
                            message: "base is \(pct.rounded(scale: 4)) of equity (\(inv.basis) balances), target \(target): \(drift.rounded(scale: 4)) off")
        d.local = .object(JSONObject([("base_pct", .decimal(pct)), ("base_value", .decimal(inv.baseValue)),
                                      ("equity", .decimal(inv.equity)), ("basis", .string(inv.basis))]))
        d.remote = nil
        d.delta = pct - target
        d.localSeq = inv.balancesSeq
        d.impactQuote = (drift * inv.equity).rounded(scale: 8)
        d.thresholds = [("target_base_pct", .decimal(target)), ("inventory_warn", .decimal(t.inventoryWarn)),
                        ("inventory_critical", .decimal(t.inventoryCritical))]
        return ("ran", [d])
    }

    /// Equity that is not positive, spot inventory outside [0, 1] of equity, and
    /// notional traded where the schedule charges but no fee was ever booked.
    static func accountingChecks(_ projection: AccountProjection, config: ReconConfig) -> CheckResult {
        let account = projection.account
        let t = config.thresholds(account: account)
        guard t.checks.accounting else { return ("off", []) }
        var out: [Discrepancy] = []
        let (inv, _) = inventory(projection, quote: t.quoteAsset)
        let equity = projection.remote.equity.map { ($0, "venue", projection.remote.equitySeq) }
            ?? inv.map { ($0.equity, $0.basis, $0.balancesSeq ?? 0) }
        if let (value, basis, seq) = equity, !value.isPositive {
            var d = Discrepancy(type: .equityNonpositive, severity: .critical, account: account, subject: "equity",
                                message: "equity is \(value) \(t.quoteAsset) (\(basis))")
            d.local = .object(JSONObject([("equity", .decimal(value)), ("basis", .string(basis))]))
            d.localSeq = seq
            d.impactQuote = value.magnitude
            out.append(d)
        }
        if let inv, let pct = inv.basePct, pct.isNegative || pct > 1 {
            var d = Discrepancy(type: .basePctOutOfRange, severity: .critical, account: account, subject: "base_pct",
                                message: "spot base is \(pct.rounded(scale: 4)) of equity (\(inv.basis) balances), outside [0, 1]")
            d.local = .object(JSONObject([("base_pct", .decimal(pct)), ("base_value", .decimal(inv.baseValue)),
                                          ("equity", .decimal(inv.equity)), ("basis", .string(inv.basis))]))
            d.localSeq = inv.balancesSeq
            // What lies outside [0, equity]: the base held beyond equity (borrowed quote), or the short base.
            d.impactQuote = pct.isNegative ? inv.baseValue.magnitude : inv.baseValue - inv.equity
            d.thresholds = [("min", .decimal(0)), ("max", .decimal(1))]
            out.append(d)
        }
        // Notional on symbols whose schedule charges a positive fee, with no fee booked at all.
        var unfeed: ExactDecimal = 0, expected: ExactDecimal = 0, count = 0, lastSeq: UInt64 = 0
        for (key, a) in projection.local.fees {
            guard let rates = config.feeRates(account: account, symbol: key.symbol), rates.netBps(key.liquidity).isPositive,
                  a.charged.isZero, a.rebated.isZero, a.otherAssetFees == 0, a.notional.isPositive else { continue }
            unfeed += a.notional
            expected += (a.feeNotional * rates.netBps(key.liquidity)).divided(by: 10_000, scale: 12)
            count += a.count
            lastSeq = max(lastSeq, a.lastSeq)
        }
        if unfeed.isPositive {
            var d = Discrepancy(type: .turnoverWithoutFeeAccrual, severity: .warning, account: account, subject: "fees",
                                message: "\(count) fills worth \(unfeed) \(t.quoteAsset) booked no fee where the schedule charges \(expected.rounded(scale: 8))")
            d.local = .object(JSONObject([("notional", .decimal(unfeed)), ("fills", .number("\(count)")), ("fees", .decimal(0))]))
            d.remote = .object(JSONObject([("expected_fees", .decimal(expected))]))
            d.delta = expected
            d.localSeq = lastSeq
            d.impactQuote = expected
            out.append(d)
        }
        return ("ran", out)
    }

    /// One finding when the money at stake in a run passes `impact_alert_quote`.
    static func impactCheck(_ discrepancies: [Discrepancy], account: String, config: ReconConfig) -> Discrepancy? {
        let t = config.thresholds(account: account)
        guard t.checks.accounting, let limit = t.impactAlertQuote else { return nil }
        let total = discrepancies.compactMap(\.impactQuote).reduce(0, +)
        guard total > limit else { return nil }
        let counted = discrepancies.filter { $0.impactQuote != nil }.count
        var d = Discrepancy(type: .impactHigh, severity: .warning, account: account, subject: "impact",
                            message: "\(total.rounded(scale: 2)) \(t.quoteAsset) at stake across \(counted) discrepanc\(counted == 1 ? "y" : "ies"), above \(limit)")
        d.local = .decimal(total)
        d.thresholds = [("impact_alert_quote", .decimal(limit))]
        return d
    }
}

extension ClosedPosition {
    public var json: JSONValue {
        .object(JSONObject([
            ("side", .string(side.rawValue)), ("qty", .decimal(qty)), ("entry_price", .decimal(entryPrice)),
            ("entry_ts_ms", .number("\(entryTsMs)")), ("close_price", .decimal(closePrice)), ("close_ts_ms", .number("\(closeTsMs)")),
            ("realized_pnl", .decimal(realizedPnl)), ("commission", .decimal(commission)), ("net_pnl", .decimal(netPnl)),
            ("synthetic", .bool(synthetic)),
        ]))
    }
}

extension ClosedPositionRecord {
    public var json: JSONValue {
        .object(JSONObject([
            ("position_id", .string(positionId)), ("side", .string(side.rawValue)), ("qty", .decimal(qty)),
            ("entry_price", .decimal(entryPrice)), ("entry_ts_ms", .number("\(entryTsMs)")), ("close_price", .decimal(closePrice)),
            ("close_ts_ms", .number("\(closeTsMs)")), ("realized_pnl", .decimal(realizedPnl)), ("commission", .decimal(commission)),
            ("net_pnl", .decimal(netPnl)),
        ]))
    }
}
