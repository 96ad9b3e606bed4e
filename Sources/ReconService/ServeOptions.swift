public import ReconCore

/// Everything `recon serve` needs, resolved from flags, environment and config.
public struct ServeOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests); the bound port is reported by `onListening`.
    public var port = 7878
    /// The data folder (the log lives in `<data>/log`).
    public var dataDirectory: String
    /// Where reports go; default `<data>/reports`.
    public var reportDirectory: String
    public var config: ReconConfig
    /// The bearer token; nil only with `insecure`.
    public var token: String?
    public var insecure = false
    /// Largest accepted request body; larger ones get 413 before being read.
    public var bodyLimitBytes: Int
    public var maxLineBytes = NDJSON.defaultMaxLineBytes
    /// A request body must arrive within this time, else 408.
    public var bodyTimeoutMs: Int64 = 10_000
    /// How long `POST /v1/reconcile` waits for its run before answering 202.
    public var reconcileWaitMs: Int64 = 10_000
    public var writer = GroupCommitWriter.Limits()
    public var engine: ReconEngine.Settings
    /// fsync each commit (off only for benchmarks of the non-durable path).
    public var durable = true

    public init(dataDirectory: String, config: ReconConfig) {
        self.dataDirectory = dataDirectory
        self.config = config
        reportDirectory = config.service.reportDir ?? dataDirectory + "/reports"
        token = config.service.token
        bodyLimitBytes = config.service.bodyLimitBytes
        engine = ReconEngine.Settings(config.service)
    }
}
