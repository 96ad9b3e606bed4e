import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Reconcile one account at one point.",
        discussion: """
            Compares the bot's view with the venue's after the event at --at (or as \
            the log knew them at --at-time; default: now) and prints the report. The \
            same log, point and config always give the same report and run_id.

            Exit codes: 0 ok, 2 warning, 3 critical, 1 error.

            Examples:
              recon reconcile --account bot1
              recon reconcile --account bot1 --at-time 2026-11-25T14:02:00Z --json
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var point: PointOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "The account.")
    var account: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let config = try configOptions.load()
        let log = try data.openLog(readOnly: true)
        let seq = try point.resolve(log)
        guard seq > 0 else { throw CLIError("the log is empty") }
        let started = monotonicSeconds()
        let report = try Self.report(log: log, config: config, account: account, at: seq)
        var final = report
        final.durationMs = Int64((monotonicSeconds() - started) * 1000)
        if json {
            print(String(decoding: final.json(), as: UTF8.self))
        } else {
            printHuman(final)
        }
        switch final.status {
        case .critical?: throw ExitCode(3)
        case .warning?: throw ExitCode(2)
        default: return
        }
    }

    /// The report of an on-demand run at `seq`, with lifecycle from the account's
    /// trigger-point timeline before it.
    static func report(log: EventLog, config: ReconConfig, account: String, at seq: UInt64) throws -> Report {
        var runner = try log.replay(config: config, to: seq, account: account, stopBefore: seq) { _ in }
        guard let event = try log.event(at: seq) else { throw CLIError("no event at seq \(seq)") }
        return onDemand(&runner, account: account, at: event)
    }

    /// An ad-hoc run at `event` (already folded into `runner`): it sees the
    /// account's timeline without changing it. At the account's own trigger point
    /// it is that trigger's run.
    static func onDemand(_ runner: inout ReplayRunner, account: String, at event: LoggedEvent) -> Report {
        var context = RunContext(trigger: .onDemand, seq: event.seq, id: event.event.id)
        if event.event.account == account, event.event.isTriggerPoint {
            context = RunContext.triggered(by: event, replay: false)
        }
        return runner.run(account: account, at: event, context: context, advance: false).report
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run at every trigger point in history and print the timeline.",
        discussion: """
            Folds the whole log and reconciles each account at each of its trigger \
            points (each exchange_snapshot, exchange_fills, exchange_position_history \
            and recon_requested), then prints when each discrepancy opened, escalated \
            and resolved. Progress is drawn on a terminal.
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "Only this account.")
    var account: String?

    @Flag(help: "Print the timeline as NDJSON.")
    var json = false

    @Flag(help: "Do not record the timeline in the audit store.")
    var noAudit = false

    func run() throws {
        let config = try configOptions.load()
        let log = try data.openLog(readOnly: true)
        var out = OutputBuffer()
        let started = monotonicSeconds()
        let print: (RunOutcome) -> Void = { outcome in
            for e in outcome.lifecycle {
                if json {
                    var w = JSONWriter()
                    e.writeJSON(into: &w)
                    out.line(w.text)
                } else {
                    out.line("seq \(String(e.atSeq).padding(toLength: 8, withPad: " ", startingAt: 0)) \(e.account)  \(e.transition.rawValue.uppercased().padding(toLength: 9, withPad: " ", startingAt: 0)) \(e.severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(e.key)  \(e.message)")
                }
            }
        }
        let runs: Int
        let runner: ReplayRunner
        if noAudit {
            var count = 0
            runner = try log.replay(config: config, account: account, progress: { Console.progress("replay", $0, $1) }) { outcome in
                count += 1
                print(outcome)
            }
            runs = count
        } else {
            (runs, runner) = try rebuildTimeline(log: log, audit: try data.openAudit(), config: config, account: account, onRun: print)
        }
        out.flush()
        if !json {
            Swift.print("\n\(runs) runs in \(String(format: "%.2f", monotonicSeconds() - started)) s (config \(config.hash.prefix(19))…). Open at the end:")
            var table = TextTable(["account", "critical", "warning", "info"], rightAligned: [1, 2, 3])
            for name in runner.lifecycle.keys.sorted() {
                let open = runner.lifecycle[name]!.open.values
                table.add([name, "\(open.filter { $0.severity == .critical }.count)", "\(open.filter { $0.severity == .warning }.count)",
                           "\(open.filter { $0.severity == .info }.count)"])
            }
            Swift.print(table.render())
            if !noAudit { Swift.print("Timeline recorded in \(data.auditPath); see `recon audit discrepancies` and `recon drift`.") }
        }
    }
}

extension LifecycleEvent {
    func writeJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.field("transition", transition.rawValue)
        w.field("key", key)
        w.field("type", type.rawValue)
        w.field("severity", severity.rawValue)
        w.field("account", account)
        w.key("at_seq")
        w.uint(atSeq)
        w.key("first_seen_seq")
        w.uint(firstSeenSeq)
        w.field("run_id", runId)
        w.field("message", message)
        w.endObject()
    }
}
