/// How a discrepancy moved between runs. Raw values are part of the audit contract.
public enum Transition: String, Sendable, CaseIterable {
    case opened, escalated, resolved
}

/// One lifecycle step: a key opened, escalated or resolved at a run.
public struct LifecycleEvent: Sendable, Equatable {
    public var transition: Transition
    public var key: String
    public var type: DiscrepancyType
    public var severity: Severity
    public var account: String
    /// The run's point.
    public var atSeq: UInt64
    public var runId: String
    /// For a resolution: when the discrepancy first appeared.
    public var firstSeenSeq: UInt64
    public var message: String
    /// The discrepancy as it stood at this run (nil for a resolution).
    public var discrepancy: Discrepancy?
}

extension DiscrepancyType {
    /// Types that are one problem seen in different shapes: a position that goes
    /// from "quantity differs" to "missing locally" is the same drift, so its
    /// `first_seen_seq` carries over rather than starting again.
    public var family: String? {
        switch self {
        case .positionMissingLocal, .positionMissingRemote, .positionSideMismatch, .positionQtyMismatch: return "position"
        case .orderMissingRemote, .orderMissingLocal, .orderQtyMismatch, .orderSideMismatch: return "order"
        default: return nil
        }
    }

    /// Whether a persisting warning of this type turns critical. Cumulative fee
    /// metrics do not: they are running ratios whose alerting is "for 30 minutes"
    /// in the shipped rules; inventory drift has its own critical band.
    public var escalatesByPersistence: Bool {
        switch self {
        case .feeMakerRatioLow, .feeNetBpsHigh, .feeBpsHigh, .feeNetBpsRebate, .inventoryDrift: return false
        default: return true
        }
    }
}

/// The discrepancies open for one account after its latest run.
///
/// Persistence counts consecutive runs: a key absent from one run is resolved,
/// and if it comes back it opens again with a new `first_seen_seq`, so "since
/// when" always means "since when without a break".
public struct LifecycleState: Sendable, Equatable {
    public struct Open: Sendable, Equatable {
        public var type: DiscrepancyType
        public var firstSeenSeq: UInt64
        public var runsSeen: Int
        public var severity: Severity
        public var message: String
    }

    public var open: [String: Open] = [:]

    public init() {}

    /// Fills in `first_seen_seq`, `runs_seen`, escalation and `run_id` on this
    /// run's discrepancies, and returns what changed since the previous run.
    public mutating func advance(_ discrepancies: inout [Discrepancy], account: String, atSeq: UInt64, runId: String,
                                 config: ReconConfig) -> [LifecycleEvent] {
        var events: [LifecycleEvent] = []
        var next: [String: Open] = [:]
        next.reserveCapacity(discrepancies.count)
        // The open keys of each family subject, to carry history across a change
        // of shape. Built only when a run brings a key that was not open: most
        // runs repeat the previous one's keys, and building it was most of the cost.
        var familyPrevious: [String: Open]?
        func carried(_ key: String, _ type: DiscrepancyType) -> Open? {
            guard let family = type.family, let subject = Self.subject(of: key, type: type) else { return nil }
            if familyPrevious == nil {
                var byFamily: [String: Open] = [:]
                for (key, o) in open {
                    if let family = o.type.family, let subject = Self.subject(of: key, type: o.type) {
                        let id = family + "\u{1}" + subject
                        if let seen = byFamily[id], seen.firstSeenSeq <= o.firstSeenSeq { continue }
                        byFamily[id] = o
                    }
                }
                familyPrevious = byFamily
            }
            return familyPrevious![family + "\u{1}" + subject]
        }
        // Each finding is updated where it lies: copying one out and back retained
        // and released each of its strings at every run.
        func update(_ d: inout Discrepancy) {
            d.runId = runId
            var previous = open[d.key]
            if previous == nil { previous = carried(d.key, d.type) }
            d.runsSeen = (previous?.runsSeen ?? 0) + 1
            d.firstSeenSeq = previous?.firstSeenSeq ?? atSeq
            let t = config.thresholds(account: account, symbol: d.symbol, asset: d.asset)
            if d.severity == .warning && d.type.escalatesByPersistence && t.escalateAfterRuns > 0 && d.runsSeen >= t.escalateAfterRuns {
                d.severity = .critical
                d.message += " (persisting for \(d.runsSeen) runs)"
            }
            if let previous, open[d.key] != nil {
                if d.severity > previous.severity {
                    events.append(LifecycleEvent(transition: .escalated, key: d.key, type: d.type, severity: d.severity, account: account,
                                                 atSeq: atSeq, runId: runId, firstSeenSeq: d.firstSeenSeq, message: d.message, discrepancy: d))
                }
            } else {
                events.append(LifecycleEvent(transition: .opened, key: d.key, type: d.type, severity: d.severity, account: account,
                                             atSeq: atSeq, runId: runId, firstSeenSeq: d.firstSeenSeq, message: d.message, discrepancy: d))
            }
            next[d.key] = Open(type: d.type, firstSeenSeq: d.firstSeenSeq, runsSeen: d.runsSeen, severity: d.severity, message: d.message)
        }
        for i in discrepancies.indices { update(&discrepancies[i]) }
        for key in open.keys.sorted() where next[key] == nil {
            let gone = open[key]!
            events.append(LifecycleEvent(transition: .resolved, key: key, type: gone.type, severity: gone.severity, account: account,
                                         atSeq: atSeq, runId: runId, firstSeenSeq: gone.firstSeenSeq, message: gone.message))
        }
        open = next
        return events
    }

    /// What ties a key to its history: its family and subject for position and
    /// order discrepancies (which keep `first_seen_seq` across a change of shape),
    /// else the key itself.
    public static func originId(key: String, type: DiscrepancyType) -> String {
        guard let family = type.family, let subject = subject(of: key, type: type) else { return key }
        return family + "\u{1}" + subject
    }

    /// The part of a key after its type (`account:subject`).
    static func subject(of key: String, type: DiscrepancyType) -> String? {
        let prefix = type.rawValue + ":"
        return key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : nil
    }
}
