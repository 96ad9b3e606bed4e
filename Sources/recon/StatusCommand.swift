import ArgumentParser
import ReconCore
import ReconStore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "One line per account: venue, status, open discrepancies, remote age, money at stake.",
        discussion: """
            Replays the log once (to --at/--at-time, default: its end) and reconciles \
            every account at that point, as `recon reconcile` would one by one. \
            Remote age is how far the venue's newest data trails the account's newest \
            local event (event time, never the wall clock).

            Exit codes: 0 all ok, 2 some warning, 3 some critical, 1 error.

            Examples:
              recon status
              recon status --at-time 2026-11-25T14:02:00Z --json
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var point: PointOptions
    @OptionGroup var configOptions: ConfigOptions

    @Flag(help: "JSON output: one object per account.")
    var json = false

    /// How far checkpoints reach (as-of reads fold from the newest at or below
    /// their point), and the interval new ones are written at.
    static func checkpointLine(_ log: EventLog) throws -> String {
        let store = CheckpointStore(log: log)
        let newest = try store.latestGroupSeq()
        let every = (try? store.interval()).map { "every \($0) events" } ?? "interval unreadable: set it with `recon checkpoint --every N`"
        guard newest > 0 else { return "checkpoints: none yet (`recon checkpoint` or `recon serve` writes them), \(every)" }
        // A release that changed the layout reads none of them: say so, or the
        // line would promise reads that in fact replay the log.
        guard try store.groupHasCurrentLayout(newest) else {
            return "checkpoints: \(try store.groupCount()) groups written by an older release, not read "
                + "(`recon checkpoint` or `recon serve` rewrites them), \(every)"
        }
        return "checkpoints: \(try store.groupCount()) groups, the newest at seq \(newest) of \(try log.lastSeq()), \(every)"
    }

    func run() throws {
        let config = try configOptions.load()
        let log = try data.openLog(readOnly: true)
        let seq = try point.resolve(log)
        guard seq > 0, let event = try log.event(at: seq) else { throw CLIError("the log is empty") }
        var runner = try log.replay(config: config, to: seq, stopBefore: seq,
                                    progress: { Console.progress("replay", $0, $1) }) { _ in }
        var worst: Severity?
        var table = TextTable(["account", "venue", "status", "critical", "warning", "info", "remote age", "impact"], rightAligned: [3, 4, 5, 6, 7])
        var w = JSONWriter()
        w.beginArray()
        for account in runner.projection.accounts.keys.sorted() {
            let projection = runner.projection.accounts[account]!
            let report = ReconcileCommand.onDemand(&runner, account: account, at: event)
            let counts = Severity.allCases.map { s in report.discrepancies.filter { $0.severity == s }.count }
            let newestLocal = projection.local.maxTsMs
            let age = projection.remote.latestAsOfMs.flatMap { newestLocal == .min ? nil : max(0, newestLocal - $0) }
            if let status = report.status, worst.map({ status > $0 }) ?? true { worst = status }
            table.add([account, projection.venue ?? "-", report.statusText, "\(counts[2])", "\(counts[1])", "\(counts[0])",
                       projection.remote.latestAsOfMs == nil ? "never" : age.map { "\($0 / 1000) s" } ?? "-",
                       "\(report.impactTotalQuote.rounded(scale: 2))"])
            w.objectValue { w in
                w.field("account", account)
                w.key("venue")
                if let venue = projection.venue { w.string(venue) } else { w.null() }
                w.field("status", report.statusText)
                w.field("run_id", report.runId)
                w.key("open")
                w.objectValue { w in
                    for (s, n) in zip(Severity.allCases, counts) { w.key(s.rawValue); w.int(n) }
                }
                w.key("remote_age_ms")
                if let age { w.int(age) } else { w.null() }
                w.field("impact_total_quote", report.impactTotalQuote)
            }
        }
        w.endArray()
        if json {
            print(w.text)
        } else {
            print("accounts at seq \(seq) (config \(config.hash.prefix(19))…)")
            print(table.rows.isEmpty ? "  (no accounts)" : table.render())
            print(try Self.checkpointLine(log))
        }
        switch worst {
        case .critical?: throw ExitCode(3)
        case .warning?: throw ExitCode(2)
        default: return
        }
    }
}
