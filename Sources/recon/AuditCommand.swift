import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Run history and discrepancy lifecycles from the SQLite audit store.",
        discussion: """
            The audit store (<data>/audit.sqlite) holds the timeline `recon replay` \
            wrote: every trigger-point run, and when each discrepancy opened, \
            escalated and resolved. It is derived from the log: `recon audit rebuild` \
            recreates it.
            """,
        subcommands: [AuditRebuildCommand.self, AuditRunsCommand.self, AuditDiscrepanciesCommand.self]
    )
}

struct AuditRebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rebuild", abstract: "Recreate the audit timeline from the log.")

    @OptionGroup var data: DataOptions
    @OptionGroup var configOptions: ConfigOptions

    func run() throws {
        let config = try configOptions.load()
        let log = try data.openLog(readOnly: true)
        let (runs, runner) = try rebuildTimeline(log: log, audit: try data.openAudit(), config: config)
        print("rebuilt: \(runs) runs up to seq \(runner.projection.lastSeq) for config \(config.hash)")
    }
}

struct AuditRunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "List recorded runs.")

    @OptionGroup var data: DataOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "Only this account.")
    var account: String?

    @Option(help: "Only runs with this status (ok, warning, critical).")
    var status: String?

    @Option(help: ArgumentHelp("Only runs at or after this time (ISO-8601 or epoch ms).", valueName: "T"))
    var since: String?

    @Option(help: "At most this many runs.")
    var limit = 200

    @Flag(help: "NDJSON output.")
    var json = false

    func validate() throws {
        if let status, !["ok", "warning", "critical"].contains(status) { throw ValidationError("--status must be ok, warning or critical") }
        if let since, PointOptions.parseTime(since) == nil { throw ValidationError("--since: expected ISO-8601 or epoch ms") }
    }

    func run() throws {
        let config = try configOptions.load()
        let rows = try data.openAudit().runs(configHash: config.hash, account: account, status: status,
                                             sinceMs: since.flatMap(PointOptions.parseTime), limit: limit)
        if rows.isEmpty {
            Console.error("no runs recorded for config \(config.hash.prefix(19))…; run `recon replay` first")
        }
        var table = TextTable(["seq", "time", "account", "trigger", "status", "discrepancies", "impact", "run"], rightAligned: [0, 5, 6])
        for r in rows {
            if json {
                var w = JSONWriter()
                w.beginObject()
                w.field("run_id", r.runId)
                w.field("account", r.account)
                w.key("at_seq"); w.uint(r.atSeq)
                w.key("at_ms"); w.int(r.atMs)
                w.field("trigger", r.trigger)
                w.field("status", r.status)
                w.key("discrepancy_count"); w.int(r.discrepancyCount)
                w.field("impact_total_quote", r.impactTotal)
                w.key("canonical"); w.bool(r.canonical)
                w.endObject()
                print(w.text)
            } else {
                table.add(["\(r.atSeq)", isoTime(r.atMs), r.account, r.trigger + (r.canonical ? "" : " (ad hoc)"), r.status,
                           "\(r.discrepancyCount)", r.impactTotal, r.runId])
            }
        }
        if !json && !rows.isEmpty { print(table.render()) }
    }
}

struct AuditDiscrepanciesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "discrepancies", abstract: "List discrepancy lifecycles (opened, escalated, resolved).")

    @OptionGroup var data: DataOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "Only this account.")
    var account: String?

    @Option(help: "open or resolved.")
    var status: String?

    @Option(help: ArgumentHelp("Only lifecycles active at or after this time (ISO-8601 or epoch ms).", valueName: "T"))
    var since: String?

    @Flag(help: "NDJSON output.")
    var json = false

    func validate() throws {
        if let status, !["open", "resolved"].contains(status) { throw ValidationError("--status must be open or resolved") }
        if let since, PointOptions.parseTime(since) == nil { throw ValidationError("--since: expected ISO-8601 or epoch ms") }
    }

    func run() throws {
        let config = try configOptions.load()
        var intervals = try data.openAudit().intervals(configHash: config.hash, account: account, sinceMs: since.flatMap(PointOptions.parseTime))
        if let status { intervals = intervals.filter { ($0.isOpen ? "open" : "resolved") == status } }
        var table = TextTable(["opened seq", "resolved seq", "severity", "key", "what"], rightAligned: [0, 1])
        for i in intervals {
            if json {
                var w = JSONWriter()
                w.beginObject()
                w.field("account", i.account)
                w.field("key", i.key)
                w.field("type", i.type)
                w.field("severity", i.severity)
                w.field("status", i.isOpen ? "open" : "resolved")
                w.key("opened_seq"); w.uint(i.openedSeq)
                w.key("opened_ms"); w.int(i.openedMs)
                w.key("escalated_seq"); if let s = i.escalatedSeq { w.uint(s) } else { w.null() }
                w.key("resolved_seq"); if let s = i.resolvedSeq { w.uint(s) } else { w.null() }
                w.field("opened_run_id", i.openedRunId)
                w.field("message", i.message)
                w.endObject()
                print(w.text)
            } else {
                table.add(["\(i.openedSeq)", i.resolvedSeq.map { "\($0)" } ?? "open", i.severity, i.key, i.message])
            }
        }
        if !json { print(intervals.isEmpty ? "no discrepancies recorded for config \(config.hash.prefix(19))… (run `recon replay` first)" : table.render()) }
    }
}
