/// The log's content chain: each seq's value hashes the previous value and the
/// event's content (not its ingest time), so it names the log's content up to
/// that seq. Run ids derive from it.
public enum ContentChain {
    public static let start: UInt64 = FNV1a64.offsetBasis
    static let mix: UInt64 = 0x9E37_79B9_7F4A_7C15

    public static func next(_ previous: UInt64, content: UnsafeRawBufferPointer) -> UInt64 {
        FNV1a64.hash(content, seed: previous ^ mix)
    }

    /// The next link and the content's body hash (`FNV1a64.hash(content)`, the
    /// id index's), computed together: appending and verifying need both.
    public static func nextWithBodyHash(_ previous: UInt64, content: UnsafeRawBufferPointer) -> (chain: UInt64, bodyHash: UInt64) {
        FNV1a64.hashPair(content, seeds: (previous ^ mix, FNV1a64.offsetBasis))
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
/// with the bot's events up to S + clock skew. Each account keeps an
/// `AlignedView` per config, folded as events arrive, so a run costs the few
/// events logged after the snapshot's time, not a rebuild.
public struct ReplayRunner {
    public let config: ReconConfig
    public private(set) var projection = Projection()
    public private(set) var lifecycle: [String: LifecycleState] = [:]
    public private(set) var chain = ContentChain.start
    /// Per account and config slot (0 the runner's, 1 the alternative's, whose
    /// clock skew may differ).
    private var aligned: [AlignedKey: AlignedView] = [:]
    private var clockSkew: [AlignedKey: Int64] = [:]
    /// Each account's latest snapshot time, kept here so the cutoff for a local
    /// event costs a lookup, not a read through the projection.
    private var snapshotMs: [String: Int64] = [:]
    /// Views for sections whose newest report is older than the newest snapshot
    /// (a later snapshot left them out): forked from the account's view when
    /// they fall behind, dropped when a snapshot reports them again. Full
    /// snapshots never create one. `exact` is false when the fork could not be
    /// taken at the section's time (its report arrived out of time order).
    private var lagging: [String: [LaggingKey: (view: AlignedView, exact: Bool)]] = [:]

    private struct LaggingKey: Hashable {
        var slot: Int
        var section: SnapshotSection
    }

    private struct AlignedKey: Hashable {
        var account: String
        var slot: Int
    }

    /// A second config reconciled at the same trigger points over the same fold:
    /// what-if runs pay for the reduction once and for the reconciler twice. Set
    /// it before the first event.
    public var alternative: ReconConfig?
    public private(set) var alternativeLifecycle: [String: LifecycleState] = [:]

    public init(config: ReconConfig) {
        self.config = config
    }

    /// Folds the next event (with its chain value when the store has it) and,
    /// at a trigger point, runs the reconciler for its account.
    public mutating func apply(_ logged: LoggedEvent, chain value: UInt64? = nil, runTriggers: Bool = true) -> RunOutcome? {
        chain = value ?? ContentChain.next(chain, event: logged.event)
        let account = logged.event.account
        projection.apply(logged)
        if logged.event.type == .exchangeSnapshot {
            let before = snapshotMs[account]
            snapshotMs[account] = projection.accounts[account]!.remote.latestSnapshotMs
            noteSectionTimes(account: account, newestBefore: before)
        }
        if !logged.event.type.isRemote {
            for slot in slots {
                let key = AlignedKey(account: account, slot: slot)
                let cutoff = self.cutoff(key)
                aligned[key, default: AlignedView()].append(logged, cutoff: cutoff)
            }
            if let behind = lagging[account] {
                let remote = projection.accounts[account]!.remote
                for (key, entry) in behind {
                    var entry = entry
                    lagging[account]![key] = nil  // out while it grows, so it is not copied
                    entry.view.append(logged, cutoff: key.section.reportTime(remote).map { $0 + skew(account, slot: key.slot) })
                    lagging[account]![key] = entry
                }
            }
        }
        guard runTriggers, logged.event.isTriggerPoint else { return nil }
        return run(account: account, at: logged, context: RunContext.triggered(by: logged, replay: true), advance: true)
    }

    /// Advances the chain over an event of another account that is not folded.
    public mutating func skip(chain value: UInt64) {
        chain = value
    }

    private var slots: [Int] { alternative == nil ? [0] : [0, 1] }

    /// The latest snapshot's time + the slot config's clock skew (nil before any snapshot).
    private mutating func cutoff(_ key: AlignedKey) -> Int64? {
        guard let snapshotMs = snapshotMs[key.account] else { return nil }
        return snapshotMs + skew(key.account, slot: key.slot)
    }

    private mutating func skew(_ account: String, slot: Int) -> Int64 {
        let key = AlignedKey(account: account, slot: slot)
        if let skew = clockSkew[key] { return skew }
        let skew = (slot == 0 ? config : alternative ?? config).thresholds(account: account).clockSkewMs
        clockSkew[key] = skew
        return skew
    }

    /// After a snapshot: a section it left out that now trails the newest
    /// snapshot gets its own view, forked from the account's while that view is
    /// still at the section's time; a section it reported is current again.
    private mutating func noteSectionTimes(account: String, newestBefore: Int64?) {
        let remote = projection.accounts[account]!.remote
        guard let newest = remote.latestSnapshotMs else { return }
        for slot in slots {
            for section in SnapshotSection.allCases {
                let key = LaggingKey(slot: slot, section: section)
                guard let time = section.reportTime(remote), time < newest else {
                    lagging[account]?[key] = nil
                    continue
                }
                guard lagging[account]?[key] == nil else { continue }
                let view = aligned[AlignedKey(account: account, slot: slot)] ?? AlignedView()
                lagging[account, default: [:]][key] = (view, time == newestBefore)
            }
        }
        if lagging[account]?.isEmpty == true { lagging[account] = nil }
    }

    /// The views a run compares each section with.
    private mutating func sectionViews(account: String, slot: Int, main: LocalProjection) -> (AlignedSections, exact: Bool) {
        var views = AlignedSections(main)
        var exact = true
        guard let behind = lagging[account] else { return (views, true) }
        let remote = projection.accounts[account]!.remote
        for section in SnapshotSection.allCases {
            let key = LaggingKey(slot: slot, section: section)
            guard var entry = behind[key], let time = section.reportTime(remote) else { continue }
            lagging[account]![key] = nil
            let (local, viewExact) = entry.view.view(cutoff: time + skew(account, slot: slot))
            lagging[account]![key] = entry
            exact = exact && viewExact && entry.exact
            switch section {
            case .orders: views.orders = local
            case .positions: views.positions = local
            case .balances: views.balances = local
            }
        }
        return (views, exact)
    }

    /// The bot's view of `account` without local events later than the latest
    /// snapshot + clock skew, and whether it is exact.
    public mutating func alignedLocal(account: String, slot: Int = 0) -> (local: LocalProjection, exact: Bool) {
        let key = AlignedKey(account: account, slot: slot)
        // Before the first snapshot there is nothing to align with: the live view.
        guard let cutoff = self.cutoff(key), aligned[key] != nil else { return (projection.accounts[account]?.local ?? LocalProjection(), true) }
        return aligned[key]!.view(cutoff: cutoff)
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
        let (aligned, mainExact) = alignedLocal(account: account, slot: slot)
        let (views, sectionsExact) = sectionViews(account: account, slot: slot, main: aligned)
        let exact = mainExact && sectionsExact
        let point = RunPoint(account: account, atSeq: logged.seq, atMs: logged.ingestMs, chain: chain, context: context)
        var findings = Reconciler.run(projection: accountProjection, aligned: views, config: config, point: point)
        if !exact { findings.checks.append(("alignment", "approximate: a local event far beyond the snapshot time was counted early, or a section arrived out of time order")) }
        let runId = point.runId(configHash: config.hash)
        let events = state.advance(&findings.discrepancies, account: account, atSeq: logged.seq, runId: runId, config: config)
        let report = Report(point: point, findings: findings, configHash: config.hash, runId: runId)
        return RunOutcome(report: report, lifecycle: events)
    }
}
