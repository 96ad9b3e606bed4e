import ArgumentParser
import Foundation
import Logging
import ReconCore
import ReconService
import ReconStore

struct AlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Alert tools.",
        subcommands: [AlertTestCommand.self]
    )
}

struct AlertTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Send a synthetic run through the configured webhook and Redis channels.",
        discussion: """
            Builds a made-up run for account recon-alert-test (a real reconciliation \
            of in-memory events: the log is never opened) whose highest severity is \
            --severity, and sends it the way `recon serve` would: its result to \
            alerts.result_channel, each discrepancy to alerts.discrepancy_channel, \
            and the report to alerts.webhook_url (ignoring min_severity, so the \
            webhook is always exercised). Exit code 0 when every configured sink \
            took it, 1 otherwise.

            Examples:
              recon alert test --config recon.json
              recon alert test --config recon.json --severity warning
            """
    )

    @OptionGroup var configOptions: ConfigOptions

    @Option(help: "info, warning or critical.")
    var severity = "critical"

    @Option(help: ArgumentHelp("Where webhook_last.json is written (default: service.report_dir, else none).", valueName: "DIR"))
    var reportDir: String?

    func validate() throws {
        guard Severity(rawValue: severity) != nil else { throw ValidationError("--severity must be info, warning or critical") }
    }

    func run() async throws {
        let config = try configOptions.load()
        guard config.alerts.redisURL != nil || config.alerts.webhookURL != nil else {
            throw CLIError("the config names no alert sink (alerts.redis_url, alerts.webhook_url)")
        }
        let report = try SyntheticAlert.report(severity: Severity(rawValue: severity)!, nowMs: wallClockMs())
        let folder = reportDir ?? config.service.reportDir
        if let folder { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let logger = Logger(label: "recon.alert")
        let redis = try config.alerts.redisURL.map { RedisPublisher(endpoint: try RedisPublisher.Endpoint(url: $0)) }
        // Two attempts: an operator at a prompt wants the answer, not the service's patience.
        let webhook = config.alerts.webhookURL.map { url -> WebhookSender in
            var sender = WebhookSender(url: url, lastPayloadPath: folder.map { $0 + "/webhook_last.json" })
            sender.policy.attempts = 2
            return sender
        }
        let dispatcher = AlertDispatcher(alerts: config.alerts, redis: redis, webhook: webhook, metrics: nil, logger: logger)
        print("synthetic run \(report.runId): \(report.statusText), \(report.discrepancies.count) discrepancies (\(report.discrepancies.map(\.type.rawValue).joined(separator: ", ")))")
        let (redisNote, outcome) = await dispatcher.sendNow(report)
        var ok = true
        if let redisNote {
            print("redis:   \(redisNote)")
            ok = ok && !redisNote.hasPrefix("failed")
        }
        if let outcome {
            print("webhook: \(outcome.delivered ? "delivered" : "FAILED") after \(outcome.attempts) attempt(s)"
                  + (outcome.lastStatus.map { ", HTTP \($0)" } ?? "") + (outcome.lastError.map { ", \($0)" } ?? ""))
            ok = ok && outcome.delivered
        }
        if !ok { throw ExitCode(1) }
    }
}
