import ArgumentParser
import Foundation
import ReconStore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the log's integrity.",
        discussion: """
            Checks that seqs run from 1 with no gap, every record's CRC32C, that every \
            record decodes, that ingest times never go back, the content chain, and \
            that the id index maps each id to its seq and nothing else. Exit code 0 \
            when sound, 1 with one line per fault otherwise.
            """
    )

    @OptionGroup var data: DataOptions

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        let log = try data.openLog(readOnly: true)
        let report: VerifyReport
        do {
            report = try log.verify { done, total in Console.progress("verify", done, total) }
        } catch {
            throw CLIError("verify could not finish: \(error)")
        }
        if json {
            let faults = report.faults.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",")
            print(#"{"sound":\#(report.isSound),"records":\#(report.records),"last_seq":\#(report.lastSeq),"index_entries":\#(report.indexEntries),"faults":[\#(faults)],"faults_not_listed":\#(report.faultsNotListed)}"#)
        } else {
            for fault in report.faults { Console.error("fault: \(fault)") }
            if report.faultsNotListed > 0 { Console.error("… and \(report.faultsNotListed) more faults") }
            print(report.isSound
                  ? "ok: \(report.records) records, seq 1...\(report.lastSeq), \(report.indexEntries) ids indexed"
                  : "FAILED: \(report.faults.count + report.faultsNotListed) faults in \(report.records) records")
        }
        if !report.isSound { throw ExitCode(1) }
    }
}
