import Foundation
import CoreMetrics
import Metrics
import Prometheus
import ReconCore
import Synchronization

/// The service's Prometheus metrics (CONTRACT §8), through swift-metrics.
///
/// Each service owns its registry and factory instead of bootstrapping the
/// process-wide `MetricsSystem`, so several services (tests) can live in one
/// process. Metric values are `Double` by Prometheus's format; they are read
/// from exact decimals for display only and never feed a computation.
public final class ServiceMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let appendLatency: CoreMetrics.Timer
    private let batchSize: CoreMetrics.Recorder
    private let webhookFailures: CoreMetrics.Counter
    private let alertsDropped: CoreMetrics.Counter
    private let checkpointLag: CoreMetrics.Gauge
    private let checkpointFailures: CoreMetrics.Counter
    private let openKeys = Mutex<Set<[String]>>([])

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["recon_append_latency_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        factory.valueHistogramBuckets["recon_append_batch_size"] = [1, 10, 100, 1_000, 10_000, 50_000]
        self.factory = factory
        appendLatency = CoreMetrics.Timer(label: "recon_append_latency_seconds", dimensions: [], factory: factory)
        batchSize = CoreMetrics.Recorder(label: "recon_append_batch_size", dimensions: [], aggregate: true, factory: factory)
        webhookFailures = CoreMetrics.Counter(label: "recon_webhook_failures_total", dimensions: [], factory: factory)
        alertsDropped = CoreMetrics.Counter(label: "recon_alerts_dropped_total", dimensions: [], factory: factory)
        checkpointLag = CoreMetrics.Gauge(label: "recon_checkpoint_lag_events", dimensions: [], factory: factory)
        checkpointFailures = CoreMetrics.Counter(label: "recon_checkpoint_failures_total", dimensions: [], factory: factory)
        webhookFailures.increment(by: 0)
        checkpointFailures.increment(by: 0)
    }

    /// The text exposition format for `GET /metrics`.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// One committed group: events per type, the batch size.
    func recordCommit(_ commit: GroupCommitWriter.Commit) {
        batchSize.record(commit.events)
        for (type, n) in commit.appendedByType {
            CoreMetrics.Counter(label: "recon_events_appended_total", dimensions: [("type", type)], factory: factory).increment(by: n)
        }
    }

    /// One request's time from arrival to a durable answer.
    func recordAppendLatency(nanoseconds: UInt64) {
        appendLatency.recordNanoseconds(Int64(nanoseconds))
    }

    /// Events committed past the newest checkpoint group, at the checkpoint
    /// writer's last look (an as-of read folds at most this many after its group).
    func recordCheckpointLag(newestGroup: UInt64, committed: UInt64) {
        checkpointLag.record(Int64(committed - min(committed, newestGroup)))
    }

    func recordCheckpointFailure() { checkpointFailures.increment() }
    func recordWebhookFailure() { webhookFailures.increment() }
    func recordAlertDropped() { alertsDropped.increment() }

    /// A run's outcome: its status, divergences by type, fee gauges, remote age.
    func recordRun(_ report: Report, nowMs: Int64) {
        CoreMetrics.Counter(label: "recon_runs_total", dimensions: [("status", report.statusText)], factory: factory).increment()
        for d in report.discrepancies where d.severity >= .warning {
            CoreMetrics.Counter(label: "recon_divergence_total", dimensions: [("type", d.type.rawValue)], factory: factory).increment()
        }
        let account = [("account", report.point.account)]
        let fees = report.findings.fees
        // Ratios of nothing traded are not zero, they are unknown: leave the
        // gauges unset so "maker ratio < 0.80" does not fire on an idle account.
        if fees.grossNotional > 0 {
            CoreMetrics.Gauge(label: "recon_maker_taker_ratio", dimensions: account, factory: factory).record(Self.double(fees.makerTakerRatio))
            CoreMetrics.Gauge(label: "recon_net_bps", dimensions: account, factory: factory).record(Self.double(fees.netBps))
            CoreMetrics.Gauge(label: "recon_fees_bps", dimensions: account, factory: factory).record(Self.double(fees.feesBps))
        }
        if let asOf = report.findings.remoteAsOfMs {
            CoreMetrics.Gauge(label: "recon_remote_age_seconds", dimensions: account, factory: factory)
                .record(Double(max(0, nowMs - asOf)) / 1000)
        }
    }

    /// A run that failed (reading the log, writing its report).
    func recordFailedRun() {
        CoreMetrics.Counter(label: "recon_runs_total", dimensions: [("status", "failed")], factory: factory).increment()
    }

    /// Open discrepancies across accounts (their latest runs), by type and
    /// severity; a pair that closed is set back to 0 rather than left stale.
    func recordOpen(_ counts: [[String]: Int]) {
        let previous = openKeys.withLock { keys -> Set<[String]> in
            let old = keys
            keys = Set(counts.keys)
            return old
        }
        for key in previous.union(counts.keys) {
            CoreMetrics.Gauge(label: "recon_open_discrepancies", dimensions: [("type", key[0]), ("severity", key[1])], factory: factory)
                .record(counts[key] ?? 0)
        }
    }

    private static func double(_ value: ExactDecimal) -> Double {
        Double("\(value)") ?? 0
    }
}
