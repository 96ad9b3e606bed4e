/// The difference two configs make to the same runs: which discrepancies one
/// opens that the other does not, and which change severity. Fed run by run
/// with the report under the base config and under the new one.
public struct WhatIfDiff: Sendable {
    public enum Change: String, Sendable, CaseIterable {
        /// Open under the new config, not under the base.
        case opens
        /// Open under the base config, not under the new.
        case closes
        /// Open under both, at another severity.
        case severity
    }

    public struct Entry: Sendable, Equatable {
        public var change: Change
        public var key: String
        public var type: DiscrepancyType
        public var account: String
        public var baseSeverity: Severity?
        public var newSeverity: Severity?
        /// The first and last run (by seq) where the configs differ on this key.
        public var firstSeq: UInt64
        public var lastSeq: UInt64
        public var runs: Int
        public var message: String
    }

    public private(set) var entries: [String: Entry] = [:]
    public private(set) var runsCompared = 0

    public init() {}

    public mutating func add(base: Report, new: Report) {
        runsCompared += 1
        let before = Dictionary(base.discrepancies.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.discrepancies.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let seq = new.point.atSeq
        for (key, d) in after where before[key] == nil { note(.opens, d, base: nil, new: d.severity, seq: seq) }
        for (key, d) in before where after[key] == nil { note(.closes, d, base: d.severity, new: nil, seq: seq) }
        for (key, d) in after {
            if let b = before[key], b.severity != d.severity { note(.severity, d, base: b.severity, new: d.severity, seq: seq) }
        }
    }

    private mutating func note(_ change: Change, _ d: Discrepancy, base: Severity?, new: Severity?, seq: UInt64) {
        let id = "\(change.rawValue)|\(d.key)"
        if var e = entries[id] {
            e.lastSeq = seq
            e.runs += 1
            e.baseSeverity = base
            e.newSeverity = new
            entries[id] = e
        } else {
            entries[id] = Entry(change: change, key: d.key, type: d.type, account: d.account, baseSeverity: base, newSeverity: new,
                                firstSeq: seq, lastSeq: seq, runs: 1, message: d.message)
        }
    }

    /// By change, then first seq, then key.
    public var sorted: [Entry] {
        let order = Dictionary(uniqueKeysWithValues: Change.allCases.enumerated().map { ($1, $0) })
        return entries.values.sorted { (order[$0.change]!, $0.firstSeq, $0.key) < (order[$1.change]!, $1.firstSeq, $1.key) }
    }
}
