public import ReconCore

/// A made-up run with real discrepancies, for proving the alert path end to end
/// (`recon alert test`) without touching the log.
///
/// The events are folded in memory and reconciled by the real engine, so the
/// payloads are exactly what a live run of that shape would send. The account
/// is `recon-alert-test` so no consumer mistakes it for a trading account.
public enum SyntheticAlert {
    public static let account = "recon-alert-test"

    /// A report whose highest severity is `severity`.
    public static func report(severity: Severity, nowMs: Int64) throws -> Report {
        let t = nowMs
        var lines = [
            #"{"type":"order_submitted","id":"t-1","account":"\#(account)","ts_ms":\#(t - 3000),"order_id":"t-o1","symbol":"BTC-PERP","side":"buy","qty":"1","price":"50000","order_type":"limit","post_only":true,"reduce_only":false}"#,
            #"{"type":"fill","id":"t-2","account":"\#(account)","ts_ms":\#(t - 2000),"fill_id":"t-f1","order_id":"t-o1","symbol":"BTC-PERP","side":"buy","qty":"1","price":"50000","fee":"0","fee_asset":"USDT","liquidity":"maker"}"#,
        ]
        switch severity {
        case .critical:
            // The venue holds a position the bot does not know: critical.
            lines.append(#"{"type":"exchange_snapshot","id":"t-3","account":"\#(account)","ts_ms":\#(t - 1000),"positions":[{"symbol":"BTC-PERP","qty":"1","entry_price":"50000"},{"symbol":"ETH-PERP","qty":"2","entry_price":"3000"}]}"#)
        case .warning:
            // Same position, a cash balance off by 100 USDT: a warning.
            lines.append(#"{"type":"exchange_snapshot","id":"t-3","account":"\#(account)","ts_ms":\#(t - 1000),"positions":[{"symbol":"BTC-PERP","qty":"1","entry_price":"50000"}],"balances":[{"asset":"USDT","total":"100"}]}"#)
        case .info:
            // Same position at a slightly different entry price: information only.
            lines.append(#"{"type":"exchange_snapshot","id":"t-3","account":"\#(account)","ts_ms":\#(t - 1000),"positions":[{"symbol":"BTC-PERP","qty":"1","entry_price":"50010"}]}"#)
        }
        let text = Array(lines.joined(separator: "\n").utf8)
        let decoded = try text.withUnsafeBytes { try NDJSON.decodeBatch($0) }
        var runner = ReplayRunner(config: .standard)
        var last: LoggedEvent?
        for (i, d) in decoded.enumerated() {
            let logged = LoggedEvent(seq: UInt64(i + 1), ingestMs: t, event: d.event)
            _ = runner.apply(logged, runTriggers: false)
            last = logged
        }
        var context = RunContext(trigger: .onDemand, seq: last!.seq, id: last!.event.id)
        context.requestedBy = "recon alert test"
        return runner.run(account: account, at: last!, context: context, advance: false).report
    }
}
