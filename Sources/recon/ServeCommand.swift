import ArgumentParser
import Foundation
import Logging
import ReconCore
import ReconService

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the live service: HTTP ingest, reconciliation triggers, alerts, metrics.",
        discussion: """
            Listens on loopback (--listen, default 127.0.0.1:7878) and appends the \
            events bots post to the log in --data, durably and in group commits: \
            concurrent requests share one LMDB transaction and one fsync; a request \
            is answered only once its events are on disk.

            Auth: every /v1 route needs `Authorization: Bearer TOKEN`; the token is \
            $RECON_TOKEN, else service.token in the config. Without one the service \
            refuses to start unless --insecure-no-auth. /healthz and /metrics are open.

            Endpoints:
              POST /v1/events         NDJSON or a JSON array of events; answers each seq
                                      (the original seq for a duplicate). 400 names the
                                      line and field, 409 an id conflict, 413 over the
                                      body limit, 503 + Retry-After when the queue is full
              POST /v1/reconcile      {"account":"bot1","requested_by":"ops"}: recorded as
                                      a recon_requested event; answers the run's report
              GET  /v1/reports/latest?account=A     GET /v1/runs?account=A&limit=N
              GET  /v1/discrepancies?status=open    GET /v1/state?account=A&at_seq=N
              GET  /healthz                         GET /metrics (Prometheus)

            Runs: on each exchange_snapshot / exchange_fills / position history and \
            on-demand request (canonical: same report and run_id as `recon reconcile \
            --at SEQ`), service.post_fill_delay_ms after the last fill (default 5000), \
            every service.interval_s for accounts with new events (default 60), and \
            once per account at start-up (after the existing log is folded, which \
            happens while the service already takes events; /healthz shows \
            folded_seq catching up with committed_seq). Each report goes to the report folder \
            (latest.json, <account>/latest.json, <account>/reconciliation_<at>_<run>.json), \
            to Redis (alerts.redis_url: reconciliation:result, reconciliation:discrepancy) \
            and, at or above alerts.min_severity, to alerts.webhook_url.

            SIGTERM or SIGINT: stop accepting, commit what is queued, stop the engine \
            after its current run (the next start folds the rest and runs every \
            account), send queued alerts, exit 0.

            Examples:
              RECON_TOKEN=s3cret recon serve --data /var/lib/recon --config recon.json
              recon serve --insecure-no-auth --listen 127.0.0.1:0 --print-port
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var configOptions: ConfigOptions

    @Option(help: ArgumentHelp("Address to listen on; port 0 picks a free one.", valueName: "HOST:PORT"))
    var listen = "127.0.0.1:7878"

    @Option(help: ArgumentHelp("Report folder (default: service.report_dir, else DATA/reports).", valueName: "DIR"))
    var reportDir: String?

    @Flag(help: "Serve /v1 without a bearer token (loopback development only).")
    var insecureNoAuth = false

    @Option(help: "Largest request body in bytes (default: service.body_limit_bytes, 16 MiB).")
    var bodyLimitBytes: Int?

    @Option(help: "A request body must arrive within this many ms, else 408.")
    var bodyTimeoutMs: Int64 = 10_000

    @Option(help: "Events waiting for a commit before requests get 503.")
    var queueLimitEvents = 200_000

    @Option(help: "Most events in one write transaction.")
    var maxEventsPerCommit = 50_000

    @Option(help: "Override service.post_fill_delay_ms.")
    var postFillDelayMs: Int64?

    @Option(help: "Override service.interval_s.")
    var intervalS: Int64?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Flag(help: "Print the bound port on stdout once listening (for scripts using port 0).")
    var printPort = false

    func validate() throws {
        guard Self.split(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:7878") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \(logLevel)") }
        guard queueLimitEvents > 0, maxEventsPerCommit > 0, bodyTimeoutMs > 0 else { throw ValidationError("limits must be positive") }
        if let bodyLimitBytes, bodyLimitBytes < 1_024 { throw ValidationError("--body-limit-bytes must be at least 1024") }
        if let intervalS, intervalS < 1 { throw ValidationError("--interval-s must be at least 1") }
    }

    static func split(_ listen: String) -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        let host = String(listen[..<colon])
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        let config = try configOptions.load()
        var options = ServeOptions(dataDirectory: data.directory, config: config)
        (options.host, options.port) = Self.split(listen)!
        if let reportDir { options.reportDirectory = reportDir }
        if let env = ProcessInfo.processInfo.environment["RECON_TOKEN"], !env.isEmpty { options.token = env }
        options.insecure = insecureNoAuth
        if options.token == nil && !insecureNoAuth {
            throw ValidationError("no token: set RECON_TOKEN or service.token in the config, or pass --insecure-no-auth")
        }
        if let bodyLimitBytes { options.bodyLimitBytes = bodyLimitBytes }
        options.bodyTimeoutMs = bodyTimeoutMs
        options.writer.maxQueuedEvents = queueLimitEvents
        options.writer.maxEventsPerCommit = maxEventsPerCommit
        if let postFillDelayMs { options.engine.postFillDelayMs = postFillDelayMs }
        if let intervalS { options.engine.intervalS = intervalS }

        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "recon.serve")
        logger.logLevel = level
        if !["127.0.0.1", "localhost", "::1"].contains(options.host) {
            logger.warning("listening beyond loopback: put TLS and a firewall in front", metadata: ["host": "\(options.host)"])
        }
        let server: ReconServer
        do {
            server = try ReconServer(options: options, logger: logger)
        } catch {
            throw CLIError("cannot start: \(error)")
        }
        let printPort = printPort
        try await server.run { port in
            if printPort {
                // Written straight to fd 1: stdout's buffer would hold it back from a pipe.
                let line = Array("\(port)\n".utf8)
                _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            }
        }
    }
}
