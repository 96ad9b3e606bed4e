import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct DriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Find where drift began: the run from which a discrepancy appeared and stayed.",
        discussion: """
            Replays the account's history once (reconciling at its trigger points, \
            each run costing only what is wrong, not the history) and reports, for \
            each discrepancy still open at the end (or at --at), the first run of its \
            unbroken stretch and the events that explain it: the last local and \
            remote events that made each side what it is, and for a missing fill the \
            venue's record of it.

            Examples:
              recon drift --account bot1
              recon drift --account bot1 --type position_qty_mismatch --symbol BTC-PERP --json
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var point: PointOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "The account.")
    var account: String

    @Option(help: "Only the discrepancy with this key.")
    var key: String?

    @Option(help: "Only discrepancies of this type.")
    var type: String?

    @Option(help: "With --type: only this symbol.")
    var symbol: String?

    @Flag(help: "JSON output.")
    var json = false

    func validate() throws {
        if let type, DiscrepancyType(rawValue: type) == nil { throw ValidationError("unknown --type \(type)") }
        if symbol != nil && type == nil && key == nil { throw ValidationError("--symbol goes with --type") }
    }

    func run() throws {
        let config = try configOptions.load()
        let log = try data.openLog(readOnly: true)
        let seq = try point.resolve(log)
        let origins = try Self.origins(log: log, config: config, account: account, to: seq)
        let chosen = origins.filter { d in
            (key == nil || d.key == key) && (type == nil || d.type.rawValue == type) && (symbol == nil || d.symbol == symbol)
        }
        if json {
            var w = JSONWriter()
            w.beginArray()
            for d in chosen { try writeOrigin(d, log: log, into: &w) }
            w.endArray()
            print(w.text)
            return
        }
        guard !chosen.isEmpty else {
            print("no matching discrepancy is open for \(account) at seq \(seq)")
            return
        }
        print("drift origins for \(account) up to seq \(seq) (config \(config.hash.prefix(19))…), earliest first:")
        for d in chosen {
            print("\n\(d.severity.rawValue.uppercased()) \(d.key)")
            print("  open since the run at seq \(d.firstSeenSeq) (\(d.runId)), \(d.runsSeen) runs")
            print("  \(d.message)")
            if let s = d.localSeq, let e = try log.event(at: s) {
                print("  local side last changed by seq \(s): \(String(decoding: e.jsonLine(), as: UTF8.self))")
            } else {
                print("  local side: no event (the bot never recorded it)")
            }
            if let s = d.remoteSeq, let e = try log.event(at: s) {
                print("  remote side from seq \(s): \(e.event.type.name) valid at \(isoTime(e.event.tsMs))")
            }
            if d.type == .fillMissingLocal, let remote = d.remote {
                var w = JSONWriter()
                w.value(remote)
                print("  the venue's record: \(w.text)")
            }
        }
    }

    /// Open discrepancies at `to`, each as it was at the first run of its
    /// unbroken stretch, earliest first.
    static func origins(log: EventLog, config: ReconConfig, account: String, to: UInt64) throws -> [Discrepancy] {
        var origins = DriftOrigins()
        let runner = try log.replay(config: config, to: to, account: account, progress: { Console.progress("drift", $0, $1) }) { outcome in
            origins.record(outcome)
        }
        return origins.origins(account: account, open: runner.lifecycle[account]?.open ?? [:])
    }

    private func writeOrigin(_ d: Discrepancy, log: EventLog, into w: inout JSONWriter) throws {
        w.beginObject()
        w.field("key", d.key)
        w.field("type", d.type.rawValue)
        w.field("severity", d.severity.rawValue)
        w.key("first_seen_seq"); w.uint(d.firstSeenSeq)
        w.field("first_run_id", d.runId)
        w.key("discrepancy")
        d.writeJSON(into: &w)
        w.key("local_event")
        if let s = d.localSeq, let e = try log.event(at: s) { w.raw(e.jsonLine()) } else { w.null() }
        w.key("remote_event")
        if let s = d.remoteSeq, let e = try log.event(at: s) { w.raw(e.jsonLine()) } else { w.null() }
        w.endObject()
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What changed between two points: discrepancies opened, resolved, grown or shrunk.",
        discussion: "Points are seqs or times (ISO-8601 or epoch ms). Example: recon diff --account bot1 --from 1200 --to 2026-11-25T14:02:00Z"
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "The account.")
    var account: String

    @Option(help: ArgumentHelp("The earlier point (seq or time).", valueName: "X"))
    var from: String

    @Option(help: ArgumentHelp("The later point (seq or time).", valueName: "Y"))
    var to: String

    @Flag(help: "NDJSON output.")
    var json = false

    func resolve(_ text: String, _ log: EventLog) throws -> UInt64 {
        if let seq = UInt64(text), text.count < 12 { return seq }
        guard let ms = PointOptions.parseTime(text) else { throw CLIError("\(text): expected a seq or a time") }
        return try log.read { try $0.seq(atIngestMs: ms) }
    }

    func run() throws {
        let config = try configOptions.load()
        let log = try data.openLog(readOnly: true)
        let x = try resolve(from, log), y = try resolve(to, log)
        guard x <= y else { throw CLIError("--from (seq \(x)) is after --to (seq \(y))") }
        guard x > 0, y <= (try log.lastSeq()) else { throw CLIError("points must be within the log (1...\(try log.lastSeq()))") }
        var runner = ReplayRunner(config: config)
        try log.replay(&runner, from: 1, to: x, account: account) { _ in }
        let before = runner.run(account: account, at: try log.event(at: x)!, context: RunContext(trigger: .onDemand, seq: x), advance: false).report
        try log.replay(&runner, from: x + 1, to: y, account: account) { _ in }
        let after = runner.run(account: account, at: try log.event(at: y)!, context: RunContext(trigger: .onDemand, seq: y), advance: false).report
        let a = Dictionary(before.discrepancies.map { ($0.key, $0) }, uniquingKeysWith: { x, _ in x })
        let b = Dictionary(after.discrepancies.map { ($0.key, $0) }, uniquingKeysWith: { x, _ in x })
        var rows: [(String, Discrepancy, String)] = []
        for key in Set(a.keys).union(b.keys).sorted() {
            switch (a[key], b[key]) {
            case (nil, let new?): rows.append(("opened", new, "\(new.severity.rawValue): \(new.message)"))
            case (let old?, nil): rows.append(("resolved", old, "was \(old.severity.rawValue): \(old.message)"))
            case (let old?, let new?):
                let oldSize = old.delta?.magnitude ?? old.impactQuote ?? 0
                let newSize = new.delta?.magnitude ?? new.impactQuote ?? 0
                if newSize > oldSize { rows.append(("grown", new, "\(old.delta.map { "\($0)" } ?? "-") → \(new.delta.map { "\($0)" } ?? "-")")) }
                else if newSize < oldSize { rows.append(("shrunk", new, "\(old.delta.map { "\($0)" } ?? "-") → \(new.delta.map { "\($0)" } ?? "-")")) }
                else if new.severity != old.severity { rows.append(("changed", new, "\(old.severity.rawValue) → \(new.severity.rawValue)")) }
            default: break
            }
        }
        if json {
            for (change, d, _) in rows {
                var w = JSONWriter()
                w.beginObject()
                w.field("change", change)
                w.key("discrepancy")
                d.writeJSON(into: &w)
                w.endObject()
                print(w.text)
            }
            return
        }
        print("\(account): seq \(x) (\(before.statusText), \(before.discrepancies.count) discrepancies) → seq \(y) (\(after.statusText), \(after.discrepancies.count))")
        var table = TextTable(["change", "key", "detail"])
        for (change, d, detail) in rows { table.add([change, d.key, detail]) }
        print(rows.isEmpty ? "  no change" : table.render())
    }
}
