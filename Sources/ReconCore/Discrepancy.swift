/// How urgent a finding is. Raw values are part of the output contract.
public enum Severity: String, Sendable, Comparable, CaseIterable {
    case info, warning, critical

    var rank: Int { self == .info ? 0 : (self == .warning ? 1 : 2) }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// Every kind of discrepancy. Raw values, once shipped, never change meaning.
public enum DiscrepancyType: String, Sendable, CaseIterable, Comparable {
    case orderMissingRemote = "order_missing_remote"
    case orderMissingLocal = "order_missing_local"
    case orderQtyMismatch = "order_qty_mismatch"
    case orderPriceMismatch = "order_price_mismatch"
    case orderSideMismatch = "order_side_mismatch"
    case positionMissingLocal = "position_missing_local"
    case positionMissingRemote = "position_missing_remote"
    case positionSideMismatch = "position_side_mismatch"
    case positionQtyMismatch = "position_qty_mismatch"
    case positionCostMismatch = "position_cost_mismatch"
    case balanceMismatch = "balance_mismatch"
    case equityMismatch = "equity_mismatch"
    case fillMissingLocal = "fill_missing_local"
    case fillMissingRemote = "fill_missing_remote"
    case fillQtyMismatch = "fill_qty_mismatch"
    case fillPriceMismatch = "fill_price_mismatch"
    case fillFeeMismatch = "fill_fee_mismatch"
    case fillTimeMismatch = "fill_time_mismatch"
    case fillOverfill = "fill_overfill"
    case fillUnknownOrder = "fill_unknown_order"
    case fillDuplicateConflict = "fill_duplicate_conflict"
    case fillAfterCancel = "fill_after_cancel"
    case feeMakerRatioLow = "fee_maker_ratio_low"
    case feeNetBpsHigh = "fee_net_bps_high"
    /// Net bps below the rebate line: earning rebates (info).
    case feeNetBpsRebate = "fee_net_bps_rebate"
    case feeBpsHigh = "fee_bps_high"
    case closedPositionMissingLocal = "closed_position_missing_local"
    case closedPositionMissingRemote = "closed_position_missing_remote"
    case closedPositionPnlMismatch = "closed_position_pnl_mismatch"
    case inventoryDrift = "inventory_drift"
    case equityNonpositive = "equity_nonpositive"
    case basePctOutOfRange = "base_pct_out_of_range"
    case turnoverWithoutFeeAccrual = "turnover_without_fee_accrual"
    case remoteStale = "remote_stale"
    case impactHigh = "impact_high"

    public static func < (a: DiscrepancyType, b: DiscrepancyType) -> Bool { a.rawValue < b.rawValue }

    /// The check a type belongs to (per-account switches).
    public var check: String {
        switch self {
        case .orderMissingRemote, .orderMissingLocal, .orderQtyMismatch, .orderPriceMismatch, .orderSideMismatch: return "orders"
        case .positionMissingLocal, .positionMissingRemote, .positionSideMismatch, .positionQtyMismatch, .positionCostMismatch: return "positions"
        case .balanceMismatch, .equityMismatch: return "balances"
        case .fillMissingLocal, .fillMissingRemote, .fillQtyMismatch, .fillPriceMismatch, .fillFeeMismatch, .fillTimeMismatch,
             .fillOverfill, .fillUnknownOrder, .fillDuplicateConflict, .fillAfterCancel: return "fills"
        case .feeMakerRatioLow, .feeNetBpsHigh, .feeNetBpsRebate, .feeBpsHigh: return "fees"
        case .closedPositionMissingLocal, .closedPositionMissingRemote, .closedPositionPnlMismatch: return "closed_positions"
        case .inventoryDrift: return "inventory"
        case .equityNonpositive, .basePctOutOfRange, .turnoverWithoutFeeAccrual, .impactHigh: return "accounting"
        case .remoteStale: return "freshness"
        }
    }
}

/// One difference between the bot's view and the venue's, or a finding about one.
public struct Discrepancy: Sendable, Equatable {
    /// Stable across runs: type, account and the identifying subject.
    public var key: String
    public var type: DiscrepancyType
    public var severity: Severity
    public var account: String
    public var symbol: String?
    public var asset: String?
    public var orderId: String?
    public var fillId: String?
    /// Other identifying fields (liquidity, side, position entry time …).
    public var identity: [(String, String)] = []
    public var local: JSONValue?
    public var remote: JSONValue?
    /// remote − local, where both are numbers (what the local side would need to change by).
    public var delta: ExactDecimal?
    /// The thresholds that applied, by name.
    public var thresholds: [(String, JSONValue)] = []
    /// The events that made each side what it is.
    public var localSeq: UInt64?
    public var remoteSeq: UInt64?
    /// Money at stake, in the quote asset, where a price is known.
    public var impactQuote: ExactDecimal?
    /// One sentence for people.
    public var message: String
    // Lifecycle, filled in from earlier runs.
    public var firstSeenSeq: UInt64 = 0
    public var runsSeen = 1
    public var runId = ""
    /// The severity before escalation by persistence.
    public var baseSeverity: Severity

    public init(type: DiscrepancyType, severity: Severity, account: String, subject: String, message: String) {
        self.key = "\(type.rawValue):\(account):\(subject)"
        self.type = type
        self.severity = severity
        self.baseSeverity = severity
        self.account = account
        self.message = message
    }

    public static func == (a: Discrepancy, b: Discrepancy) -> Bool {
        var wa = JSONWriter(), wb = JSONWriter()
        a.writeJSON(into: &wa)
        b.writeJSON(into: &wb)
        return wa.bytes == wb.bytes
    }
}

extension Discrepancy {
    public func writeJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.field("key", key)
        w.field("type", type.rawValue)
        w.field("severity", severity.rawValue)
        w.field("account", account)
        if let symbol { w.field("symbol", symbol) }
        if let asset { w.field("asset", asset) }
        if let orderId { w.field("order_id", orderId) }
        if let fillId { w.field("fill_id", fillId) }
        for (k, v) in identity { w.field(k, v) }
        w.key("local")
        if let local { w.value(local) } else { w.null() }
        w.key("remote")
        if let remote { w.value(remote) } else { w.null() }
        w.key("delta")
        if let delta { w.decimal(delta) } else { w.null() }
        w.key("thresholds")
        w.objectValue { w in
            for (k, v) in thresholds {
                w.key(k)
                w.value(v)
            }
        }
        w.key("local_seq")
        if let localSeq { w.uint(localSeq) } else { w.null() }
        w.key("remote_seq")
        if let remoteSeq { w.uint(remoteSeq) } else { w.null() }
        w.key("impact_quote")
        if let impactQuote { w.decimal(impactQuote) } else { w.null() }
        w.key("first_seen_seq")
        w.uint(firstSeenSeq)
        w.key("runs_seen")
        w.int(runsSeen)
        if baseSeverity != severity { w.field("escalated_from", baseSeverity.rawValue) }
        w.field("run_id", runId)
        w.field("message", message)
        w.endObject()
    }
}

extension JSONValue {
    /// A decimal as the JSON string it is written as.
    public static func decimal(_ d: ExactDecimal) -> JSONValue { .string(d.description) }
}
