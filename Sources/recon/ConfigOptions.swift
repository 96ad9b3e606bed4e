import ArgumentParser
import Foundation
import ReconCore

/// `--config FILE` (else `$RECON_CONFIG`, else the built-in defaults).
struct ConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Configuration JSON (thresholds, fee schedule, alerts). Defaults: $RECON_CONFIG, else built in.", valueName: "FILE"))
    var config: String?

    func load() throws -> ReconConfig {
        let path = config ?? ProcessInfo.processInfo.environment["RECON_CONFIG"]
        guard let path else { return .standard }
        return try Self.load(path)
    }

    static func load(_ path: String) throws -> ReconConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read config \(path)")
        }
        do {
            return try ReconConfig.parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw CLIError("\(path): \(error)")
        }
    }
}

/// Prints a report for people: a header line and one line per discrepancy.
func printHuman(_ report: Report) {
    let r = report
    print("\(r.point.account) at seq \(r.point.atSeq): \(r.statusText.uppercased())"
          + " — \(r.discrepancies.count) discrepancies, impact \(r.impactTotalQuote.rounded(scale: 2)) quote, run \(r.runId)")
    if let asOf = r.findings.remoteAsOfMs { print("  venue data valid at \(isoTime(asOf)) (ms \(asOf))") }
    var table = TextTable(["severity", "type", "subject", "since seq", "runs", "what"])
    for d in r.discrepancies {
        let subject = d.fillId ?? d.orderId ?? d.symbol ?? d.asset ?? "-"
        table.add([d.severity.rawValue, d.type.rawValue, subject, "\(d.firstSeenSeq)", "\(d.runsSeen)", d.message])
    }
    if !table.rows.isEmpty { print(table.render()) }
    let f = r.findings.fees
    let expected = f.expectedNetAbsolute.map { "expected \($0.rounded(scale: 8)) (\(f.expectedNetBps ?? 0) bps)" } ?? "no schedule configured"
    print("  fees: gross \(f.grossNotional.rounded(scale: 2)), maker ratio \(f.makerTakerRatio), net \(f.netAbsolute.rounded(scale: 8)) (\(f.netBps) bps), \(expected)")
    let off = r.findings.checks.filter { $0.1 != "ran" }
    if !off.isEmpty { print("  checks not run as usual: " + off.map { "\($0.0) (\($0.1))" }.joined(separator: ", ")) }
    if !r.findings.corrections.isEmpty {
        print("  corrections proposed (apply with `recon correct`): \(r.findings.corrections.count)")
    }
}
