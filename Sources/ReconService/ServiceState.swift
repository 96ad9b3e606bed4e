public import ReconCore
import Synchronization

/// What the read endpoints answer from: the latest report per account and a
/// bounded list of recent runs. Written by the engine thread, read by handlers.
public final class ServiceState: Sendable {
    /// Runs kept for `GET /v1/runs`; older ones are dropped (the report folder
    /// and `recon audit` keep history).
    public static let runsKept = 1_000

    public struct RunEntry: Sendable {
        public var account: String
        public var atSeq: UInt64
        public var runId: String?
        /// The report summary (no discrepancy list), or a `recon_failed` record.
        public var json: [UInt8]
    }

    private struct Inner {
        var latest: [String: Report] = [:]
        var latestJSON: [String: [UInt8]] = [:]
        var runs: [RunEntry] = []
        var runsStart = 0
        var foldedSeq: UInt64 = 0
        var checkpointSeq: UInt64 = 0
        var committedSeq: UInt64 = 0
        var failures = 0
        var ready = false
        var commits = 0
        var commitRequests = 0
        var commitEvents = 0
        var onDemand: [UInt64: [UInt8]] = [:]
        var onDemandOrder: [UInt64] = []
    }

    private let inner = Mutex(Inner())

    public init() {}

    func recordRun(_ report: Report, json: [UInt8]) {
        let entry = RunEntry(account: report.point.account, atSeq: report.point.atSeq, runId: report.runId, json: report.summaryJSON())
        inner.withLock {
            $0.latest[report.point.account] = report
            $0.latestJSON[report.point.account] = json
            Self.append(entry, to: &$0)
            if report.point.context.trigger == .onDemand {
                $0.onDemand[report.point.atSeq] = json
                $0.onDemandOrder.append(report.point.atSeq)
                if $0.onDemandOrder.count > Self.onDemandKept {
                    $0.onDemand.removeValue(forKey: $0.onDemandOrder.removeFirst())
                }
            }
        }
    }

    func recordFailure(account: String?, atSeq: UInt64, json: [UInt8]) {
        inner.withLock {
            $0.failures += 1
            Self.append(RunEntry(account: account ?? "", atSeq: atSeq, runId: nil, json: json), to: &$0)
        }
    }

    private static func append(_ entry: RunEntry, to inner: inout Inner) {
        if inner.runs.count < runsKept {
            inner.runs.append(entry)
        } else {
            inner.runs[inner.runsStart] = entry
            inner.runsStart = (inner.runsStart + 1) % runsKept
        }
    }

    func recordCommit(requests: Int, events: Int) {
        inner.withLock {
            $0.commits += 1
            $0.commitRequests += requests
            $0.commitEvents += events
        }
    }

    /// Write transactions so far, and the requests and events they carried.
    public var commitTotals: (commits: Int, requests: Int, events: Int) {
        inner.withLock { ($0.commits, $0.commitRequests, $0.commitEvents) }
    }

    func setFolded(_ seq: UInt64) { inner.withLock { $0.foldedSeq = seq } }
    func setCheckpoint(_ seq: UInt64) { inner.withLock { $0.checkpointSeq = seq } }
    func setCommitted(_ seq: UInt64) { inner.withLock { $0.committedSeq = max($0.committedSeq, seq) } }
    func setReady() { inner.withLock { $0.ready = true } }

    /// The latest report of `account` as JSON, nil before its first run.
    public func latestJSON(account: String) -> [UInt8]? {
        inner.withLock { $0.latestJSON[account] }
    }

    /// The latest report of `account`.
    public func latest(account: String) -> Report? {
        inner.withLock { $0.latest[account] }
    }

    /// The accounts with at least one run.
    public var accounts: [String] { inner.withLock { $0.latest.keys.sorted() } }

    /// Recent runs, newest first, optionally of one account.
    public func runs(account: String?, limit: Int) -> [RunEntry] {
        inner.withLock { s in
            var ordered = Array(s.runs[s.runsStart...]) + Array(s.runs[..<s.runsStart])
            ordered.reverse()
            if let account { ordered = ordered.filter { $0.account == account } }
            return Array(ordered.prefix(limit))
        }
    }

    /// Open discrepancies: those of each account's latest run.
    public func openDiscrepancies(account: String?) -> [Discrepancy] {
        inner.withLock { s in
            s.latest.keys.sorted().filter { account == nil || $0 == account }.flatMap { s.latest[$0]!.discrepancies }
        }
    }

    /// Counts by (type, severity) over every account's latest run.
    func openCounts() -> [[String]: Int] {
        inner.withLock { s in
            var counts: [[String]: Int] = [:]
            for report in s.latest.values {
                for d in report.discrepancies { counts[[d.type.rawValue, d.severity.rawValue], default: 0] += 1 }
            }
            return counts
        }
    }

    /// The report of the on-demand run at `seq`, once the engine has made it.
    public func onDemandReport(seq: UInt64) -> [UInt8]? {
        inner.withLock { $0.onDemand[seq] }
    }

    /// Whether the engine has run the log up to seq `seq` (for on-demand runs).
    public func latestRun(account: String, atOrAfter seq: UInt64) -> [UInt8]? {
        inner.withLock { s in
            guard let r = s.latest[account], r.point.atSeq >= seq else { return nil }
            return s.latestJSON[account]
        }
    }

    public struct Health: Sendable {
        public var ready: Bool
        public var committedSeq: UInt64
        public var foldedSeq: UInt64
        /// The newest checkpoint group (0: none yet).
        public var checkpointSeq: UInt64
        public var failures: Int
    }

    public var health: Health {
        inner.withLock { Health(ready: $0.ready, committedSeq: $0.committedSeq, foldedSeq: $0.foldedSeq, checkpointSeq: $0.checkpointSeq, failures: $0.failures) }
    }
}

extension ServiceState {
    /// On-demand reports kept for `POST /v1/reconcile` to pick up.
    static let onDemandKept = 256
}
