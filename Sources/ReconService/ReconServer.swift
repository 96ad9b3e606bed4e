import Foundation
import Hummingbird
public import Logging
import NIOCore
public import ReconCore
public import ReconStore
import ServiceLifecycle
import UnixSignals

/// The live service: HTTP ingest and reads, group commit, trigger engine,
/// alerts and metrics, started and stopped together.
///
/// Start-up order: open the log, start the engine (it folds the log with its
/// startup runs, then starts the checkpoint writer), start the writer, then
/// listen. Shutdown (SIGTERM/SIGINT, or
/// cancellation): the HTTP server stops accepting and finishes its requests, the
/// writer commits what is queued, the checkpoint writer finishes its group, the
/// engine stops after its current run (a backlog is folded at the next start,
/// so shutdown time stays bounded), the alert queues drain, then `run` returns.
public final class ReconServer: Sendable {
    public let options: ServeOptions
    public let log: EventLog
    public let state = ServiceState()
    public let metrics = ServiceMetrics()
    let writer: GroupCommitWriter
    let engine: ReconEngine
    let alerts: AlertDispatcher
    let reports: ReportWriter
    let corrections: AutoCorrector
    let checkpoints: CheckpointWriter
    let logger: Logger

    public init(options: ServeOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        var logOptions = EventLogOptions()
        logOptions.durable = options.durable
        log = try EventLog(directory: options.dataDirectory + "/log", options: logOptions)
        log.clearStaleReaders()
        reports = ReportWriter(directory: options.reportDirectory)
        try FileManager.default.createDirectory(atPath: options.reportDirectory, withIntermediateDirectories: true)
        alerts = try Self.makeAlerts(options.config.alerts, reportDirectory: options.reportDirectory, metrics: metrics, logger: logger)
        let state = state, metrics = metrics, reports = reports, alerts = alerts, logger = logger
        let corrections = AutoCorrector(config: options.config, logger: logger)
        self.corrections = corrections
        let checkpoints = CheckpointWriter(
            log: log, logger: logger,
            onLatest: { newest, committed in
                state.setCheckpoint(newest)
                metrics.recordCheckpointLag(newestGroup: newest, committed: committed)
            },
            onFailure: { metrics.recordCheckpointFailure() })
        self.checkpoints = checkpoints
        engine = ReconEngine(
            log: log, config: options.config, settings: options.engine, logger: logger,
            onReport: { report in
                let json = report.json()
                state.recordRun(report, json: json)
                metrics.recordRun(report, nowMs: wallClockMs())
                metrics.recordOpen(state.openCounts())
                do {
                    try reports.write(report, json: json)
                } catch {
                    logger.error("recon_failed", metadata: ["account": "\(report.point.account)", "run_id": "\(report.runId)",
                                                            "reason": "writing the report: \(error)"])
                    state.recordFailure(account: report.point.account, atSeq: report.point.atSeq,
                                        json: Self.failureJSON(account: report.point.account, atSeq: report.point.atSeq, reason: "writing the report: \(error)"))
                    metrics.recordFailedRun()
                }
                alerts.enqueue(report)
                corrections.consider(report)
            },
            onFailure: { account, seq, reason in
                state.recordFailure(account: account, atSeq: seq, json: Self.failureJSON(account: account, atSeq: seq, reason: reason))
                metrics.recordFailedRun()
            },
            onFolded: { seq in state.setFolded(seq) },
            // Checkpoints wait for the engine's catch-up at start: on a long log
            // both fold it all, and runs and alerts come first.
            onCaughtUp: { checkpoints.start() }
        )
        let engine = engine
        let writer = GroupCommitWriter(log: log, limits: options.writer) { commit in
            metrics.recordCommit(commit)
            state.recordCommit(requests: commit.requests, events: commit.events)
            if let last = commit.lastSeq {
                state.setCommitted(last)
                engine.committed(upTo: last)
                checkpoints.committed(upTo: last)
            }
        }
        self.writer = writer
        corrections.attach(writer)
    }

    /// Builds the alert sinks the config names (none is fine: alerts are optional).
    public static func makeAlerts(_ config: AlertConfig, reportDirectory: String, metrics: ServiceMetrics?, logger: Logger) throws -> AlertDispatcher {
        let redis = try config.redisURL.map { RedisPublisher(endpoint: try RedisPublisher.Endpoint(url: $0)) }
        let webhook = config.webhookURL.map { WebhookSender(url: $0, lastPayloadPath: reportDirectory + "/webhook_last.json") }
        return AlertDispatcher(alerts: config, redis: redis, webhook: webhook, metrics: metrics, logger: logger)
    }

    /// The `recon_failed` record kept in `/v1/runs` for a run that failed.
    static func failureJSON(account: String?, atSeq: UInt64, reason: String) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("status", "recon_failed")
        w.key("account")
        if let account { w.string(account) } else { w.null() }
        w.key("at_seq")
        w.uint(atSeq)
        w.key("at_wall_ms")
        w.int(wallClockMs())
        w.field("reason", reason)
        w.endObject()
        return w.bytes
    }

    /// Runs until SIGTERM/SIGINT (or cancellation); `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        try engine.start()
        state.setCommitted(try log.lastSeq())
        writer.start()
        state.setReady()
        let app = makeApplication(onListening: onListening)
        let runtime = Runtime(writer: writer, engine: engine, checkpoints: checkpoints, alerts: alerts)
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: runtime),
                .init(service: app),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger
        ))
        logger.info("recon serve listening", metadata: ["host": "\(options.host)", "port": "\(options.port)",
                                                        "data": "\(options.dataDirectory)", "reports": "\(options.reportDirectory)"])
        try await group.run()
    }

    func makeApplication(onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        let ingest = IngestRoutes(options: options, writer: writer, state: state, metrics: metrics)
        let reads = ReadRoutes(log: log, state: state, writer: writer)
        let metrics = metrics
        router.get("/healthz") { request, _ in reads.health(request) }
        router.get("/metrics") { _, _ in HTTPReplies.text(metrics.exposition(), contentType: "text/plain; version=0.0.4") }
        let api = router.group("/v1").add(middleware: BearerAuth(token: options.insecure ? nil : options.token))
        api.post("/events") { request, _ in await ingest.postEvents(request) }
        api.post("/reconcile") { request, _ in await ingest.postReconcile(request) }
        api.get("/reports/latest") { request, _ in reads.latestReport(request) }
        api.get("/runs") { request, _ in reads.runs(request) }
        api.get("/discrepancies") { request, _ in reads.discrepancies(request) }
        api.get("/state") { request, _ in reads.accountState(request) }
        var appLogger = logger
        appLogger.logLevel = max(logger.logLevel, .notice)
        return Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "recon"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: appLogger
        )
    }

    /// Owns the threads: waits for shutdown, then drains writer, engine, alerts.
    struct Runtime: Service {
        let writer: GroupCommitWriter
        let engine: ReconEngine
        let checkpoints: CheckpointWriter
        let alerts: AlertDispatcher

        func run() async throws {
            let alerts = alerts
            let sending = Task { await alerts.run() }
            try? await gracefulShutdown()
            writer.stop()
            checkpoints.stop()
            engine.stop()
            alerts.finish()
            await sending.value
        }
    }
}
