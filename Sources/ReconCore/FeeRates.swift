/// One fee schedule: maker and taker charges and the maker rebate, in basis points
/// of notional.
///
/// A fill's `fee` is the net amount (positive charge, negative rebate), so the
/// expected fee of a maker fill is `notional × (maker_bps − maker_rebate_bps) / 10⁴`
/// and of a taker fill `notional × taker_bps / 10⁴`.
public struct FeeRates: Sendable, Equatable, Hashable {
    public var makerBps: ExactDecimal
    public var takerBps: ExactDecimal
    public var makerRebateBps: ExactDecimal

    public init(makerBps: ExactDecimal, takerBps: ExactDecimal, makerRebateBps: ExactDecimal) {
        self.makerBps = makerBps
        self.takerBps = takerBps
        self.makerRebateBps = makerRebateBps
    }

    /// Net charge in bps for a fill of this liquidity (negative: a rebate).
    public func netBps(_ liquidity: Liquidity) -> ExactDecimal {
        liquidity == .maker ? makerBps - makerRebateBps : takerBps
    }

    public static let vip0 = FeeRates(makerBps: "1.0", takerBps: "7.0", makerRebateBps: "0.0")
    public static let vip1 = FeeRates(makerBps: "0.8", takerBps: "6.5", makerRebateBps: "1.0")
    public static let vip2 = FeeRates(makerBps: "0.5", takerBps: "5.0", makerRebateBps: "2.5")
    public static let vip3 = FeeRates(makerBps: "0.2", takerBps: "4.0", makerRebateBps: "3.0")
    public static let mmTierA = FeeRates(makerBps: "0.0", takerBps: "3.0", makerRebateBps: "5.0")

    /// The named tiers of the contract.
    public static let tiers: [String: FeeRates] = [
        "VIP0": vip0, "VIP1": vip1, "VIP2": vip2, "VIP3": vip3, "MM_Tier_A": mmTierA,
    ]
}
