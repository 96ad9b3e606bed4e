public import Logging
public import ReconCore

/// Sends run results to Redis and the webhook, off the ingest path.
///
/// Each sink has its own bounded buffer (the newest `bufferedRuns` runs) and its
/// own task, so a slow webhook never delays Redis and neither ever delays a
/// commit. A run that falls out of a full buffer is counted in
/// `recon_alerts_dropped_total`.
public final class AlertDispatcher: Sendable {
    public static let bufferedRuns = 1_024

    private let redis: RedisPublisher?
    private let webhook: WebhookSender?
    private let alerts: AlertConfig
    private let metrics: ServiceMetrics?
    private let logger: Logger
    private let redisStream: AsyncStream<Report>
    private let redisInput: AsyncStream<Report>.Continuation
    private let webhookStream: AsyncStream<Report>
    private let webhookInput: AsyncStream<Report>.Continuation

    public init(alerts: AlertConfig, redis: RedisPublisher?, webhook: WebhookSender?, metrics: ServiceMetrics?, logger: Logger) {
        self.alerts = alerts
        self.redis = redis
        self.webhook = webhook
        self.metrics = metrics
        self.logger = logger
        (redisStream, redisInput) = AsyncStream.makeStream(of: Report.self, bufferingPolicy: .bufferingNewest(Self.bufferedRuns))
        (webhookStream, webhookInput) = AsyncStream.makeStream(of: Report.self, bufferingPolicy: .bufferingNewest(Self.bufferedRuns))
    }

    /// Queues a run for every configured sink; never blocks.
    public func enqueue(_ report: Report) {
        if redis != nil, case .dropped = redisInput.yield(report) { metrics?.recordAlertDropped() }
        if webhook != nil, AlertPayloads.qualifies(report, minSeverity: alerts.minSeverity),
           case .dropped = webhookInput.yield(report) {
            metrics?.recordAlertDropped()
        }
    }

    /// Ends the input; `run` returns once what is queued is sent.
    public func finish() {
        redisInput.finish()
        webhookInput.finish()
    }

    /// Sends queued runs until ``finish()``.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runRedis() }
            group.addTask { await self.runWebhook() }
        }
        await redis?.close()
    }

    private func runRedis() async {
        for await report in redisStream {
            guard let redis else { continue }
            await publishRedis(report, redis)
        }
    }

    private func runWebhook() async {
        for await report in webhookStream {
            guard let webhook else { continue }
            await sendWebhook(report, webhook)
        }
    }

    /// Publishes one run: its result, then each discrepancy. One reconnect and
    /// retry on failure, then the run is logged and given up (Redis pub/sub has
    /// no memory for absent subscribers anyway).
    func publishRedis(_ report: Report, _ redis: RedisPublisher) async {
        var messages = [(alerts.resultChannel, AlertPayloads.result(report))]
        for d in AlertPayloads.discrepancies(report) { messages.append((alerts.discrepancyChannel, d)) }
        for (channel, message) in messages {
            var sent = false
            for attempt in 1...2 where !sent {
                do {
                    try await redis.publish(channel: channel, message: message)
                    sent = true
                } catch {
                    if attempt == 2 {
                        logger.warning("redis publish failed", metadata: ["channel": "\(channel)", "run_id": "\(report.runId)", "error": "\(error)"])
                    }
                }
            }
            if !sent { return }
        }
    }

    func sendWebhook(_ report: Report, _ webhook: WebhookSender) async {
        let outcome = await webhook.send(AlertPayloads.webhook(report))
        if !outcome.delivered {
            metrics?.recordWebhookFailure()
            logger.warning("webhook failed", metadata: ["run_id": "\(report.runId)", "attempts": "\(outcome.attempts)",
                                                        "error": "\(outcome.lastError ?? "-")"])
        }
    }

    /// Sends one run through both sinks now (for `recon alert test`).
    public func sendNow(_ report: Report) async -> (redis: String?, webhook: WebhookSender.Outcome?) {
        var redisNote: String?
        if let redis {
            do {
                let n = try await redis.publish(channel: alerts.resultChannel, message: AlertPayloads.result(report))
                for d in AlertPayloads.discrepancies(report) {
                    try await redis.publish(channel: alerts.discrepancyChannel, message: d)
                }
                redisNote = "published to \(alerts.resultChannel) (\(n) subscribers) and \(report.discrepancies.count) to \(alerts.discrepancyChannel)"
            } catch {
                redisNote = "failed: \(error)"
            }
            await redis.close()
        }
        var outcome: WebhookSender.Outcome?
        if let webhook {
            outcome = await webhook.send(AlertPayloads.webhook(report))
            if outcome?.delivered == false { metrics?.recordWebhookFailure() }
        }
        return (redisNote, outcome)
    }
}
