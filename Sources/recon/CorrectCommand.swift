import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct CorrectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correct",
        abstract: "Show a run's proposed corrections, and apply them as correction events.",
        discussion: """
            A dry run by default: reconciles the account (at the log's end, at \
            --at/--at-time, or at the point of --run) and prints each proposed \
            correction with the event that would apply it. Nothing changes.

            --apply appends the chosen proposals as `correction` events, approved by \
            --approved-by. History is never rewritten: the log keeps the original \
            events and the correction after them, the next run resolves the \
            discrepancy, and `recon drift` still finds the original cause. Applying \
            the same proposal twice appends it once (its id derives from the run and \
            the discrepancy key).

            Choose with --key (repeatable), or --auto for only those within the \
            configured auto-correction limits (auto_correct, \
            max_auto_correction_size, max_auto_correction_amount; never a critical \
            position delta).

            Examples:
              recon correct --account bot1
              recon correct --account bot1 --apply --approved-by ops:alice --key fill_missing_local:bot1:f-21002
              recon correct --account bot1 --run run-0a1b2c… --apply --approved-by ops:alice
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var point: PointOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "The account.")
    var account: String

    @Option(name: .customLong("run"), help: ArgumentHelp("The run whose proposals to show (from `recon audit runs`); default: a run at the point.", valueName: "RUN_ID"))
    var runId: String?

    @Option(name: .customLong("key"), help: ArgumentHelp("Only the proposal answering this discrepancy key (repeatable).", valueName: "KEY"))
    var keys: [String] = []

    @Flag(help: "Only proposals within the configured auto-correction limits.")
    var auto = false

    @Flag(help: "Append the chosen corrections to the log (otherwise a dry run).")
    var apply = false

    @Option(name: .customLong("approved-by"), help: ArgumentHelp("Who approves (required with --apply), e.g. ops:alice.", valueName: "NAME"))
    var approvedBy: String?

    @Flag(help: "JSON output: the correction events.")
    var json = false

    func validate() throws {
        if apply && (approvedBy ?? "").isEmpty { throw ValidationError("--apply needs --approved-by NAME: every correction names who approved it") }
        if runId != nil && (point.at != nil || point.atTime != nil) { throw ValidationError("give --run or --at/--at-time, not both") }
    }

    func run() throws {
        let config = try configOptions.load()
        let log = try data.openLog(readOnly: !apply)
        let (seq, namedRun) = try resolvePoint(log)
        let report = try ReconcileCommand.report(log: log, config: config, account: account, at: seq)
        let sourceRunId = namedRun ?? report.runId
        var chosen = report.findings.corrections
        if !keys.isEmpty {
            let unknown = Set(keys).subtracting(chosen.map(\.key))
            if !unknown.isEmpty {
                throw CLIError("no proposal answers \(unknown.sorted().joined(separator: ", ")) at seq \(seq); proposals: "
                               + (chosen.isEmpty ? "none" : chosen.map(\.key).joined(separator: ", ")))
            }
            chosen = chosen.filter { keys.contains($0.key) }
        }
        if auto { chosen = chosen.filter(\.autoApplicable) }
        let venue = try CheckpointStore(log: log).projection(account: account, at: seq).venue
        // Stamped with the venue time of the data it answers, so the run it answers
        // and every later one see it inside their time-aligned view; a wall-clock
        // stamp would leave it out until the next snapshot and make those runs
        // propose the same change again as a position or balance adjustment.
        let tsMs = report.findings.remoteAsOfMs ?? wallClockMs()
        let events = chosen.map {
            $0.event(account: account, sourceRunId: sourceRunId, approvedBy: approvedBy ?? "(dry run)", tsMs: tsMs, venue: venue)
        }
        if json {
            for e in events { print(String(decoding: e.jsonObject(), as: UTF8.self)) }
        } else {
            print("\(account) at seq \(seq), run \(sourceRunId): \(report.findings.corrections.count) proposed, \(chosen.count) chosen")
            var table = TextTable(["key", "change", "auto"])
            for c in chosen { table.add([c.key, c.summary, c.autoApplicable ? "within limits" : "-"]) }
            if !table.rows.isEmpty { print(table.render()) }
        }
        guard apply else {
            if !json && !chosen.isEmpty { Console.error("dry run: nothing appended (add --apply --approved-by NAME)") }
            return
        }
        guard !events.isEmpty else {
            Console.error("nothing to apply")
            return
        }
        let result = try log.append(events.enumerated().map { AppendInput(event: $0.element, line: $0.offset + 1) })
        Console.error("applied: \(result.appended) correction events appended (\(result.duplicates) already in the log), seqs \(result.firstSeq ?? 0)–\(result.lastSeq ?? 0)")
    }

    /// The seq to reconcile at, and the run id the corrections answer when --run names one.
    private func resolvePoint(_ log: EventLog) throws -> (UInt64, String?) {
        guard let run = runId else {
            let seq = try point.resolve(log)
            guard seq > 0 else { throw CLIError("the log is empty") }
            return (seq, nil)
        }
        guard let row = try data.openAudit().run(id: run) else {
            throw CLIError("run \(run) is not in the audit store; run `recon replay` (or omit --run to use the log's end)")
        }
        guard row.account == account else { throw CLIError("run \(run) is for account \(row.account), not \(account)") }
        return (row.atSeq, run)
    }
}
