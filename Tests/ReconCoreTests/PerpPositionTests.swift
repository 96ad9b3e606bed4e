import Testing
@testable import ReconCore

@Suite struct PerpPositionTests {
    struct Step: Sendable, CustomStringConvertible {
        var side: Side
        var qty: ExactDecimal
        var price: ExactDecimal
        var description: String { "\(side) \(qty)@\(price)" }
    }

    static func buy(_ q: ExactDecimal, _ p: ExactDecimal) -> Step { Step(side: .buy, qty: q, price: p) }
    static func sell(_ q: ExactDecimal, _ p: ExactDecimal) -> Step { Step(side: .sell, qty: q, price: p) }

    struct Case: Sendable {
        var name: String
        var steps: [Step]
        var qty: ExactDecimal
        var entry: ExactDecimal
        var realized: ExactDecimal
    }

    static let cases: [Case] = [
        Case(name: "open long, add: weighted average entry", steps: [buy("1", "100"), buy("1", "110")], qty: "2", entry: "105", realized: "0"),
        Case(name: "partial fills building a position", steps: [buy("0.3", "100"), buy("0.2", "100"), buy("0.5", "100")], qty: "1", entry: "100", realized: "0"),
        Case(name: "reduce long at a profit", steps: [buy("2", "100"), sell("0.5", "120")], qty: "1.5", entry: "100", realized: "10"),
        Case(name: "reduce long at a loss", steps: [buy("2", "100"), sell("1", "90")], qty: "1", entry: "100", realized: "-10"),
        Case(name: "close exactly", steps: [buy("1", "100"), buy("1", "110"), sell("2", "120")], qty: "0", entry: "0", realized: "30"),
        Case(name: "flip long to short", steps: [buy("0.5", "65000"), sell("0.8", "65200")], qty: "-0.3", entry: "65200", realized: "100"),
        Case(name: "short, add, reduce", steps: [sell("1", "100"), sell("1", "90"), buy("1", "80")], qty: "-1", entry: "95", realized: "15"),
        Case(name: "flip short to long", steps: [sell("1", "100"), buy("3", "90")], qty: "2", entry: "90", realized: "10"),
        Case(name: "partial-close rounding never leaks into a full close",
             steps: [buy("3", "10"), buy("3", "11"), sell("1", "12"), sell("1", "12"), sell("4", "12")], qty: "0", entry: "0", realized: "9"),
    ]

    /// Table of perp arithmetic: final quantity, average entry and realized PnL.
    @Test func perpArithmetic() {
        for c in Self.cases {
            var p = PerpPosition()
            var total: ExactDecimal = 0
            for s in c.steps { total += p.apply(side: s.side, qty: s.qty, price: s.price).realizedPnl }
            #expect(p.qty == c.qty, "\(c.name)")
            #expect(p.entryPrice == c.entry, "\(c.name)")
            #expect(total == c.realized, "\(c.name)")
        }
    }

    @Test func flipReportsCloseAndOpen() {
        var p = PerpPosition()
        p.apply(side: .buy, qty: "0.5", price: "65000")
        let change = p.apply(side: .sell, qty: "0.8", price: "65200")
        #expect(change.closed && change.flipped && change.opened)
        #expect(change.closedQty == "0.5")
    }
}

@Suite struct LocalReducerTests {
    func fold(_ events: [Event]) -> AccountProjection {
        var p = AccountProjection(account: "bot1")
        for (i, e) in events.enumerated() { p.apply(e, seq: UInt64(i + 1)) }
        #expect(p.checkInvariants().isEmpty, "\(p.checkInvariants())")
        return p
    }

    var n = 0
    func ev(_ body: EventBody, ts: Int64 = 1_000) -> Event {
        Event(id: "e-\(ts)-\(body.type.name)-\(Int.random(in: 0..<1_000_000_000))", account: "bot1", tsMs: ts, body: body)
    }

    func order(_ id: String, _ side: Side, _ qty: ExactDecimal, _ price: ExactDecimal, symbol: String = "BTC-PERP", reduceOnly: Bool = false) -> EventBody {
        .orderSubmitted(OrderSubmitted(orderId: id, symbol: symbol, side: side, qty: qty, price: price, orderType: .limit, postOnly: true, reduceOnly: reduceOnly))
    }

    func fill(_ fid: String, _ oid: String, _ side: Side, _ qty: ExactDecimal, _ price: ExactDecimal, fee: ExactDecimal = "0.1",
              asset: String = "USDT", symbol: String = "BTC-PERP", liquidity: Liquidity = .maker) -> EventBody {
        .fill(FillRecord(fillId: fid, orderId: oid, symbol: symbol, side: side, qty: qty, price: price, fee: fee, feeAsset: asset, liquidity: liquidity))
    }

    @Test func orderLifecycle() {
        let p = fold([
            ev(order("o1", .buy, "1", "100")), ev(fill("f1", "o1", .buy, "0.4", "100")),
            ev(order("o2", .sell, "1", "110")), ev(.orderCanceled(OrderCanceled(orderId: "o2"))),
            ev(order("o3", .sell, "1", "120")), ev(.orderRejected(OrderRejected(orderId: "o3", reason: "post only"))),
            ev(fill("f2", "o1", .buy, "0.6", "100")),
        ])
        #expect(p.local.openOrders.isEmpty)
        #expect(p.local.closedOrders["o1"]?.status == .filled)
        #expect(p.local.closedOrders["o2"]?.status == .canceled)
        #expect(p.local.closedOrders["o3"]?.status == .rejected)
        #expect(p.local.positions["BTC-PERP"]?.position.qty == "1")
        #expect(p.local.findings.isEmpty)
    }

    @Test func partialFillLeavesOrderOpenWithRemaining() {
        let p = fold([ev(order("o1", .buy, "1", "100")), ev(fill("f1", "o1", .buy, "0.25", "100"))])
        #expect(p.local.openOrders["o1"]?.remaining == "0.75")
        #expect(p.local.openOrders["o1"]?.status == .partiallyFilled)
        #expect(p.local.openOrders["o1"]?.lastSeq == 2)
    }

    @Test func integrityFindings() {
        let p = fold([
            ev(order("o1", .buy, "1", "100")),
            ev(fill("f1", "o1", .buy, "1", "100")),
            ev(fill("f2", "o1", .buy, "0.5", "100")),                // overfill (order already filled)
            ev(fill("f3", "nope", .buy, "1", "100")),                // unknown order
            ev(order("o2", .sell, "1", "100")), ev(.orderCanceled(OrderCanceled(orderId: "o2"))),
            ev(fill("f4", "o2", .sell, "1", "100")),                 // after cancel
            ev(fill("f1", "o1", .buy, "1", "100")),                  // identical redelivery: ignored
            ev(fill("f1", "o1", .buy, "1", "101")),                  // conflicting redelivery
        ])
        let kinds = p.local.findings.map(\.kind)
        #expect(kinds == [.fillOverfill, .fillUnknownOrder, .fillAfterCancel, .fillDuplicateConflict])
        #expect(p.local.duplicateFillsIgnored == 1)
        // The first delivery stays in force: f1's price is 100 in the position.
        #expect(p.local.fills["f1"]?.record.price == "100")
        // f1, f2, f3 bought 2.5; f4 sold 1.
        #expect(p.local.positions["BTC-PERP"]?.position.qty == "1.5")
    }

    @Test func perpFeesAndRebatesMoveTheSettlementAsset() {
        let p = fold([
            ev(.transfer(Transfer(asset: "USDT", amount: "1000", kind: .deposit))),
            ev(order("o1", .buy, "1", "100")), ev(fill("f1", "o1", .buy, "1", "100", fee: "0.05")),
            ev(order("o2", .sell, "1", "110")), ev(fill("f2", "o2", .sell, "1", "110", fee: "-0.02")),
        ])
        // 1000 - 0.05 + 10 (realized) + 0.02 (rebate)
        #expect(p.local.balances["USDT"]?.amount == "1009.97")
        #expect(p.local.balances["USDT"]?.lastSeq == 5)
        #expect(p.local.closedPositions.count == 1)
        let trip = p.local.closedPositions[0]
        #expect(trip.side == .long && trip.realizedPnl == "10" && trip.commission == "0.03" && trip.netPnl == "9.97")
    }

    @Test func spotWithFeeInBaseAndInQuote() {
        let p = fold([
            ev(.instrument(Instrument(symbol: "BTC/USDT", kind: .spot, base: "BTC", quote: "USDT"))),
            ev(.transfer(Transfer(asset: "USDT", amount: "10000", kind: .deposit))),
            ev(order("o1", .buy, "0.1", "65000", symbol: "BTC/USDT")),
            ev(fill("f1", "o1", .buy, "0.1", "65000", fee: "0.0001", asset: "BTC", symbol: "BTC/USDT")),
            ev(order("o2", .sell, "0.05", "66000", symbol: "BTC/USDT")),
            ev(fill("f2", "o2", .sell, "0.05", "66000", fee: "3.3", asset: "USDT", symbol: "BTC/USDT", liquidity: .taker)),
        ])
        #expect(p.local.balances["BTC"]?.amount == "0.0499")
        #expect(p.local.balances["USDT"]?.amount == "6796.7")
        #expect(p.local.positions.isEmpty)
    }

    @Test func reduceOnlyFillReducesThePosition() {
        let p = fold([
            ev(order("o1", .sell, "3", "100")), ev(fill("f1", "o1", .sell, "3", "100")),
            ev(order("o2", .buy, "2", "95", reduceOnly: true)), ev(fill("f2", "o2", .buy, "2", "95")),
        ])
        #expect(p.local.positions["BTC-PERP"]?.position.qty == "-1")
        #expect(p.local.positions["BTC-PERP"]?.realizedPnl == "10")
    }

    @Test func correctionsApplyAndAreMarkedSynthetic() {
        let venueFill = FillRecord(fillId: "vf1", orderId: "o9", symbol: "ETH-PERP", side: .buy, qty: "2", price: "3000",
                                   fee: "0.6", feeAsset: "USDT", liquidity: .taker, tsMs: 900)
        let p = fold([
            ev(.correction(Correction(key: "fill_missing_local:bot1:vf1", sourceRunId: "run-x", approvedBy: "ops", effect: .fill(venueFill)))),
            ev(.correction(Correction(key: "k", sourceRunId: "run-x", approvedBy: "ops", effect: .positionAdjustment(symbol: "SOL-PERP", qtyDelta: "-5", price: "150")))),
            ev(.correction(Correction(key: "k2", sourceRunId: "run-x", approvedBy: "ops", effect: .balanceAdjustment(asset: "USDT", amount: "-2.62")))),
        ])
        #expect(p.local.fills["vf1"]?.synthetic == true)
        #expect(p.local.fills["vf1"]?.tsMs == 900)
        #expect(p.local.positions["ETH-PERP"]?.synthetic == true)
        #expect(p.local.positions["SOL-PERP"]?.position.qty == "-5")
        #expect(p.local.balances["USDT"]?.amount == "-3.22")
        #expect(p.local.findings.isEmpty)
    }
}
