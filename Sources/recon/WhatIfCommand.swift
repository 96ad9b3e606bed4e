import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct WhatIfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "Replay history under a new config and list what it would change.",
        discussion: """
            Folds the log once and reconciles every trigger point twice, under the \
            base config and under --config, then lists the discrepancies the new \
            config would open, close, or report at another severity, with the first \
            seq where it differs and in how many runs. Tune thresholds against \
            history before deploying them. Nothing is written.

            The base is --base FILE, else $RECON_CONFIG, else the built-in defaults. \
            --from/--to limit which runs are compared (the fold still starts at seq \
            1, so persistence and escalation are right).

            Examples:
              recon whatif --config tighter.json
              recon whatif --config new.json --base deployed.json --account bot1 --from 120000 --to 180000
            """
    )

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("The new configuration to try.", valueName: "FILE"))
    var config: String

    @Option(help: ArgumentHelp("The configuration to compare against.", valueName: "FILE"))
    var base: String?

    @Option(help: "Only this account.")
    var account: String?

    @Option(help: ArgumentHelp("Compare runs from this seq on.", valueName: "SEQ"))
    var from: UInt64 = 1

    @Option(help: ArgumentHelp("Compare runs up to this seq.", valueName: "SEQ"))
    var to: UInt64?

    @Flag(help: "JSON output: one object per difference.")
    var json = false

    func validate() throws {
        if let to, to < from { throw ValidationError("--to \(to) is before --from \(from)") }
    }

    func run() throws {
        let newConfig = try ConfigOptions.load(config)
        let baseConfig = try (base ?? ProcessInfo.processInfo.environment["RECON_CONFIG"]).map(ConfigOptions.load) ?? .standard
        let log = try data.openLog(readOnly: true)
        let diff = try Self.compare(log: log, base: baseConfig, new: newConfig, account: account, from: from, to: to ?? .max) {
            Console.progress("whatif", $0, $1)
        }
        if json {
            for e in diff.sorted {
                var w = JSONWriter()
                w.objectValue { w in
                    w.field("change", e.change.rawValue)
                    w.field("key", e.key)
                    w.field("type", e.type.rawValue)
                    w.field("account", e.account)
                    w.key("base_severity")
                    if let s = e.baseSeverity { w.string(s.rawValue) } else { w.null() }
                    w.key("new_severity")
                    if let s = e.newSeverity { w.string(s.rawValue) } else { w.null() }
                    w.key("first_seq")
                    w.uint(e.firstSeq)
                    w.key("last_seq")
                    w.uint(e.lastSeq)
                    w.key("runs")
                    w.int(e.runs)
                    w.field("message", e.message)
                }
                print(w.text)
            }
            return
        }
        let counts = WhatIfDiff.Change.allCases.map { c in diff.entries.values.filter { $0.change == c }.count }
        print("\(diff.runsCompared) runs compared: base \(baseConfig.hash.prefix(19))…, new \(newConfig.hash.prefix(19))…")
        print("the new config opens \(counts[0]), closes \(counts[1]), changes the severity of \(counts[2]) discrepancies")
        var table = TextTable(["change", "key", "base", "new", "first seq", "runs"], rightAligned: [4, 5])
        for e in diff.sorted {
            table.add([e.change.rawValue, e.key, e.baseSeverity?.rawValue ?? "-", e.newSeverity?.rawValue ?? "-", "\(e.firstSeq)", "\(e.runs)"])
        }
        if !table.rows.isEmpty { print(table.render()) }
    }

    /// One fold, two reconciles per trigger point; runs in [from, to] are compared.
    static func compare(log: EventLog, base: ReconConfig, new: ReconConfig, account: String?, from: UInt64, to: UInt64,
                        progress: (UInt64, UInt64) -> Void = { _, _ in }) throws -> WhatIfDiff {
        var runner = ReplayRunner(config: base)
        runner.alternative = new
        var diff = WhatIfDiff()
        try log.replay(&runner, from: 1, to: to, account: account, progress: progress) { outcome in
            guard outcome.report.point.atSeq >= from, let other = outcome.alternativeReport else { return }
            diff.add(base: outcome.report, new: other)
        }
        return diff
    }
}
