import Foundation
public import ReconCore

/// The JSON sent to Redis and the webhook for one run.
///
/// Redis payloads keep the field names of the operators' existing consumers
/// (`run_id`, `account_id`, `timestamp`, `is_clean`, `discrepancy_count`,
/// `positions_checked`, `duration_ms`, `context`; per discrepancy `type`,
/// `severity`, `symbol`, `local_value`, `broker_value`), plus Recon's own
/// (`status`, `at_seq`, `key`, …). `timestamp` is the run's `at_ms` in ISO 8601:
/// the time the log knew what the run saw, never the wall clock at publishing.
public enum AlertPayloads {
    /// `reconciliation:result`: one per run.
    public static func result(_ report: Report) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("run_id", report.runId)
        w.field("account_id", report.point.account)
        w.field("account", report.point.account)
        w.field("timestamp", isoTime(report.point.atMs))
        w.key("at_seq")
        w.uint(report.point.atSeq)
        w.key("at_ms")
        w.int(report.point.atMs)
        w.field("status", report.statusText)
        w.key("is_clean")
        w.bool(report.isClean)
        w.key("discrepancy_count")
        w.int(report.discrepancies.count)
        w.key("divergence_count")
        w.int(report.discrepancies.filter { $0.severity >= .warning }.count)
        w.key("positions_checked")
        w.int(report.findings.positionsChecked)
        w.key("impact_total_quote")
        w.decimal(report.impactTotalQuote)
        w.key("duration_ms")
        w.int(report.durationMs)
        w.key("context")
        report.point.context.writeJSON(into: &w)
        w.field("config_hash", report.configHash)
        w.endObject()
        return w.bytes
    }

    /// `reconciliation:discrepancy`: one per discrepancy, with its run's id.
    public static func discrepancies(_ report: Report) -> [[UInt8]] {
        let stamp = isoTime(report.point.atMs)
        return report.discrepancies.map { d in
            var w = JSONWriter()
            w.beginObject()
            w.field("run_id", report.runId)
            w.field("key", d.key)
            w.field("type", d.type.rawValue)
            w.field("severity", d.severity.rawValue)
            w.field("account_id", report.point.account)
            w.field("account", report.point.account)
            w.key("symbol")
            if let s = d.symbol { w.string(s) } else { w.null() }
            w.key("local_value")
            if let v = d.local { w.string(compact(v)) } else { w.null() }
            w.key("broker_value")
            if let v = d.remote { w.string(compact(v)) } else { w.null() }
            w.key("delta")
            if let v = d.delta { w.decimal(v) } else { w.null() }
            w.key("impact_quote")
            if let v = d.impactQuote { w.decimal(v) } else { w.null() }
            w.field("message", d.message)
            w.key("first_seen_seq")
            w.uint(d.firstSeenSeq)
            w.key("runs_seen")
            w.int(d.runsSeen)
            w.field("timestamp", stamp)
            w.key("at_seq")
            w.uint(report.point.atSeq)
            w.endObject()
            return w.bytes
        }
    }

    /// The webhook body: the run's full report (the contract's output).
    public static func webhook(_ report: Report) -> [UInt8] {
        report.json()
    }

    /// Whether a run is worth a webhook call: any discrepancy at or above `min`.
    public static func qualifies(_ report: Report, minSeverity: Severity) -> Bool {
        report.discrepancies.contains { $0.severity >= minSeverity }
    }

    static func compact(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        var w = JSONWriter()
        w.value(value)
        return w.text
    }

    /// `2026-11-25T08:38:07.123Z`.
    public static func isoTime(_ ms: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
