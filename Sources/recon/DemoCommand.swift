import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate a trading day with faults, replay it, and show what an operator needs.",
        discussion: """
            Builds a one-day session for three accounts with one of each fault injected \
            into a fresh data folder, then shows what Recon finds. The folder is kept, \
            so you can go on with the other commands on it.
            """
    )

    @Option(help: ArgumentHelp("Data folder to create (default: a new folder under /tmp).", valueName: "DIR"))
    var data: String?

    @Option(help: "Events in the session.")
    var events = 60_000

    @Option(help: "Random seed.")
    var seed: UInt64 = 2026

    func run() throws {
        let folder = data ?? (NSTemporaryDirectory() + "recon-demo-\(ProcessInfo.processInfo.processIdentifier)")
        var options = GeneratorOptions()
        options.events = events
        options.seed = seed
        options.accounts = 3
        options.symbols = 12
        options.faults = FaultKind.allCases.map { FaultRequest(kind: $0) }
        let started = monotonicSeconds()
        let generator = SyntheticGenerator(options: options)
        let generated = generator.all()
        let log: EventLog
        do {
            log = try EventLog(directory: folder + "/log")
        } catch {
            throw CLIError("\(error)")
        }
        let batch = 10_000
        var start = 0
        while start < generated.count {
            let end = min(start + batch, generated.count)
            _ = try log.append(generated[start..<end].enumerated().map { AppendInput(event: $1, line: start + $0 + 1) })
            start = end
        }
        let report = try log.verify()
        print("Recon demo: \(generated.count) events for \(options.accountNames.joined(separator: ", ")) appended in \(String(format: "%.2f", monotonicSeconds() - started)) s; log \(report.isSound ? "verified" : "FAILED verify").")
        print("")
        print("Injected faults (where a run can first see them):")
        for fault in generator.faults {
            print("  \(fault.kind.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \(fault.account)  seq \(fault.seq)  \(fault.note)")
        }
        print("")
        print("Data folder: \(folder)")
        print("Go on with:  recon events --data \(folder) --type exchange_snapshot | head")
    }
}
