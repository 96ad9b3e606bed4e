/// The log's content chain: each seq's value hashes the previous value and the
/// event's content (not its ingest time), so it names the log's content up to
/// that seq. Run ids derive from it.
public enum ContentChain {
    public static let start: UInt64 = FNV1a64.offsetBasis
    static let mix: UInt64 = 0x9E37_79B9_7F4A_7C15

    public static func next(_ previous: UInt64, content: UnsafeRawBufferPointer) -> UInt64 {
        FNV1a64.hash(content, seed: previous ^ mix)
    }

    public static func next(_ previous: UInt64, content: [UInt8]) -> UInt64 {
        content.withUnsafeBytes { next(previous, content: $0) }
    }

    public static func next(_ previous: UInt64, event: Event) -> UInt64 {
        next(previous, content: EventCodec.encode(event))
    }
}

/// The outcome of one run: its report and what changed in the lifecycle.
public struct RunOutcome: Sendable {
    public var report: Report
    public var lifecycle: [LifecycleEvent]
}

extension Event {
    /// Whether a run happens at this event in replay: remote data arriving, or an
    /// on-demand request (recorded so replay repeats it).
    public var isTriggerPoint: Bool {
        switch type {
        case .exchangeSnapshot, .exchangeFills, .exchangePositionHistory, .reconRequested: return true
        default: return false
        }
    }
}

/// Folds a log in order and reconciles each account at each of its trigger
/// points. Pure: the same events and config give the same reports.
///
/// Time alignment: a run compares the venue's data, valid at snapshot time S,
/// with the bot's events up to S + clock skew. When the bot's newest event is
/// later than that, the aligned view is rebuilt from a recent copy of the
/// projection (copy-on-write, so keeping copies is cheap) plus the account's
/// events since, leaving out the late ones.
public struct ReplayRunner {
    public let config: ReconConfig
    public private(set) var projection = Projection()
    public private(set) var lifecycle: [String: LifecycleState] = [:]
    public private(set) var chain = ContentChain.start
    /// Per account: copies of its projection and the events since the oldest.
    private var bases: [String: [(projection: LocalProjection, eventIndex: Int)]] = [:]
    private var recent: [String: [LoggedEvent]] = [:]
    private var sinceBase: [String: Int] = [:]

    /// Account events between alignment copies, and how many copies are kept.
    static let baseEvery = 2_000
    static let basesKept = 4

    public init(config: ReconConfig) {
        self.config = config
    }

    /// Folds the next event (with its chain value when the store has it) and,
    /// at a trigger point, runs the reconciler for its account.
    public mutating func apply(_ logged: LoggedEvent, chain value: UInt64? = nil, runTriggers: Bool = true) -> RunOutcome? {
        chain = value ?? ContentChain.next(chain, event: logged.event)
        let account = logged.event.account
        projection.apply(logged)
        if !logged.event.type.isRemote { remember(logged, account: account) }
        guard runTriggers, logged.event.isTriggerPoint else { return nil }
        return run(account: account, at: logged, context: RunContext.triggered(by: logged, replay: true), advance: true)
    }

    /// Advances the chain over an event of another account that is not folded.
    public mutating func skip(chain value: UInt64) {
        chain = value
    }

    private mutating func remember(_ logged: LoggedEvent, account: String) {
        if bases[account] == nil {
            bases[account] = [(LocalProjection(), 0)]
            recent[account] = []
            sinceBase[account] = 0
        }
        recent[account]!.append(logged)
        sinceBase[account]! += 1
        if sinceBase[account]! >= Self.baseEvery {
            sinceBase[account] = 0
            bases[account]!.append((projection.accounts[account]!.local, recent[account]!.count))
            if bases[account]!.count > Self.basesKept {
                let dropped = bases[account]!.removeFirst()
                let shift = bases[account]![0].eventIndex
                _ = dropped
                recent[account]!.removeFirst(shift)
                for i in bases[account]!.indices { bases[account]![i].eventIndex -= shift }
            }
        }
    }

    /// The bot's view of `account` without local events later than `cutoffMs`.
    public func alignedLocal(account: String, cutoffMs: Int64?) -> (local: LocalProjection, exact: Bool) {
        guard let live = projection.accounts[account]?.local else { return (LocalProjection(), true) }
        guard let cutoffMs, live.maxTsMs > cutoffMs else { return (live, true) }
        let candidates = bases[account] ?? []
        let chosen = candidates.last { $0.projection.maxTsMs <= cutoffMs } ?? candidates.first
        guard let chosen else { return (live, false) }
        var local = chosen.projection
        for e in (recent[account] ?? [])[chosen.eventIndex...] where e.event.tsMs <= cutoffMs {
            local.apply(e.event, seq: e.seq)
        }
        return (local, chosen.projection.maxTsMs <= cutoffMs)
    }

    /// Runs the reconciler for `account` at the current point. `advance` makes it
    /// part of the account's lifecycle timeline (trigger points do; ad-hoc runs
    /// see the timeline without changing it).
    public mutating func run(account: String, at logged: LoggedEvent, context: RunContext, advance: Bool) -> RunOutcome {
        let accountProjection = projection.accounts[account] ?? AccountProjection(account: account)
        let t = config.thresholds(account: account)
        let cutoff = accountProjection.remote.latestSnapshotMs.map { $0 + t.clockSkewMs }
        let (aligned, exact) = alignedLocal(account: account, cutoffMs: cutoff)
        let point = RunPoint(account: account, atSeq: logged.seq, atMs: logged.ingestMs, chain: chain, context: context)
        var findings = Reconciler.run(projection: accountProjection, aligned: aligned, config: config, point: point)
        if !exact { findings.checks.append(("alignment", "approximate: the snapshot is older than the copies kept")) }
        let runId = point.runId(configHash: config.hash)
        var state = lifecycle[account] ?? LifecycleState()
        let events = state.advance(&findings.discrepancies, account: account, atSeq: logged.seq, runId: runId, config: config)
        if advance { lifecycle[account] = state }
        let report = Report(point: point, findings: findings, configHash: config.hash, runId: runId)
        return RunOutcome(report: report, lifecycle: advance ? events : [])
    }
}
