import Testing
@testable import ReconCore

/// Runs every event through a replay runner and returns the report of the last
/// trigger point. Events are written as compact JSON objects, one per string.
func lastReport(_ lines: [String], config: ReconConfig = .standard) throws -> Report {
    // Each line gets its envelope (id, account) so a test says only what matters.
    let text = lines.enumerated().map { i, line in #"{"id":"e\#(i + 1)","account":"a","# + line.dropFirst() }.joined(separator: "\n")
    let decoded = try Array(text.utf8).withUnsafeBytes { try NDJSON.decode($0) }
    var runner = ReplayRunner(config: config)
    var last: Report?
    for (i, d) in decoded.enumerated() {
        if let outcome = runner.apply(LoggedEvent(seq: UInt64(i + 1), ingestMs: Int64(i + 1), event: d.event)) { last = outcome.report }
    }
    return try #require(last)
}

@Suite struct ClosedPositionMatchingTests {
    static func trip(_ symbol: String = "BTC-PERP", side: PositionSide = .long, entryMs: Int64, price: ExactDecimal, seq: UInt64 = 1) -> ClosedPosition {
        ClosedPosition(symbol: symbol, side: side, qty: 1, entryTsMs: entryMs, entryPrice: price, closePrice: price, closeTsMs: entryMs + 60_000,
                       realizedPnl: 0, commission: 0, netPnl: 0, openSeq: seq, closeSeq: seq + 1, synthetic: false)
    }

    static func record(_ id: String, _ symbol: String = "BTC-PERP", side: PositionSide = .long, entryMs: Int64, price: ExactDecimal) -> ClosedPositionRecord {
        ClosedPositionRecord(positionId: id, symbol: symbol, side: side, qty: 1, entryPrice: price, entryTsMs: entryMs, closePrice: price,
                             closeTsMs: entryMs + 60_000, realizedPnl: 0, commission: 0, netPnl: 0)
    }

    static let window = ClosedPositionMatcher.Window(timeMs: 5_000, pricePct: "0.1")

    /// At and beyond each window edge: time (5000 ms) and price (0.1 % of the venue's price).
    @Test func windowEdges() {
        let cases: [(name: String, local: ClosedPosition, remote: ClosedPositionRecord, matches: Bool)] = [
            ("same entry", Self.trip(entryMs: 1_000_000, price: "100"), Self.record("p", entryMs: 1_000_000, price: "100"), true),
            ("time exactly at the window", Self.trip(entryMs: 1_000_000, price: "100"), Self.record("p", entryMs: 1_005_000, price: "100"), true),
            ("time 1 ms beyond", Self.trip(entryMs: 1_000_000, price: "100"), Self.record("p", entryMs: 1_005_001, price: "100"), false),
            ("time before, at the window", Self.trip(entryMs: 1_005_000, price: "100"), Self.record("p", entryMs: 1_000_000, price: "100"), true),
            ("price exactly 0.1 %", Self.trip(entryMs: 1_000_000, price: "100.1"), Self.record("p", entryMs: 1_000_000, price: "100"), true),
            ("price just beyond", Self.trip(entryMs: 1_000_000, price: "100.1001"), Self.record("p", entryMs: 1_000_000, price: "100"), false),
            ("other side", Self.trip(side: .short, entryMs: 1_000_000, price: "100"), Self.record("p", entryMs: 1_000_000, price: "100"), false),
            ("other symbol", Self.trip("ETH-PERP", entryMs: 1_000_000, price: "100"), Self.record("p", entryMs: 1_000_000, price: "100"), false),
        ]
        for c in cases {
            let result = ClosedPositionMatcher.match(local: [c.local], remote: [c.remote]) { _ in Self.window }
            #expect(result.pairs.count == (c.matches ? 1 : 0), "\(c.name)")
            #expect(result.unmatchedLocal == (c.matches ? [] : [0]), "\(c.name)")
            #expect(result.unmatchedRemote == (c.matches ? [] : [0]), "\(c.name)")
        }
    }

    /// Ids never matter; the nearest record in time wins when two fit.
    @Test func nearestInTimeWinsAndIdsAreIgnored() {
        let local = [Self.trip(entryMs: 10_000, price: "100", seq: 1), Self.trip(entryMs: 12_000, price: "100", seq: 3)]
        let remote = [Self.record("zzz", entryMs: 12_100, price: "100"), Self.record("aaa", entryMs: 9_900, price: "100")]
        let result = ClosedPositionMatcher.match(local: local, remote: remote) { _ in Self.window }
        #expect(result.pairs.map { [$0.local, $0.remote] } == [[0, 1], [1, 0]])
    }

    /// 20,000 trips against 20,000 jittered records: all matched, in well under quadratic time.
    @Test func largeBooksMatchCompletely() {
        var local: [ClosedPosition] = []
        var remote: [ClosedPositionRecord] = []
        for i in 0..<20_000 {
            let t = Int64(i) * 60_000
            local.append(Self.trip("S\(i % 7)", side: i % 2 == 0 ? .long : .short, entryMs: t, price: 100, seq: UInt64(i)))
            remote.append(Self.record("p\(i)", "S\(i % 7)", side: i % 2 == 0 ? .long : .short, entryMs: t + Int64(i % 9) * 100 - 400, price: "100.05"))
        }
        let result = ClosedPositionMatcher.match(local: local, remote: remote.reversed()) { _ in Self.window }
        #expect(result.pairs.count == 20_000)
        #expect(result.unmatchedLocal.isEmpty && result.unmatchedRemote.isEmpty)
    }
}

@Suite struct AccountingChecksTests {
    static let btc = #"{"type":"instrument","ts_ms":1,"symbol":"BTC-PERP","kind":"perp","base":"BTC","quote":"USDT"}"#

    static func fill(_ id: String, _ side: String, _ qty: String, _ price: String, ts: Int64, fee: String = "0.1") -> String {
        #"{"type":"fill","ts_ms":\#(ts),"fill_id":"\#(id)","order_id":"o-\#(id)","symbol":"BTC-PERP","side":"\#(side)","qty":"\#(qty)","price":"\#(price)","fee":"\#(fee)","fee_asset":"USDT","liquidity":"taker"}"#
    }

    static func history(from: Int64, to: Int64, _ positions: String) -> String {
        #"{"type":"exchange_position_history","ts_ms":\#(to),"from_ms":\#(from),"to_ms":\#(to),"positions":[\#(positions)]}"#
    }

    static func venueTrip(_ id: String, entry: Int64, price: String = "100", commission: String = "0.2", realized: String = "10") -> String {
        #"{"position_id":"\#(id)","symbol":"BTC-PERP","side":"long","qty":"1","entry_price":"\#(price)","entry_ts_ms":\#(entry),"close_price":"110","close_ts_ms":\#(entry + 60_000),"realized_pnl":"\#(realized)","commission":"\#(commission)","net_pnl":"\#(ExactDecimal(realized)! - ExactDecimal(commission)!)"}"#
    }

    /// A round trip of the bot's: buy 1 @ 100, sell 1 @ 110; realized 10, commission 0.2.
    static func botTrip(entry: Int64, prefix: String) -> [String] {
        [fill("\(prefix)1", "buy", "1", "100", ts: entry), fill("\(prefix)2", "sell", "1", "110", ts: entry + 60_000)]
    }

    /// The findings of the checks under test (fee metrics and order bookkeeping of
    /// these hand-written fills are other tests' business).
    func types(_ r: Report) -> [String] {
        let checks: Set = ["closed_positions", "inventory", "accounting", "freshness"]
        return r.discrepancies.filter { checks.contains($0.type.check) }.map(\.type.rawValue).sorted()
    }

    @Test func matchedTripIsClean() throws {
        let r = try lastReport([Self.btc] + Self.botTrip(entry: 100_000, prefix: "a")
                               + [Self.history(from: 0, to: 1_000_000, Self.venueTrip("v1", entry: 100_020))])
        #expect(types(r) == [])
        #expect(r.findings.checks.first { $0.0 == "closed_positions" }?.1 == "ran")
    }

    @Test func manualTradeOnTheVenueIsMissingLocalAndNeverCorrected() throws {
        let r = try lastReport([Self.btc] + [Self.history(from: 0, to: 1_000_000, Self.venueTrip("v9", entry: 300_000))])
        #expect(types(r) == ["closed_position_missing_local"])
        let d = try #require(r.discrepancies.first { $0.type == .closedPositionMissingLocal })
        #expect(d.severity == .warning && d.key == "closed_position_missing_local:a:BTC-PERP:long:300000")
        #expect(d.impactQuote == "9.8")
        #expect(r.findings.corrections.isEmpty)
    }

    @Test func tripClosedLocallyButNotOnTheVenue() throws {
        let r = try lastReport([Self.btc] + Self.botTrip(entry: 100_000, prefix: "a") + [Self.history(from: 0, to: 1_000_000, "")])
        #expect(types(r) == ["closed_position_missing_remote"])
        #expect(r.discrepancies.first?.severity == .critical)
    }

    /// A trip whose close is not inside the venue's window (less the clock skew) is not expected there.
    @Test func tripOutsideTheWindowIsNotExpected() throws {
        // Closes at 160,000; the window ends 500 ms later, inside the 1000 ms skew.
        let r = try lastReport([Self.btc] + Self.botTrip(entry: 100_000, prefix: "a") + [Self.history(from: 0, to: 160_500, "")])
        #expect(types(r) == [])
    }

    @Test func pnlAndCommissionMismatches() throws {
        let cases: [(commission: String, realized: String, expected: [String])] = [
            ("0.2", "10", []),
            ("1.2", "10", []),  // 1.00 apart: within pnl_tolerance
            ("1.3", "10", ["closed_position_pnl_mismatch"]),
            ("0.2", "12", ["closed_position_pnl_mismatch"]),
        ]
        for c in cases {
            let r = try lastReport([Self.btc] + Self.botTrip(entry: 100_000, prefix: "a")
                                   + [Self.history(from: 0, to: 1_000_000, Self.venueTrip("v1", entry: 100_000, commission: c.commission, realized: c.realized))])
            #expect(types(r) == c.expected, "commission \(c.commission) realized \(c.realized)")
        }
    }

    /// A venue re-sending an overlapping window lists a position once.
    @Test func repolledWindowDoesNotDuplicate() throws {
        let trip = Self.venueTrip("v1", entry: 100_000)
        let r = try lastReport([Self.btc] + Self.botTrip(entry: 100_000, prefix: "a")
                               + [Self.history(from: 0, to: 500_000, trip), Self.history(from: 0, to: 900_000, trip)])
        #expect(types(r) == [])
    }

    static let eth = #"{"type":"instrument","ts_ms":1,"symbol":"ETH/USDT","kind":"spot","base":"ETH","quote":"USDT"}"#

    static func snapshot(eth: String, usdt: String, mark: String = "1000", ts: Int64 = 10_000, equity: String? = nil) -> String {
        #"{"type":"exchange_snapshot","ts_ms":\#(ts),"balances":[{"asset":"ETH","total":"\#(eth)"},{"asset":"USDT","total":"\#(usdt)"}],"prices":[{"symbol":"ETH/USDT","mark":"\#(mark)"}]\#(equity.map { #","equity":"\#($0)""# } ?? "")}"#
    }

    static func transfers(eth: String, usdt: String) -> [String] {
        [#"{"type":"transfer","ts_ms":5,"asset":"ETH","amount":"\#(eth)","kind":"deposit"}"#,
         #"{"type":"transfer","ts_ms":5,"asset":"USDT","amount":"\#(usdt)","kind":"deposit"}"#]
    }

    /// Inventory bands at each threshold: target 0.5, warn 0.10, critical 0.25.
    @Test func inventoryBands() throws {
        let config = try ReconConfig.parse(#"{"accounts":{"a":{"target_base_pct":"0.5"}}}"#)
        // ETH at mark 1000; equity 10,000 = ETH value + USDT.
        let cases: [(eth: String, usdt: String, severity: Severity?)] = [
            ("5", "5000", nil),            // 0.50
            ("5.999", "4001", nil),        // 0.5999: just under warn
            ("6", "4000", .warning),       // 0.60: at warn
            ("7.499", "2501", .warning),   // 0.7499
            ("7.5", "2500", .critical),    // 0.75: at critical
            ("2.5", "7500", .critical),    // 0.25: below target by 0.25
        ]
        for c in cases {
            let r = try lastReport([Self.eth] + Self.transfers(eth: c.eth, usdt: c.usdt) + [Self.snapshot(eth: c.eth, usdt: c.usdt)], config: config)
            let d = r.discrepancies.first { $0.type == .inventoryDrift }
            #expect(d?.severity == c.severity, "ETH \(c.eth)")
            if let d { #expect(d.thresholds.map(\.0) == ["target_base_pct", "inventory_warn", "inventory_critical"]) }
        }
    }

    @Test func inventoryNeedsATarget() throws {
        let r = try lastReport([Self.eth] + Self.transfers(eth: "9", usdt: "1000") + [Self.snapshot(eth: "9", usdt: "1000")])
        #expect(!r.discrepancies.contains { $0.type == .inventoryDrift })
        #expect(r.findings.checks.first { $0.0 == "inventory" }?.1 == "no target_base_pct configured")
    }

    @Test func equityAndBasePctOutOfRange() throws {
        // Borrowed quote: USDT negative, ETH worth more than equity.
        let r = try lastReport([Self.eth] + Self.transfers(eth: "10", usdt: "-2000") + [Self.snapshot(eth: "10", usdt: "-2000")])
        #expect(types(r) == ["base_pct_out_of_range"])
        let broke = try lastReport([Self.eth] + Self.transfers(eth: "1", usdt: "-2000") + [Self.snapshot(eth: "1", usdt: "-2000", equity: "-1000")])
        #expect(types(broke).contains("equity_nonpositive"))
    }

    @Test func turnoverWithoutFeesWhereTheScheduleCharges() throws {
        let config = try ReconConfig.parse(#"{"defaults":{"fees":{"tier":"VIP0"}}}"#)
        let noFees = [Self.btc, Self.fill("a1", "buy", "1", "100", ts: 10, fee: "0"), Self.fill("a2", "sell", "1", "101", ts: 20, fee: "0"),
                      #"{"type":"recon_requested","ts_ms":30,"requested_by":"t"}"#]
        let r = try lastReport(noFees, config: config)
        let d = try #require(r.discrepancies.first { $0.type == .turnoverWithoutFeeAccrual })
        #expect(d.delta == "0.1407")  // 201 notional × 7 bps
        // Without a schedule there is nothing to expect.
        #expect(!(try lastReport(noFees)).discrepancies.contains { $0.type == .turnoverWithoutFeeAccrual })
    }

    /// A switched-off check says so; its findings are not reported.
    @Test func switchedOffCheckSaysSo() throws {
        let config = try ReconConfig.parse(#"{"accounts":{"a":{"checks":{"closed_positions":false}}}}"#)
        let r = try lastReport([Self.btc] + [Self.history(from: 0, to: 1_000_000, Self.venueTrip("v9", entry: 300_000))], config: config)
        #expect(types(r) == [])
        #expect(r.findings.checks.first { $0.0 == "closed_positions" }?.1 == "off")
    }

    @Test func impactAboveTheAlertLevel() throws {
        let config = try ReconConfig.parse(#"{"defaults":{"impact_alert_quote":"5"}}"#)
        let r = try lastReport([Self.btc] + [Self.history(from: 0, to: 1_000_000, Self.venueTrip("v9", entry: 300_000))], config: config)
        #expect(types(r) == ["closed_position_missing_local", "impact_high"])
        #expect(r.discrepancies.first { $0.type == .impactHigh }?.local == .decimal("9.8"))
    }

    /// The freshness check measures event time, never the wall clock.
    @Test func staleVenueData() throws {
        let r = try lastReport([Self.btc, #"{"type":"exchange_snapshot","ts_ms":1000,"positions":[]}"#,
                                Self.fill("a1", "buy", "1", "100", ts: 302_000), #"{"type":"recon_requested","ts_ms":302001,"requested_by":"t"}"#])
        #expect(r.discrepancies.contains { $0.type == .remoteStale })
    }

    /// A fill that overtakes its order's acknowledgement: the order, when it
    /// arrives, starts filled by it, and the fill is no longer "unknown".
    @Test func fillBeforeItsOrder() throws {
        let order = #"{"type":"order_submitted","ts_ms":900,"order_id":"o-a1","symbol":"BTC-PERP","side":"buy","qty":"2","price":"100","order_type":"limit"}"#
        let snapshot = #"{"type":"exchange_snapshot","ts_ms":5000,"open_orders":[{"order_id":"o-a1","symbol":"BTC-PERP","side":"buy","qty":"2","remaining":"1","price":"100"}],"positions":[{"symbol":"BTC-PERP","qty":"1","entry_price":"100"}]}"#
        let early = try lastReport([Self.btc, Self.fill("a1", "buy", "1", "100", ts: 1_000), order, snapshot])
        let all = early.discrepancies.filter { $0.severity != .info && $0.type.check != "fees" }.map(\.type.rawValue)
        #expect(all == [], "\(all)")
        // Without the order, the fill stays unknown.
        let orphan = try lastReport([Self.btc, Self.fill("a1", "buy", "1", "100", ts: 1_000), snapshot])
        #expect(orphan.discrepancies.contains { $0.type == .fillUnknownOrder })
        // Filled in full by early fills: closed as filled, nothing open.
        let full = try lastReport([Self.btc, Self.fill("a1", "buy", "2", "100", ts: 1_000), order,
                                   #"{"type":"exchange_snapshot","ts_ms":5000,"open_orders":[]}"#])
        #expect(!full.discrepancies.contains { $0.type == .orderMissingRemote || $0.type == .fillUnknownOrder })
        // A cancel that overtook its order: the order arrives closed, not open forever.
        let cancel = #"{"type":"order_canceled","ts_ms":950,"order_id":"o-a1"}"#
        let canceled = try lastReport([Self.btc, cancel, order, #"{"type":"exchange_snapshot","ts_ms":5000,"open_orders":[]}"#])
        #expect(!canceled.discrepancies.contains { $0.type == .orderMissingRemote }, "\(canceled.discrepancies.map(\.key))")
    }
}
