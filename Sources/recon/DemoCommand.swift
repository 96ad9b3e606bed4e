import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "A generated trading day with faults: what Recon finds, and where each began.",
        discussion: """
            Generates a one-day market-making session for three accounts with one of \
            each fault injected, appends it to a fresh data folder, writes checkpoints, \
            replays it (recording the timeline in the audit store), and prints: a \
            summary per account, each fault's drift origin with the events that \
            explain it, and the fee report. The folder is kept so you can go on with \
            `recon state/reconcile/drift/audit` on it.
            """
    )

    @Option(help: ArgumentHelp("Data folder to create (default: a new folder under /tmp).", valueName: "DIR"))
    var data: String?

    @Option(help: "Events in the session.")
    var events = 60_000

    @Option(help: "Random seed.")
    var seed: UInt64 = 2026

    func validate() throws {
        guard events >= 5_000 && events <= 10_000_000 else { throw ValidationError("--events must be 5000...10000000") }
    }

    func run() throws {
        let folder = data ?? (NSTemporaryDirectory() + "recon-demo-\(ProcessInfo.processInfo.processIdentifier)")
        if FileManager.default.fileExists(atPath: folder + "/log/data.mdb") {
            throw CLIError("\(folder) already holds a log; name a new folder with --data")
        }
        let started = monotonicSeconds()
        var options = GeneratorOptions()
        options.events = events
        options.seed = seed
        options.accounts = 3
        options.symbols = 12
        options.faults = FaultKind.allCases.map { FaultRequest(kind: $0) }
        let generator = SyntheticGenerator(options: options)
        let generated = generator.all()
        let dataOptions = try DataOptions.parse(["--data", folder])
        let log = try dataOptions.openLog()
        var start = 0
        while start < generated.count {
            let end = min(start + 10_000, generated.count)
            _ = try log.append(generated[start..<end].enumerated().map { AppendInput(event: $1, line: start + $0 + 1) })
            start = end
        }
        let verify = try log.verify()
        let checkpoints = try CheckpointStore(log: log).catchUp()
        let appendSeconds = monotonicSeconds() - started

        // One pass: the timeline into the audit store, and each discrepancy as it was when it opened.
        var drift = DriftOrigins()
        let replayStart = monotonicSeconds()
        let (runs, runner) = try rebuildTimeline(log: log, audit: try dataOptions.openAudit(), config: .standard) { outcome in
            drift.record(outcome)
        }
        let replaySeconds = monotonicSeconds() - replayStart

        print("Recon demo: a generated trading day for \(options.accountNames.joined(separator: ", ")) with \(generator.faults.count) faults injected")
        print("  \(generated.count) events appended and verified (\(verify.isSound ? "sound" : "FAULTS: \(verify.faults.count)")), \(checkpoints) checkpoint groups, in \(String(format: "%.2f", appendSeconds)) s")
        print("  replayed \(runs) runs (one per snapshot and trade-history window) in \(String(format: "%.2f", replaySeconds)) s\n")

        // Summary per account, from an on-demand run at the end.
        var finalRunner = runner
        let lastEvent = try log.event(at: try log.lastSeq())!
        var table = TextTable(["account", "status", "critical", "warning", "info", "impact USDT", "venue data age"], rightAligned: [2, 3, 4, 5, 6])
        var reports: [String: Report] = [:]
        for account in options.accountNames {
            let report = finalRunner.run(account: account, at: lastEvent, context: RunContext(trigger: .onDemand, seq: lastEvent.seq), advance: false).report
            reports[account] = report
            let count = { (s: Severity) in report.discrepancies.filter { $0.severity == s }.count }
            let age = report.findings.remoteAsOfMs.map { "\(Double(max(0, runner.projection.accounts[account]!.local.maxTsMs - $0)) / 1000) s" } ?? "never"
            table.add([account, report.statusText, "\(count(.critical))", "\(count(.warning))", "\(count(.info))",
                       "\(report.impactTotalQuote.rounded(scale: 2))", age])
        }
        print("Accounts at the end of the day:")
        print(table.render())

        print("\nWhere each fault began (what `recon drift` reports):")
        for fault in generator.faults {
            let related = drift.origins(account: fault.account, open: runner.lifecycle[fault.account]?.open ?? [:]).filter { d in
                d.fillId == fault.subject || d.orderId == fault.subject || d.asset == fault.subject
                    || (fault.symbol != nil && d.symbol == fault.symbol && d.type.check == "positions")
                    || (fault.kind == .feeTierMismatch && d.type == .fillFeeMismatch)
            }
            print("\n  \(fault.kind.rawValue) in \(fault.account), injected at seq \(fault.seq): \(fault.note)")
            if related.isEmpty {
                print(fault.kind == .snapshotRace ? "    nothing reported, as it should be: the fill postdates the snapshot"
                                                  : "    (nothing open for it at the end)")
                continue
            }
            let shown = fault.kind == .feeTierMismatch ? Array(related.prefix(2)) : related
            for d in shown {
                print("    \(d.severity.rawValue.uppercased()) \(d.type.rawValue) — open since the run at seq \(d.firstSeenSeq), \(d.runsSeen) runs")
                print("      \(d.message)")
                var why: [String] = []
                if let s = d.localSeq { why.append("local seq \(s) (\(try log.event(at: s)?.event.type.name ?? "?"))") }
                if let s = d.remoteSeq { why.append("remote seq \(s) (\(try log.event(at: s)?.event.type.name ?? "?"))") }
                if !why.isEmpty { print("      explained by " + why.joined(separator: ", ")) }
            }
            if related.count > shown.count { print("    … and \(related.count - shown.count) more symbols billed at another tier") }
        }

        print("\nFees (reported by the fills):")
        var fees = TextTable(["account", "gross notional", "maker ratio", "fees", "rebates", "net", "net bps"], rightAligned: [1, 2, 3, 4, 5, 6])
        for account in options.accountNames {
            let f = reports[account]!.findings.fees
            fees.add([account, "\(f.grossNotional.rounded(scale: 2))", "\(f.makerTakerRatio.rounded(scale: 4))", "\(f.feesAbsolute.rounded(scale: 4))",
                      "\(f.rebatesAbsolute.rounded(scale: 4))", "\(f.netAbsolute.rounded(scale: 4))", "\(f.netBps.rounded(scale: 3))"])
        }
        print(fees.render())
        print("  (no fee schedule is configured, so fills are compared with the venue's records only; see --config)")

        print("\nData folder: \(folder)")
        print("Go on with:")
        print("  recon status    --data \(folder)")
        print("  recon state     --data \(folder) --account acct1")
        print("  recon reconcile --data \(folder) --account acct1")
        print("  recon drift     --data \(folder) --account acct2")
        print("  recon correct   --data \(folder) --account acct1")
        print("  recon audit discrepancies --data \(folder) --status open")
        print("Done in \(String(format: "%.1f", monotonicSeconds() - started)) s.")
    }
}
