import Foundation
#if canImport(Glibc)
import Glibc
#endif
public import Logging
public import ReconCore
public import ReconStore

/// Runs the reconciler as the log grows: the service's trigger engine.
///
/// A dedicated thread owns a `ReplayRunner` that folds every committed event in
/// seq order (CPU-bound work stays off the HTTP threads and the cooperative
/// pool). Triggers:
/// - each `exchange_snapshot`, `exchange_fills`, `exchange_position_history`
///   and `recon_requested` of an account: a canonical run at that event, part
///   of the account's lifecycle timeline, with the same context and `run_id`
///   that `recon reconcile --at SEQ` gives;
/// - a local `fill`: a run `postFillDelay` later (debounced: later fills of the
///   account push it back), at the log's end then, with the latest fill in the
///   context;
/// - periodic: every `interval`, a run for each account that has had events
///   since its last run (a run with nothing new would repeat the last one);
/// - startup: one run per known account once the existing log is folded.
/// Post-fill, periodic and startup runs are ad hoc: they see the lifecycle
/// without changing it, so the timeline stays a function of the log alone.
///
/// The existing log is folded on the engine's thread, after `start` returns:
/// the service takes events while the engine catches up (a long log takes
/// seconds to fold with its canonical runs), and events committed meanwhile
/// are folded after it as live ones.
public final class ReconEngine: @unchecked Sendable {
    public struct Settings: Sendable {
        public var postFillDelayMs: Int64 = 5_000
        public var intervalS: Int64 = 60
        /// After a failed fold (e.g. a damaged record), wait this long before trying again.
        public var retryAfterFailureMs: Int64 = 1_000

        public init() {}

        public init(_ service: ServiceConfig) {
            postFillDelayMs = service.postFillDelayMs
            intervalS = service.intervalS
        }
    }

    /// A run's report with how long it took, for the sinks.
    public typealias ReportSink = @Sendable (Report) -> Void
    /// A failed run: account (if known), the seq it was at, and why.
    public typealias FailureSink = @Sendable (String?, UInt64, String) -> Void

    private let log: EventLog
    private let config: ReconConfig
    private let settings: Settings
    private let logger: Logger
    private let onReport: ReportSink
    private let onFailure: FailureSink
    private let onFolded: @Sendable (UInt64) -> Void
    private let onCaughtUp: @Sendable () -> Void

    private let follower = CommitFollower()

    // Owned by the engine thread.
    private var runner: ReplayRunner
    private var foldedSeq: UInt64 = 0
    private var lastLogged: LoggedEvent?
    private var postFill: [String: (dueNs: UInt64, fill: LoggedEvent)] = [:]
    private var dirty: Set<String> = []
    private var nextPeriodicNs: UInt64 = 0
    private var retryNotBeforeNs: UInt64 = 0

    public init(log: EventLog, config: ReconConfig, settings: Settings, logger: Logger,
                onReport: @escaping ReportSink, onFailure: @escaping FailureSink,
                onFolded: @escaping @Sendable (UInt64) -> Void = { _ in },
                onCaughtUp: @escaping @Sendable () -> Void = {}) {
        self.log = log
        self.config = config
        self.settings = settings
        self.logger = logger
        self.onReport = onReport
        self.onFailure = onFailure
        self.onFolded = onFolded
        self.onCaughtUp = onCaughtUp
        runner = ReplayRunner(config: config)
    }

    /// Starts the engine's thread: it folds the log as it is now (canonical
    /// runs, nothing published), runs once per known account with the `startup`
    /// trigger, then follows commits. Throws only if the log cannot be read at all.
    public func start() throws {
        let last = try log.lastSeq()
        follower.starting(committed: last)
        let thread = Thread { [self] in
            Self.lowerPriority()
            if catchUp(to: last) { loop() }
            follower.finished()
        }
        thread.name = "recon-engine"
        thread.start()
    }

    private struct Stopped: Error {}

    /// Events folded at start-up between two looks at `stopping` (and two
    /// updates of `/healthz`'s `folded_seq`).
    static let catchUpPiece: UInt64 = 65_536

    private var isStopping: Bool { follower.isStopping }

    /// Folds `[1, last]` with its canonical runs, then runs each account once.
    /// A failure (a damaged record) is reported as a failed run and the fold
    /// tried again after `retryAfterFailureMs`, as for live events. Returns
    /// false if the service stopped first.
    private func catchUp(to last: UInt64) -> Bool {
        while true {
            do {
                // In pieces, so that a stop is noticed between them even in a log
                // with no trigger point (no run to notice it at).
                var folding = ReplayRunner(config: config)
                var from: UInt64 = 1
                while from <= last {
                    let to = min(last, from + Self.catchUpPiece - 1)
                    try log.replay(&folding, from: from, to: to) { [self] _ in
                        if isStopping { throw Stopped() }
                    }
                    if isStopping { throw Stopped() }
                    onFolded(to)
                    from = to + 1
                }
                runner = folding
                if last > 0 { lastLogged = try log.event(at: last) }
                break
            } catch is Stopped {
                return false
            } catch {
                fail(account: nil, atSeq: (error as? StoreError)?.seq ?? 0, reason: "folding the log at start-up: \(error)")
                if !follower.sleep(ms: settings.retryAfterFailureMs) { return false }
            }
        }
        foldedSeq = last
        onFolded(last)
        if let at = lastLogged {
            for account in runner.projection.accounts.keys.sorted() {
                let context = RunContext(trigger: .startup, seq: at.seq, id: at.event.id)
                emit(run(account: account, at: at, context: context, advance: false))
            }
        }
        nextPeriodicNs = Self.nowNs() + UInt64(settings.intervalS) * 1_000_000_000
        onCaughtUp()
        return true
    }

    /// The writer committed up to `seq`.
    public func committed(upTo seq: UInt64) {
        follower.committed(upTo: seq)
    }

    /// Stops the thread after the run in progress. A backlog of committed but
    /// unfolded events and pending post-fill runs are left: the next start folds
    /// the log and runs every account, so shutdown time stays bounded.
    public func stop() {
        follower.stop()
    }

    private func loop() {
        while true {
            let next = follower.next { [self] committed in
                let now = Self.nowNs()
                let firstDue = min(nextPeriodicNs, postFill.values.map(\.dueNs).min() ?? .max)
                let canFold = committed > foldedSeq && now >= retryNotBeforeNs
                if canFold || firstDue <= now { return .proceed }
                return .waitUntil(committed > foldedSeq ? min(firstDue, retryNotBeforeNs) : firstDue)
            }
            // Stop at once, whatever the backlog: shutdown time stays bounded.
            // Nothing is lost: the next start folds the log (canonical runs
            // included) and runs every account once.
            guard let target = next else { return }
            if target > foldedSeq { fold(to: target) }
            runDuePostFills()
            runPeriodicIfDue()
        }
    }

    /// Reports produced before the fold stops to hand them on; the loop then
    /// folds on from where it stopped.
    static let reportsPerFold = 8

    private func fold(to target: UInt64) {
        var reports: [Report] = []
        let delayNs = UInt64(max(0, settings.postFillDelayMs)) * 1_000_000
        do {
            try log.read { reader in
                try reader.scanRaw(from: foldedSeq + 1, to: target) { seq, bytes in
                    let header = try LogRecord.header(bytes, seq: seq)
                    let logged = try LogRecord.decode(bytes, seq: seq)
                    _ = runner.apply(logged, chain: header.chain, runTriggers: false)
                    foldedSeq = seq
                    lastLogged = logged
                    let account = logged.event.account
                    dirty.insert(account)
                    if logged.event.isTriggerPoint {
                        let context = RunContext.triggered(by: logged, replay: false)
                        reports.append(run(account: account, at: logged, context: context, advance: true))
                    } else if case .fill = logged.event.body {
                        postFill[account] = (Self.nowNs() + delayNs, logged)
                    }
                    // Hand reports on in small groups: a lagging engine must not
                    // hold thousands of reports (or one read transaction) at once.
                    return reports.count < Self.reportsPerFold
                }
            }
        } catch {
            retryNotBeforeNs = Self.nowNs() + UInt64(settings.retryAfterFailureMs) * 1_000_000
            fail(account: nil, atSeq: foldedSeq + 1, reason: "reading the log at seq \(foldedSeq + 1): \(error)")
        }
        onFolded(foldedSeq)
        for report in reports { emit(report) }
    }

    private func runDuePostFills() {
        guard let at = lastLogged else { return }
        let now = Self.nowNs()
        for account in postFill.keys.sorted() where postFill[account]!.dueNs <= now {
            let fill = postFill.removeValue(forKey: account)!.fill
            // The fill's context (order, fill, symbol, its seq), at the log's end.
            let context = RunContext.triggered(by: fill, replay: false)
            emit(run(account: account, at: at, context: context, advance: false))
        }
    }

    private func runPeriodicIfDue() {
        let now = Self.nowNs()
        guard now >= nextPeriodicNs else { return }
        let interval = UInt64(settings.intervalS) * 1_000_000_000
        while nextPeriodicNs <= now { nextPeriodicNs += interval }
        guard let at = lastLogged else { return }
        for account in dirty.sorted() {
            let context = RunContext(trigger: .periodic, seq: at.seq, id: at.event.id)
            emit(run(account: account, at: at, context: context, advance: false))
        }
    }

    private func run(account: String, at: LoggedEvent, context: RunContext, advance: Bool) -> Report {
        let started = Self.nowNs()
        var report = runner.run(account: account, at: at, context: context, advance: advance).report
        report.durationMs = Int64((Self.nowNs() - started) / 1_000_000)
        dirty.remove(account)
        return report
    }

    private func emit(_ report: Report) {
        onReport(report)
    }

    private func fail(account: String?, atSeq: UInt64, reason: String) {
        logger.error("recon_failed", metadata: ["account": "\(account ?? "-")", "at_seq": "\(atSeq)", "reason": "\(reason)"])
        onFailure(account, atSeq, reason)
    }

    static func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Runs may lag; acknowledgements should not. On a busy machine the engine
    /// thread yields the CPU to HTTP handlers and the writer (nice +10 for this
    /// thread only, Linux), and catches up when the load drops.
    static func lowerPriority() {
        #if os(Linux)
        // On Linux, who = 0 with PRIO_PROCESS names the calling thread, not the process.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }
}
