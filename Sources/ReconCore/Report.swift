/// The output of one run, as CONTRACT §4 describes it.
public struct Report: Sendable {
    public var runId: String
    public var point: RunPoint
    public var findings: Findings
    public var configHash: String
    /// Measured by the caller (the core reads no clock); the one field that may
    /// differ between two runs of the same question.
    public var durationMs: Int64 = 0

    public init(point: RunPoint, findings: Findings, configHash: String, runId: String) {
        self.point = point
        self.findings = findings
        self.configHash = configHash
        self.runId = runId
    }

    public var discrepancies: [Discrepancy] { findings.discrepancies }

    /// `critical` if any critical, else `warning` if any warning, else `ok`.
    public var status: Severity? {
        findings.discrepancies.map(\.severity).filter { $0 != .info }.max()
    }

    public var statusText: String { status?.rawValue ?? "ok" }

    /// No warning or critical discrepancy (info notes do not make a run unclean).
    public var isClean: Bool { status == nil }

    public var impactTotalQuote: ExactDecimal {
        findings.discrepancies.compactMap(\.impactQuote).reduce(0, +)
    }

    /// Reports one per run; the exit code of `recon reconcile` follows status.
    public func json() -> [UInt8] {
        var w = JSONWriter()
        writeJSON(into: &w)
        return w.bytes
    }

    /// The report without its discrepancy list (counts instead): what the audit
    /// store keeps for each canonical run.
    public func summaryJSON() -> [UInt8] {
        var w = JSONWriter()
        writeJSON(into: &w, discrepancies: false)
        return w.bytes
    }

    public func writeJSON(into w: inout JSONWriter) {
        writeJSON(into: &w, discrepancies: true)
    }

    func writeJSON(into w: inout JSONWriter, discrepancies withList: Bool) {
        w.beginObject()
        w.field("run_id", runId)
        w.field("account", point.account)
        w.key("at_seq")
        w.uint(point.atSeq)
        w.key("at_ms")
        w.int(point.atMs)
        w.key("remote_as_of_ms")
        if let ms = findings.remoteAsOfMs { w.int(ms) } else { w.null() }
        w.key("context")
        point.context.writeJSON(into: &w)
        w.field("status", statusText)
        w.key("is_clean")
        w.bool(isClean)
        if withList {
            w.key("discrepancies")
            w.arrayValue { w in for d in findings.discrepancies { d.writeJSON(into: &w) } }
        } else {
            w.key("discrepancies_by_severity")
            w.objectValue { w in
                for s in Severity.allCases.reversed() {
                    w.key(s.rawValue)
                    w.int(findings.discrepancies.filter { $0.severity == s }.count)
                }
            }
        }
        w.key("orders_local_only")
        w.arrayValue { w in for id in findings.ordersLocalOnly { w.string(id) } }
        w.key("orders_remote_only")
        w.arrayValue { w in for id in findings.ordersRemoteOnly { w.string(id) } }
        w.key("position_deltas")
        w.objectValue { w in for (s, d) in findings.positionDeltas { w.field(s, d) } }
        w.key("divergence_count")
        w.int(findings.discrepancies.filter { $0.severity != .info }.count)
        w.key("positions_checked")
        w.int(findings.positionsChecked)
        w.key("fees_report")
        w.objectValue { w in findings.fees.writeFields(into: &w) }
        w.field("impact_total_quote", impactTotalQuote)
        w.key("corrections_proposed")
        w.arrayValue { w in for c in findings.corrections { c.writeJSON(into: &w) } }
        w.key("checks")
        w.objectValue { w in for (name, state) in findings.checks { w.field(name, state) } }
        w.key("remote_age_ms")
        w.objectValue { w in
            for (name, age) in findings.sectionAges {
                w.key(name)
                if let age { w.int(age) } else { w.null() }
            }
        }
        w.field("config_hash", configHash)
        w.key("duration_ms")
        w.int(durationMs)
        w.endObject()
    }
}

extension FeesReport {
    func writeFields(into w: inout JSONWriter) {
        w.field("gross_notional", grossNotional)
        w.field("maker_notional", makerNotional)
        w.field("taker_notional", takerNotional)
        w.key("maker_count")
        w.int(makerCount)
        w.key("taker_count")
        w.int(takerCount)
        w.field("fees_absolute", feesAbsolute)
        w.field("rebates_absolute", rebatesAbsolute)
        w.field("net_absolute", netAbsolute)
        w.field("fees_bps", feesBps)
        w.field("rebates_bps", rebatesBps)
        w.field("net_bps", netBps)
        w.field("maker_taker_ratio", makerTakerRatio)
        for (name, value) in [("expected_fees_absolute", expectedFeesAbsolute), ("expected_rebates_absolute", expectedRebatesAbsolute),
                              ("expected_net_absolute", expectedNetAbsolute), ("expected_net_bps", expectedNetBps),
                              ("fee_delta_absolute", feeDeltaAbsolute)] {
            w.key(name)
            if let value { w.decimal(value) } else { w.null() }
        }
    }
}

extension ProposedCorrection {
    public func writeJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.field("key", key)
        switch effect {
        case .fill(let f):
            w.field("kind", "fill")
            w.key("fill")
            w.objectValue { w in f.writeFields(into: &w) }
        case .positionAdjustment(let symbol, let qtyDelta, let price):
            w.field("kind", "position_adjustment")
            w.key("position_adjustment")
            w.objectValue { w in
                w.field("symbol", symbol)
                w.field("qty_delta", qtyDelta)
                w.field("price", price)
            }
        case .balanceAdjustment(let asset, let amount):
            w.field("kind", "balance_adjustment")
            w.key("balance_adjustment")
            w.objectValue { w in
                w.field("asset", asset)
                w.field("amount", amount)
            }
        }
        w.key("auto_applicable")
        w.bool(autoApplicable)
        w.field("reason", reason)
        w.endObject()
    }
}

extension JSONValue {
    /// Indented text (two spaces), for files people read and diff.
    public func pretty(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1)
        let close = String(repeating: "  ", count: indent)
        switch self {
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { pad + $0.pretty(indent: indent + 1) }.joined(separator: ",\n") + "\n" + close + "]"
        case .object(let o):
            if o.entries.isEmpty { return "{}" }
            return "{\n" + o.entries.map { entry in
                var w = JSONWriter()
                w.string(entry.key)
                return pad + w.text + ": " + entry.value.pretty(indent: indent + 1)
            }.joined(separator: ",\n") + "\n" + close + "}"
        default:
            var w = JSONWriter()
            w.value(self)
            return w.text
        }
    }
}

extension RunContext {
    /// The report's `context` object: what triggered the run.
    public func writeJSON(into w: inout JSONWriter) {
        w.objectValue { w in
            w.field("trigger", trigger.rawValue)
            if let seq {
                w.key("seq")
                w.uint(seq)
            }
            if let id { w.field("id", id) }
            if let orderId { w.field("order_id", orderId) }
            if let fillId { w.field("fill_id", fillId) }
            if let symbol { w.field("symbol", symbol) }
            if let requestedBy { w.field("requested_by", requestedBy) }
        }
    }
}
