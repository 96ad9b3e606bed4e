/// Random events of every type, every optional field present or absent, for
/// property tests and fuzz seeds. Deterministic per seed.
public enum RandomEvents {
    public static func sample(seed: UInt64, count: Int) -> [Event] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { index in event(&rng, index: index) }
    }

    static func decimal(_ rng: inout SeededRandom, positive: Bool = false) -> ExactDecimal {
        let magnitude = Int128(1 + rng.below(10_000_000))
        let d = ExactDecimal(significand: magnitude, scale: rng.below(9))
        return positive || rng.chance(60) ? d : -d
    }

    static func name(_ rng: inout SeededRandom, _ prefix: String) -> String {
        // Some names carry characters JSON must escape, and non-ASCII text.
        switch rng.below(10) {
        case 0: return "\(prefix)-\"q\"\\\(rng.below(100))"
        case 1: return "\(prefix)-é✓-\(rng.below(100))"
        default: return "\(prefix)-\(rng.below(1000))"
        }
    }

    static func fill(_ rng: inout SeededRandom, venue: Bool) -> FillRecord {
        let unknownFee = venue && rng.chance(10)
        return FillRecord(fillId: name(&rng, "f"), orderId: name(&rng, "o"), symbol: name(&rng, "S"),
                          side: rng.chance(50) ? .buy : .sell, qty: decimal(&rng, positive: true),
                          price: decimal(&rng, positive: true), fee: unknownFee ? nil : decimal(&rng),
                          feeAsset: unknownFee ? nil : "USDT", liquidity: rng.chance(50) ? .maker : .taker,
                          tsMs: venue ? Int64(rng.below(1_000_000)) : nil)
    }

    static func maybe<T>(_ rng: inout SeededRandom, _ make: (inout SeededRandom) -> T) -> T? {
        rng.chance(70) ? make(&rng) : nil
    }

    static func event(_ rng: inout SeededRandom, index: Int) -> Event {
        let body: EventBody
        switch rng.below(11) {
        case 0:
            body = .instrument(Instrument(symbol: name(&rng, "S"), kind: rng.chance(50) ? .spot : .perp, base: "BTC", quote: "USDT",
                                          contractSize: decimal(&rng, positive: true)))
        case 1:
            let market = rng.chance(20)
            body = .orderSubmitted(OrderSubmitted(orderId: name(&rng, "o"), symbol: name(&rng, "S"), side: rng.chance(50) ? .buy : .sell,
                                                  qty: decimal(&rng, positive: true), price: market ? nil : decimal(&rng, positive: true),
                                                  orderType: market ? .market : .limit, postOnly: rng.chance(50), reduceOnly: rng.chance(30)))
        case 2: body = .orderCanceled(OrderCanceled(orderId: name(&rng, "o")))
        case 3: body = .orderRejected(OrderRejected(orderId: name(&rng, "o"), reason: "too \"far\"\n from mid"))
        case 4: body = .fill(fill(&rng, venue: false))
        case 5: body = .transfer(Transfer(asset: "USDT", amount: decimal(&rng), kind: TransferKind.allCases[rng.below(4)]))
        case 6:
            body = .exchangeSnapshot(ExchangeSnapshot(
                positions: maybe(&rng) { r in (0..<r.below(4)).map { _ in RemotePosition(symbol: name(&r, "S"), qty: decimal(&r), entryPrice: decimal(&r, positive: true)) } },
                openOrders: maybe(&rng) { r in (0..<r.below(4)).map { _ in
                    RemoteOrder(orderId: name(&r, "o"), symbol: name(&r, "S"), side: .sell, qty: decimal(&r, positive: true),
                                remaining: decimal(&r, positive: true), price: r.chance(80) ? decimal(&r, positive: true) : nil) } },
                balances: maybe(&rng) { r in [RemoteBalance(asset: "USDT", total: decimal(&r))] },
                equity: maybe(&rng) { r in decimal(&r) },
                prices: maybe(&rng) { r in [MarkPrice(symbol: name(&r, "S"), mark: decimal(&r, positive: true))] },
                symbols: maybe(&rng) { r in [name(&r, "S")] }))
        case 7:
            body = .exchangeFills(ExchangeFills(fromMs: 10, toMs: 20 + Int64(rng.below(100)),
                                                fills: (0..<rng.below(4)).map { _ in fill(&rng, venue: true) }))
        case 8:
            body = .exchangePositionHistory(ExchangePositionHistory(fromMs: 1, toMs: 2, positions: (0..<rng.below(3)).map { _ in
                ClosedPositionRecord(positionId: name(&rng, "p"), symbol: name(&rng, "S"), side: rng.chance(50) ? .long : .short,
                                     qty: decimal(&rng, positive: true), entryPrice: decimal(&rng, positive: true), entryTsMs: 5,
                                     closePrice: decimal(&rng, positive: true), closeTsMs: 9, realizedPnl: decimal(&rng),
                                     commission: decimal(&rng), netPnl: decimal(&rng))
            }))
        case 9: body = .reconRequested(ReconRequested(requestedBy: name(&rng, "ops")))
        default:
            let effect: CorrectionEffect
            switch rng.below(3) {
            case 0: effect = .fill(fill(&rng, venue: true))
            case 1: effect = .positionAdjustment(symbol: name(&rng, "S"), qtyDelta: decimal(&rng), price: decimal(&rng, positive: true))
            default: effect = .balanceAdjustment(asset: "USDT", amount: decimal(&rng))
            }
            body = .correction(Correction(key: "position_qty_mismatch:a:S", sourceRunId: "run-1", approvedBy: "ops", effect: effect))
        }
        return Event(id: "ev-\(index)-\(rng.below(1_000_000))", account: rng.chance(50) ? "bot1" : "bot2",
                     tsMs: Int64(1_763_000_000_000 + rng.below(1_000_000)), venue: rng.chance(50) ? "binance" : nil, body: body)
    }
}
