import ArgumentParser
import ReconCore
import ReconStore

struct PositionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "positions",
        abstract: "Open positions, or closed round trips, of the bot and the venue side by side.",
        discussion: """
            Without --closed: each symbol's position as the bot holds it and as the \
            venue last listed it, with the difference.

            With --closed: the bot's round trips (from leaving flat to flat or a flip) \
            beside the venue's position history, matched by symbol, side, entry time \
            and entry price within the configured windows, never by id. Each row says \
            how it matched: "matched", "venue only" (a manual trade?), "bot only" \
            (the venue's history covers its close but lacks it), or "not covered" \
            (no venue history covers its close yet).

            Examples:
              recon positions --account bot1
              recon positions --account bot1 --closed --at-time 2026-11-25T14:02:00Z
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var point: PointOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "The account.")
    var account: String

    @Flag(help: "Closed positions (round trips) instead of open ones.")
    var closed = false

    @Flag(help: "JSON output.")
    var json = false

    func run() throws {
        let config = try configOptions.load()
        let log = try data.openLog(readOnly: true)
        let seq = try point.resolve(log)
        let projection = try CheckpointStore(log: log).projection(account: account, at: seq)
        if closed {
            let rows = ClosedPositionRows(projection, config: config)
            json ? print(rows.json) : print(rows.table(account: account, seq: seq))
        } else {
            let rows = openRows(projection)
            if json {
                var w = JSONWriter()
                w.arrayValue { w in
                    for r in rows {
                        w.objectValue { w in
                            w.field("symbol", r.symbol)
                            w.field("local_qty", r.local)
                            w.field("remote_qty", r.remote)
                            w.field("delta", r.remote.flatMap { rq in r.local.map { rq - $0 } })
                        }
                    }
                }
                print(w.text)
                return
            }
            print("\(account) open positions at seq \(seq) (remote: the venue's latest listing; - = not listed)")
            var table = TextTable(["symbol", "bot", "venue", "delta"], rightAligned: [1, 2, 3])
            for r in rows {
                let delta = r.remote.flatMap { rq in r.local.map { rq - $0 } }
                table.add([r.symbol, r.local.map { "\($0)" } ?? "-", r.remote.map { "\($0)" } ?? "-", delta.map { "\($0)" } ?? "-"])
            }
            print(table.rows.isEmpty ? "  (flat on both sides)" : table.render())
        }
    }

    /// Every symbol open on either side; the venue's quantity is nil where its
    /// listing does not speak for the symbol (unknown, never flat).
    private func openRows(_ p: AccountProjection) -> [(symbol: String, local: ExactDecimal?, remote: ExactDecimal?)] {
        var symbols = Set(p.remote.positions.items.keys)
        for (s, lp) in p.local.positions where !lp.position.isFlat { symbols.insert(s.string) }
        return symbols.sorted().map { s in
            let remote: ExactDecimal? = p.remote.positions.coverage(of: s) == nil ? nil : (p.remote.positions.items[s]?.item.qty ?? 0)
            return (s, p.local.positions[s]?.position.qty ?? 0, remote)
        }
    }
}

/// The bot's round trips and the venue's records, matched for display.
struct ClosedPositionRows {
    struct Row {
        var status: String
        var local: ClosedPosition?
        var remote: RemoteClosedPosition?
        var sortKey: (String, Int64)
    }

    var rows: [Row] = []

    init(_ p: AccountProjection, config: ReconConfig) {
        let local = p.local.closedPositions
        let venue = p.remote.positionHistory.values.sorted { $0.record.positionId < $1.record.positionId }
        let result = ClosedPositionMatcher.match(local: local, remote: venue.map(\.record)) { symbol in
            let t = config.thresholds(account: p.account, symbol: symbol)
            return ClosedPositionMatcher.Window(timeMs: t.positionMatchTimeMs, pricePct: t.positionMatchPricePct)
        }
        for (li, ri) in result.pairs {
            rows.append(Row(status: "matched", local: local[li], remote: venue[ri], sortKey: (local[li].symbol, local[li].entryTsMs)))
        }
        for li in result.unmatchedLocal {
            let l = local[li]
            let skew = config.thresholds(account: p.account, symbol: l.symbol).clockSkewMs
            let covered = p.remote.positionHistoryCoverage.contains { l.closeTsMs >= $0.fromMs + skew && l.closeTsMs <= $0.toMs - skew }
            rows.append(Row(status: covered ? "bot only" : "not covered", local: l, remote: nil, sortKey: (l.symbol, l.entryTsMs)))
        }
        for ri in result.unmatchedRemote {
            let r = venue[ri]
            rows.append(Row(status: "venue only", local: nil, remote: r, sortKey: (r.record.symbol, r.record.entryTsMs)))
        }
        rows.sort { $0.sortKey < $1.sortKey }
    }

    func table(account: String, seq: UInt64) -> String {
        var table = TextTable(["symbol", "side", "qty", "entry time", "entry bot", "entry venue", "net bot", "net venue", "match"],
                              rightAligned: [2, 4, 5, 6, 7])
        for r in rows {
            let l = r.local, v = r.remote?.record
            table.add([
                l?.symbol ?? v!.symbol, (l?.side ?? v!.side).rawValue, "\(l?.qty ?? v!.qty)", isoTime(l?.entryTsMs ?? v!.entryTsMs),
                l.map { "\($0.entryPrice.rounded(scale: 8))" } ?? "-", v.map { "\($0.entryPrice)" } ?? "-",
                l.map { "\($0.netPnl.rounded(scale: 8))" + ($0.synthetic ? " *" : "") } ?? "-", v.map { "\($0.netPnl)" } ?? "-", r.status,
            ])
        }
        let header = "\(account) closed positions up to seq \(seq): \(rows.filter { $0.status == "matched" }.count) matched, "
            + "\(rows.filter { $0.status == "venue only" }.count) venue only, \(rows.filter { $0.status == "bot only" }.count) bot only, "
            + "\(rows.filter { $0.status == "not covered" }.count) not covered by venue history (* = built by a correction)"
        return header + "\n" + (rows.isEmpty ? "  (none)" : table.render())
    }

    var json: String {
        var w = JSONWriter()
        w.arrayValue { w in
            for r in rows {
                w.objectValue { w in
                    w.field("match", r.status)
                    w.key("local")
                    if let l = r.local { w.value(l.json) } else { w.null() }
                    w.key("remote")
                    if let v = r.remote { w.value(v.record.json) } else { w.null() }
                }
            }
        }
        return w.text
    }
}
