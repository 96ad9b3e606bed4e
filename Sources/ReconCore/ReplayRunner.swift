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

/// Each open discrepancy as it was at the first run of its unbroken stretch
/// (across changes of shape): what `recon drift` explains it with.
public struct DriftOrigins: Sendable {
    private var byOrigin: [String: [String: Discrepancy]] = [:]

    public init() {}

    /// Notes the openings of a run.
    public mutating func record(_ outcome: RunOutcome) {
        for e in outcome.lifecycle where e.transition == .opened {
            guard let d = e.discrepancy else { continue }
            let id = LifecycleState.originId(key: e.key, type: e.type)
            // A carried opening (a change of shape) keeps the first shape's explanation.
            if d.firstSeenSeq == e.atSeq || byOrigin[e.account]?[id] == nil {
                byOrigin[e.account, default: [:]][id] = d
            }
        }
    }

    /// The open discrepancies of `account`, each with the explanation of its
    /// stretch's first run, and runs seen and severity as of now; earliest first.
    public func origins(account: String, open: [String: LifecycleState.Open]) -> [Discrepancy] {
        open.keys.compactMap { key -> Discrepancy? in
            let now = open[key]!
            guard let first = byOrigin[account]?[LifecycleState.originId(key: key, type: now.type)] else { return nil }
            var d = first
            if d.key != key {
                d.key = key
                d.type = now.type
                d.message = now.message + " (first seen as \(first.type.rawValue): \(first.message))"
            }
            d.firstSeenSeq = now.firstSeenSeq
            d.runsSeen = now.runsSeen
            d.severity = now.severity
            return d
        }.sorted { ($0.firstSeenSeq, $0.key) < ($1.firstSeenSeq, $1.key) }
    }
}

/// The outcome of one run: its report and what changed in the lifecycle.
public struct RunOutcome: Sendable {
    public var report: Report
    public var lifecycle: [LifecycleEvent]
    /// With `ReplayRunner.alternative` set: the same run under the other config.
    public var alternativeReport: Report?
    public var alternativeLifecycle: [LifecycleEvent] = []
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
    /// `eventIndex` values are absolute positions in the account's local event
    /// stream; `recentOffset` is the absolute position of `recent[account][0]`.
    private var bases: [String: [(projection: LocalProjection, eventIndex: Int)]] = [:]
    private var recent: [String: [LoggedEvent]] = [:]
    private var recentOffset: [String: Int] = [:]
    private var sinceBase: [String: Int] = [:]
    /// The last aligned view per account: with the same cutoff it only needs the
    /// (usually no) late-arriving events folded on, not a rebuild.
    /// Keyed by account and config slot (0 the runner's, 1 the alternative's,
    /// whose clock skew may differ).
    private var alignedCache: [AlignedKey: (cutoff: Int64, throughIndex: Int, local: LocalProjection, exact: Bool)] = [:]

    private struct AlignedKey: Hashable {
        var account: String
        var slot: Int
    }

    /// A second config reconciled at the same trigger points over the same fold:
    /// what-if runs pay for the reduction once and for the reconciler twice.
    public var alternative: ReconConfig?
    public private(set) var alternativeLifecycle: [String: LifecycleState] = [:]

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
            recentOffset[account] = 0
            sinceBase[account] = 0
        }
        recent[account]!.append(logged)
        sinceBase[account]! += 1
        if sinceBase[account]! >= Self.baseEvery {
            sinceBase[account] = 0
            let end = recentOffset[account]! + recent[account]!.count
            bases[account]!.append((projection.accounts[account]!.local, end))
            if bases[account]!.count > Self.basesKept {
                bases[account]!.removeFirst()
                let cached = [0, 1].compactMap { alignedCache[AlignedKey(account: account, slot: $0)]?.throughIndex }
                let newOffset = min(bases[account]![0].eventIndex, cached.min() ?? .max)
                recent[account]!.removeFirst(newOffset - recentOffset[account]!)
                recentOffset[account] = newOffset
            }
        }
    }

    /// The bot's view of `account` without local events later than `cutoffMs`.
    public mutating func alignedLocal(account: String, cutoffMs: Int64?, slot: Int = 0) -> (local: LocalProjection, exact: Bool) {
        let cacheKey = AlignedKey(account: account, slot: slot)
        guard let live = projection.accounts[account]?.local else { return (LocalProjection(), true) }
        guard let cutoffMs, live.maxTsMs > cutoffMs else { return (live, true) }
        let events = recent[account] ?? []
        let offset = recentOffset[account] ?? 0
        let end = offset + events.count
        // Taken out of the cache while it is extended, so it is uniquely referenced
        // and grows in place instead of being copied whole (copy-on-write).
        if var cached = alignedCache.removeValue(forKey: cacheKey), cached.cutoff == cutoffMs, cached.throughIndex >= offset {
            for e in events[(cached.throughIndex - offset)...] where e.event.tsMs <= cutoffMs {
                cached.local.apply(e.event, seq: e.seq)
            }
            cached.throughIndex = end
            alignedCache[cacheKey] = cached
            return (cached.local, cached.exact)
        }
        let candidates = bases[account] ?? []
        let chosen = candidates.last { $0.projection.maxTsMs <= cutoffMs } ?? candidates.first
        guard let chosen else { return (live, false) }
        var local = chosen.projection
        for e in events[(chosen.eventIndex - offset)...] where e.event.tsMs <= cutoffMs {
            local.apply(e.event, seq: e.seq)
        }
        let exact = chosen.projection.maxTsMs <= cutoffMs
        alignedCache[cacheKey] = (cutoffMs, end, local, exact)
        return (local, exact)
    }

    /// Runs the reconciler for `account` at the current point. `advance` makes it
    /// part of the account's lifecycle timeline (trigger points do; ad-hoc runs
    /// see the timeline without changing it).
    public mutating func run(account: String, at logged: LoggedEvent, context: RunContext, advance: Bool) -> RunOutcome {
        var state = lifecycle[account] ?? LifecycleState()
        var outcome = run(account: account, at: logged, context: context, config: config, slot: 0, lifecycle: &state)
        if advance { lifecycle[account] = state } else { outcome.lifecycle = [] }
        if let alternative {
            var other = alternativeLifecycle[account] ?? LifecycleState()
            let alt = run(account: account, at: logged, context: context, config: alternative, slot: 1, lifecycle: &other)
            if advance { alternativeLifecycle[account] = other }
            outcome.alternativeReport = alt.report
            outcome.alternativeLifecycle = advance ? alt.lifecycle : []
        }
        return outcome
    }

    private mutating func run(account: String, at logged: LoggedEvent, context: RunContext, config: ReconConfig, slot: Int,
                              lifecycle state: inout LifecycleState) -> RunOutcome {
        let accountProjection = projection.accounts[account] ?? AccountProjection(account: account)
        let t = config.thresholds(account: account)
        let cutoff = accountProjection.remote.latestSnapshotMs.map { $0 + t.clockSkewMs }
        let (aligned, exact) = alignedLocal(account: account, cutoffMs: cutoff, slot: slot)
        let point = RunPoint(account: account, atSeq: logged.seq, atMs: logged.ingestMs, chain: chain, context: context)
        var findings = Reconciler.run(projection: accountProjection, aligned: aligned, config: config, point: point)
        if !exact { findings.checks.append(("alignment", "approximate: the snapshot is older than the copies kept")) }
        let runId = point.runId(configHash: config.hash)
        let events = state.advance(&findings.discrepancies, account: account, atSeq: logged.seq, runId: runId, config: config)
        let report = Report(point: point, findings: findings, configHash: config.hash, runId: runId)
        return RunOutcome(report: report, lifecycle: events)
    }
}
